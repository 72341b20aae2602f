"""Hidden part files left by a killed render or save are swept; everything else stays, live parts too."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core import paths
from hear2see_desktop.core.autosave import autosave_dir
from hear2see_desktop.core.export_job import ExportJob
from hear2see_desktop.core.housekeeping import sweep_app_folders
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.part_files import STALE_PART_AGE_S, is_part_name, part_path, sweep_stale_parts
from hear2see_desktop.core.transcript import Transcript
from hear2see_desktop.core.video import VideoWriter

LONG_AGO_S = time.time() - STALE_PART_AGE_S - 3600  # a render killed seven hours ago

LEFTOVERS = [  # what the app's atomic writes leave when the process dies mid-write
    ".video.mp4.part-1a2b3c4d.mp4",  # core/video.py
    ".take.wav.part-deadbeef.wav",  # core/audio.py
    ".owl.h2s.part-0badf00d",  # core/project.py, autosave, storyboard, exports
    ".frame_0001.png.part-00000000",  # exported frames
]
KEPT = [
    "video.mp4",  # the final file itself
    "video.mp4.part-1a2b3c4d.mp4",  # not hidden: not ours
    ".notes.part-12345678.txt",  # the suffix is not the final name's
    ".clip.part-1234567",  # 7 hex digits
    ".clip.part-123456789",  # 9 hex digits
    ".clip.part-ABCDEF12",  # our writers use lower-case hex
    ".clip.part-1234567g",  # not hex
    "holiday.part-2.mp4",  # a user's file that merely contains ".part-"
    ".video.mp4.part-1a2b3c4d.mp4.bak",  # something the user made of a part file
    ".part-12345678",  # no name in front
]


def make(folder: Path, name: str, mtime: float = LONG_AGO_S) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half a file")
    os.utime(path, (mtime, mtime))
    return path


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("name", LEFTOVERS)
def test_the_names_our_atomic_writes_use_are_recognised(name: str) -> None:
    assert is_part_name(name)


@pytest.mark.parametrize("final", ["clip.mp4", "take.wav", "owl.h2s", "frame_0001.png", "runs.jsonl", "no_suffix"])
@pytest.mark.parametrize("keep_suffix", [False, True])
def test_every_name_part_path_makes_is_recognised_and_fresh(tmp_path: Path, final: str, keep_suffix: bool) -> None:
    made = {part_path(tmp_path / final, keep_suffix=keep_suffix) for _ in range(20)}
    assert len(made) == 20  # a fresh name each time: two writers of one file never share a part
    for path in made:
        assert path.parent == tmp_path and is_part_name(path.name)
        assert path.name.startswith(f".{final}.part-")
        if keep_suffix:
            assert path.name.endswith(Path(final).suffix)


@pytest.mark.parametrize("name", KEPT)
def test_other_names_are_not_part_files(name: str) -> None:
    assert not is_part_name(name)


def test_a_killed_renders_old_leftovers_are_removed_and_everything_else_is_kept(tmp_path: Path) -> None:
    for name in LEFTOVERS + KEPT:
        make(tmp_path, name)
    fresh = make(tmp_path, ".video.mp4.part-abcdef12.mp4", mtime=time.time() - 60)  # another app renders now
    (tmp_path / ".frames.part-11111111").mkdir()  # a folder is never a part file
    (tmp_path / ".link.mp4.part-22222222.mp4").symlink_to(tmp_path / "video.mp4")

    removed = sweep_stale_parts(tmp_path)

    assert sorted(p.name for p in removed) == sorted(LEFTOVERS)
    assert names(tmp_path) == {*KEPT, fresh.name, ".frames.part-11111111", ".link.mp4.part-22222222.mp4"}
    assert (tmp_path / "video.mp4").read_bytes() == b"half a file"


def test_a_missing_folder_is_no_error(tmp_path: Path) -> None:
    assert sweep_stale_parts(tmp_path / "gone") == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux tells which process has a file open")
def test_an_old_part_that_a_running_process_still_has_open_is_kept(tmp_path: Path) -> None:
    stalled = make(tmp_path, ".video.mp4.part-1a2b3c4d.mp4")  # e.g. an encoder that has not written for hours
    dead = make(tmp_path, ".other.mp4.part-5e6f7a8b.mp4")

    with open(stalled, "ab"):
        removed = sweep_stale_parts(tmp_path)

    assert removed == [dead] and stalled.exists()


def test_the_video_writer_sweeps_its_folder_before_writing(tmp_path: Path) -> None:
    leftover = make(tmp_path, ".story.mp4.part-1a2b3c4d.mp4")

    with VideoWriter(tmp_path / "story.mp4", 16, 16, 4, preset="ultrafast") as writer:
        writer.write_frame(np.zeros((16, 16, 3), dtype=np.uint8))

    assert not leftover.exists()
    assert names(tmp_path) == {"story.mp4"}


def test_an_export_sweeps_the_folder_it_writes_into(tmp_path: Path) -> None:
    leftover = make(tmp_path, ".fox.txt.part-1a2b3c4d")
    transcript = Transcript(text="a fox", words=[], engine="typed", model="", duration_s=1.0)

    ExportJob.transcript_text(transcript, tmp_path / "fox.txt").run(no_progress, never_cancelled)

    assert not leftover.exists() and names(tmp_path) == {"fox.txt"}


def test_the_start_up_sweep_covers_the_apps_own_folders(tmp_path: Path) -> None:
    slot_2 = autosave_dir() / "slot-2"
    leftovers = [
        make(autosave_dir(), ".session.json.part-1a2b3c4d"),
        make(autosave_dir() / "autosave.frames", ".frame_0001.png.part-1a2b3c4d"),
        make(slot_2, ".autosave.audio.wav.part-1a2b3c4d"),
        make(paths.data_dir() / "takes", ".take-20240501-100000.wav.part-1a2b3c4d.wav"),
        make(paths.cache_dir() / "renders" / "20240501-100000-000000", ".video.mp4.part-1a2b3c4d.mp4"),
        make(paths.cache_dir() / "renders" / "20240501-100000-000000" / "frames", ".frame.png.part-1a2b3c4d"),
        make(paths.models_dir() / "sd", ".dreamlike.safetensors.part-1a2b3c4d"),  # a killed import: gigabytes
        make(paths.models_dir() / "loras", ".ink.safetensors.part-1a2b3c4d"),
        make(paths.models_dir() / "thumbnails", ".0f1e2d.png.part-1a2b3c4d.png"),
    ]
    fresh = make(slot_2, ".autosave.h2s.part-5e6f7a8b", mtime=time.time())

    removed = sweep_app_folders()

    assert sorted(removed) == sorted(leftovers)
    assert fresh.exists()


def test_an_import_copies_through_a_part_name_the_sweep_knows(tiny_models: tuple[Path, Path, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from hear2see_desktop.core.models.importing import import_file

    copied_to: list[Path] = []
    real_copy = shutil.copyfile

    def copy_and_note(source: str, target: str) -> str:
        copied_to.append(Path(target))
        return real_copy(source, target)

    monkeypatch.setattr(shutil, "copyfile", copy_and_note)
    kind, installed = import_file(tiny_models[1], config_dir=tiny_models[2])
    assert kind == "checkpoint" and installed.is_file()
    assert len(copied_to) == 1 and copied_to[0].parent == installed.parent and is_part_name(copied_to[0].name)
    assert not copied_to[0].exists()
