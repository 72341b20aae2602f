"""The .h2s project file: a full round trip, sidecar files beside it, and one sentence for every bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.project import (
    FORMAT_VERSION,
    Project,
    ProjectFrame,
    autosave_path,
    last_render_path,
    load_project,
    project_audio_path,
    project_frame_paths,
    project_frames_dir,
    save_project,
)
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from hear2see_desktop.core.storyboard.board import Scene, Storyboard
from hear2see_desktop.core.transcript import Transcript, Word
from tests.speech import tone


def one_sentence(message: str) -> bool:
    """A user-facing message: one sentence, ending in a full stop, with no traceback in it."""
    body = message.rstrip(".")
    return message.endswith(".") and ". " not in body and "Traceback" not in message and "\n" not in message


def png(path: Path, colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", (16, 8), colour).save(path)
    return path


@pytest.fixture
def take(tmp_path: Path) -> Path:
    """A one-second recording in a folder of its own (as a fresh take would be)."""
    (tmp_path / "recorded").mkdir()
    return tone(tmp_path / "recorded" / "take.wav", 1.0)


@pytest.fixture
def full_project(tmp_path: Path) -> tuple[Project, dict[int, Path]]:
    """A project with everything filled in, and three rendered PNGs (in a render folder elsewhere)."""
    render_dir = tmp_path / "render"
    render_dir.mkdir()
    images = {i: png(render_dir / f"frame_{i + 1:04d}.png", (40 * i, 90, 200)) for i in range(3)}
    transcript = Transcript(
        text="A red fox runs.",
        words=[
            Word("A", 0.1, 0.2, 0.9),
            Word("red", 0.2, 0.5, 0.8),
            Word("fox", 0.5, 0.9, 1.0),
            Word("runs.", 0.9, 1.3, 0.7),
        ],
        engine="vosk",
        model="vosk-model-small-en-us-0.15",
        duration_s=1.5,
    )
    settings = RenderSettings(
        prompt="a red fox running, cinematic light",
        negative_prompt="blurry, text",
        style="watercolor",
        loras=[LoraSpec("/models/lora/fox.safetensors", 0.75)],
        steps=12,
        cfg=6.0,
        frames=3,
        fps=12,
        seed=1234,
        width=384,
        height=256,
        music_path="/music/theme.ogg",
        music_level_db=-18.0,
        captions=True,
        caption_position="top",
        caption_highlight="word",
        caption_colour="#FFEE00",
        caption_max_chars=24,
    )
    project = Project(
        transcript=transcript,
        transcript_edited=True,
        prompt="a red fox running, cinematic light",
        negative_prompt="blurry, text",
        prompt_edited=True,
        style="watercolor",
        settings=settings,
        frames=[ProjectFrame(i, i * 0.5, "") for i in range(3)],
        last_render={"run_id": "20260101-120000-abcdef", "mp4": str(tmp_path / "projects" / "fox.mp4")},
    )
    return project, images


def test_a_full_project_comes_back_equal(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    folder = tmp_path / "projects"
    folder.mkdir()
    path = save_project(project, folder / "myclip.h2s", audio_source=take, frame_images=images)

    loaded = load_project(path)

    assert loaded == project
    assert loaded.transcript.words[2] == Word("fox", 0.5, 0.9, 1.0)
    assert loaded.settings.loras == [LoraSpec("/models/lora/fox.safetensors", 0.75)]
    assert loaded.settings.caption_style() == project.settings.caption_style()
    assert loaded.settings.caption_style().position == "top" and loaded.settings.caption_max_chars == 24
    assert loaded.format_version == FORMAT_VERSION
    assert loaded.created and loaded.modified


def test_sidecar_files_sit_beside_the_project(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    folder = tmp_path / "projects"
    folder.mkdir()
    path = save_project(project, folder / "myclip.h2s", audio_source=take, frame_images=images)

    assert project.audio_file == "myclip.audio.wav"
    assert project_audio_path(path, project) == folder / "myclip.audio.wav"
    assert (folder / "myclip.audio.wav").read_bytes() == take.read_bytes()  # a WAV is copied byte for byte
    assert project_frames_dir(path) == folder / "myclip.frames"
    assert [f.png for f in project.frames] == [f"myclip.frames/frame_{i:04d}.png" for i in (1, 2, 3)]
    frame_paths = project_frame_paths(path, project)
    assert sorted(frame_paths) == [0, 1, 2]
    for index, source in images.items():
        assert frame_paths[index].read_bytes() == source.read_bytes()
    assert project.last_render["mp4"] == "fox.mp4"  # inside the project folder: stored relative
    assert last_render_path(path, project) == folder / "fox.mp4"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["frames"][1] == {"index": 1, "time_s": 0.5, "png": "myclip.frames/frame_0002.png"}
    assert not [p for p in folder.rglob("*") if ".part" in p.name]  # no temporary files left


def test_moving_the_folder_keeps_the_project_working(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    (tmp_path / "a").mkdir()
    save_project(project, tmp_path / "a" / "clip.h2s", audio_source=take, frame_images=images)
    os.rename(tmp_path / "a", tmp_path / "b")

    moved = tmp_path / "b" / "clip.h2s"
    loaded = load_project(moved)

    assert project_audio_path(moved, loaded).is_file()
    assert len(project_frame_paths(moved, loaded)) == 3


def test_saving_again_without_sources_keeps_audio_and_frames(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    path = save_project(project, tmp_path / "clip.h2s", audio_source=take, frame_images=images)
    project.prompt = "a grey wolf"
    save_project(project, path)

    loaded = load_project(path)
    assert loaded.prompt == "a grey wolf"
    assert len(project_frame_paths(path, loaded)) == 3


def test_a_shorter_render_removes_stale_frames(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    path = save_project(project, tmp_path / "clip.h2s", audio_source=take, frame_images=images)
    project.frames = project.frames[:1]
    save_project(project, path)

    assert sorted(p.name for p in project_frames_dir(path).iterdir()) == ["frame_0001.png"]


def test_audio_already_beside_the_project_is_used_in_place(tmp_path: Path) -> None:
    narration = tone(tmp_path / "narration.flac", 1.0)
    project = Project()
    path = save_project(project, tmp_path / "clip.h2s", audio_source=narration)

    assert project.audio_file == "narration.flac"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.h2s", "narration.flac"]
    assert load_project(path).audio_file == "narration.flac"


def test_non_wav_narration_is_kept_as_16k_wav(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    narration = tone(tmp_path / "in" / "narration.flac", 1.0, rate_hz=44100)
    project = Project()
    path = save_project(project, tmp_path / "clip.h2s", audio_source=narration)

    info = sf.info(str(project_audio_path(path, project)))
    assert (project.audio_file, info.samplerate, info.channels, info.subtype) == ("clip.audio.wav", 16000, 1, "PCM_16")
    assert abs(info.duration - 1.0) < 0.01


def test_save_needs_a_narration(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as error:
        save_project(Project(), tmp_path / "clip.h2s")
    assert one_sentence(str(error.value))
    assert not (tmp_path / "clip.h2s").exists()


def test_save_into_a_missing_folder_says_so(tmp_path: Path, take: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist") as error:
        save_project(Project(), tmp_path / "nowhere" / "clip.h2s", audio_source=take)
    assert one_sentence(str(error.value))


def test_autosave_paths_live_in_the_data_folder(isolated_home: Path, tmp_path: Path) -> None:
    untitled = autosave_path(None)
    a = autosave_path(tmp_path / "one" / "clip.h2s")
    b = autosave_path(tmp_path / "two" / "clip.h2s")

    assert untitled.parent == isolated_home / "autosave" and untitled.parent.is_dir()
    assert a.parent == b.parent == untitled.parent
    assert a != b and a.name.startswith("clip-") and a.suffix == ".h2s"
    assert autosave_path(tmp_path / "one" / "clip.h2s") == a


def test_an_autosave_round_trips(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    target = autosave_path(None)
    save_project(project, target, audio_source=take, frame_images=images)
    assert load_project(target) == project


def fox_board() -> Storyboard:
    return Storyboard(
        [Scene(0.0, 0.6, "A red fox", "red fox, snow", "blurry", edited=True),
         Scene(0.6, 1.0, "runs.", "fox running through a forest")],
        duration_s=1.0,
        style="watercolor",
    )


def test_the_storyboard_is_saved_and_loaded_with_the_project(tmp_path: Path, take: Path, full_project) -> None:
    project, images = full_project
    project.storyboard = fox_board()
    project.scene_times_edited = True
    path = save_project(project, tmp_path / "clip.h2s", audio_source=take, frame_images=images)

    loaded = load_project(path)

    assert loaded == project
    assert loaded.storyboard == fox_board() and loaded.storyboard.scenes[0].edited
    assert loaded.scene_times_edited
    assert json.loads(path.read_text())["storyboard"]["scenes"][1]["prompt"] == "fox running through a forest"


def test_a_project_from_before_storyboards_still_loads(saved: Path) -> None:
    data = json.loads(saved.read_text())
    del data["storyboard"], data["scene_times_edited"]
    saved.write_text(json.dumps(data))
    loaded = load_project(saved)
    assert loaded.storyboard is None and not loaded.scene_times_edited
    assert loaded.prompt == "a red fox running, cinematic light"


@pytest.mark.parametrize("broken", [
    "a storyboard",
    {"version": 1, "duration_s": 1.0, "scenes": [{"start_s": 0.0}]},
    {"version": 99, "duration_s": 1.0, "scenes": []},
    {"version": 1, "duration_s": 1.0, "scenes": []},  # reads, but does not validate
    {"version": 1, "duration_s": 10**400, "scenes": []},
    {"version": 1, "duration_s": 1.0, "scenes": [{"start_s": 0.0, "end_s": 1.0, "prompt": "   "}]},
])
def test_a_broken_storyboard_is_left_out_with_a_warning_and_the_rest_loads(
    saved: Path, broken, caplog: pytest.LogCaptureFixture
) -> None:
    before = load_project(saved)
    data = json.loads(saved.read_text())
    data["storyboard"] = broken
    saved.write_text(json.dumps(data))
    with caplog.at_level("WARNING", logger="hear2see_desktop.core.project"):
        loaded = load_project(saved)
    assert loaded.storyboard is None
    assert loaded == before  # transcript, prompt, settings, frames: nothing else lost
    assert any("storyboard" in record.getMessage() for record in caplog.records)


# ----------------------------------------------------------------------------------------------
# Files that can't be opened


@pytest.fixture
def saved(tmp_path: Path, take: Path, full_project) -> Path:
    project, images = full_project
    return save_project(project, tmp_path / "clip.h2s", audio_source=take, frame_images=images)


def load_error(path: Path) -> str:
    with pytest.raises(BadInputError) as error:
        load_project(path)
    message = str(error.value)
    assert one_sentence(message), message
    return message


def test_a_file_cut_short_is_damaged(saved: Path) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    assert "damaged or cut short" in load_error(saved)


def test_a_file_that_is_not_json_is_not_a_project(saved: Path) -> None:
    saved.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert "is not a HEAR2SEE project" in load_error(saved)


def test_an_empty_file(saved: Path) -> None:
    saved.write_bytes(b"")
    assert "is empty" in load_error(saved)


def test_json_that_is_not_a_project(saved: Path) -> None:
    saved.write_text(json.dumps({"name": "shopping list", "items": ["milk"]}))
    assert "is not a HEAR2SEE project" in load_error(saved)


def test_a_field_of_the_wrong_type_is_damaged(saved: Path) -> None:
    data = json.loads(saved.read_text())
    data["settings"]["steps"] = "many"
    saved.write_text(json.dumps(data))
    assert "is damaged" in load_error(saved)


def test_a_newer_format_asks_for_an_update(saved: Path) -> None:
    data = json.loads(saved.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    data["settings"] = "a shape we do not know yet"
    saved.write_text(json.dumps(data))
    message = load_error(saved)
    assert "was saved by a newer version of HEAR2SEE; update the app" in message


def test_missing_narration_says_put_it_back(saved: Path) -> None:
    (saved.parent / "clip.audio.wav").unlink()
    message = load_error(saved)
    assert "the narration clip.audio.wav is missing beside it; put it back next to the project file" in message


def test_an_audio_path_outside_the_folder_is_refused(saved: Path) -> None:
    data = json.loads(saved.read_text())
    data["audio_file"] = "../../etc/passwd"
    saved.write_text(json.dumps(data))
    assert "is damaged" in load_error(saved)


def test_missing_project_file_and_folder(tmp_path: Path) -> None:
    assert "no project file" in load_error(tmp_path / "gone.h2s")
    assert "is a folder" in load_error(tmp_path)


def test_unknown_keys_are_ignored(saved: Path) -> None:
    before = load_project(saved)
    data = json.loads(saved.read_text())
    data["future_feature"] = {"anything": [1, 2, 3]}
    data["settings"]["future_setting"] = 42
    saved.write_text(json.dumps(data))
    assert load_project(saved) == before


def test_missing_frame_files_are_left_out_not_fatal(saved: Path) -> None:
    (saved.parent / "clip.frames" / "frame_0002.png").unlink()
    project = load_project(saved)
    assert sorted(project_frame_paths(saved, project)) == [0, 2]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=10,
)
PROJECT_KEYS = st.sampled_from(
    [
        "format_version",
        "audio_file",
        "transcript",
        "transcript_edited",
        "prompt",
        "negative_prompt",
        "prompt_edited",
        "style",
        "settings",
        "frames",
        "last_render",
        "created",
        "modified",
        "storyboard",
        "scene_times_edited",
    ]
)
PROJECT_LIKE = st.dictionaries(PROJECT_KEYS, JSON_VALUES, max_size=15)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_bad_input(saved: Path, raw: bytes) -> None:
    saved.write_bytes(raw)
    with pytest.raises(BadInputError):
        load_project(saved)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=PROJECT_LIKE | JSON_VALUES)
def test_arbitrary_json_only_ever_raises_bad_input(saved: Path, data) -> None:
    saved.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(BadInputError) as error:
        load_project(saved)
    assert one_sentence(str(error.value)), str(error.value)


@pytest.fixture
def saved_text(saved: Path) -> tuple[Path, str]:
    """The saved project and its original JSON, so each example starts again from a good file."""
    return saved, saved.read_text(encoding="utf-8")


SETTINGS_KEYS = st.sampled_from(["steps", "cfg", "loras", "frames", "model_config", "width", "seed", "prompt"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=PROJECT_KEYS, value=JSON_VALUES, settings_key=SETTINGS_KEYS, settings_value=JSON_VALUES)
def test_a_real_project_with_fields_scrambled_only_raises_bad_input(
    saved_text: tuple[Path, str], key: str, value, settings_key: str, settings_value
) -> None:
    path, original = saved_text
    data = json.loads(original)
    data["settings"][settings_key] = settings_value
    data[key] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        loaded = load_project(path)
    except BadInputError as error:
        assert one_sentence(str(error)), str(error)
    else:
        assert isinstance(loaded, Project)
        project_frame_paths(path, loaded)  # the helpers cope with whatever loaded
        last_render_path(path, loaded)
