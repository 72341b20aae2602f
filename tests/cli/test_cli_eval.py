"""`hear2see eval`: the paper's metrics on a rendered MP4, tied back to its run record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.video import VideoWriter
from tests.cli_helpers import FAST, one_sentence, run_cli


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_clip import save_tiny_clip

    return save_tiny_clip(tmp_path_factory.mktemp("clip"))


def test_eval_of_a_logged_render(narration_wav: Path, tiny_models: tuple[Path, Path, Path], tiny_clip: Path,
                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "runs.jsonl"
    out = tmp_path / "fox.mp4"
    code, _, _ = run_cli(["render", str(narration_wav), "-o", str(out), "--model", str(tiny_models[0]),
                          "--frames", "4", "--runs-log", str(log), *FAST], capsys)
    assert code == 0
    code, stdout, _ = run_cli(["eval", str(out), "--json", "--runs-log", str(log), "--clip-model", str(tiny_clip)],
                              capsys)
    result = json.loads(stdout)
    assert code == 0
    record = json.loads(log.read_text().splitlines()[-1])
    assert result["run"]["id"] == record["id"] and result["text"] == record["prompt"]
    assert result["run"]["unet_evaluations"] == record["unet_evaluations"]
    score, strict = result["av_align"]["score"], result["av_align"]["one_to_one"]["score"]
    assert score is None or score >= 0.0  # the reference's count can take it above 1
    assert strict is None or 0.0 <= strict <= 1.0
    assert result["flicker"]["pairs"] == result["frames"] - 1
    assert -1.0 <= result["clipsim"]["score"] <= 1.0 and len(result["clipsim"]["per_frame"]) == result["frames"]
    following = result["scene_following"]  # the logged storyboard's scenes, each frame judged against them
    assert following["frames"] == result["frames"] and following["scenes"] == len(record["storyboard"]["scenes"])
    assert 0.0 <= following["accuracy"] <= 1.0 and following["transition_keep"] is None  # classic: no in-betweens
    code, text, _ = run_cli(["eval", str(out), "--runs-log", str(log), "--clip-model", str(tiny_clip)], capsys)
    assert code == 0 and "of frames match their own scene's prompt best" in text
    code, text, _ = run_cli(["eval", str(out), "--runs-log", str(log)], capsys)  # no CLIP model here
    assert code == 0 and "no CLIP model found" in text
    assert "AV-Align   " in text and "TempoTokens' reference" in text and "AV-Align (one-to-one) " in text


def test_eval_needs_a_sound_track_or_audio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    silent_video = tmp_path / "mute.mp4"
    with VideoWriter(silent_video, 64, 64, 8) as writer:
        for i in range(8):
            writer.write_frame(np.full((64, 64, 3), i * 20, dtype=np.uint8))
    code, _, err = run_cli(["eval", str(silent_video)], capsys)
    assert code == 2 and "no sound track" in one_sentence(err)
    code, _, err = run_cli(["eval", str(tmp_path / "missing.mp4")], capsys)
    assert code == 2 and "does not exist" in one_sentence(err)


@pytest.fixture(scope="module")
def feature_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_feature_models import save_tiny_feature_models

    return save_tiny_feature_models(tmp_path_factory.mktemp("feature-models"))


def _panning_video(path: Path, seed: int, n_frames: int = 40, fps: float = 8.0) -> Path:
    """A smooth random texture sliding one pixel a frame, with a quiet noise track so eval needs no --audio."""
    from scipy.ndimage import gaussian_filter

    from hear2see_desktop.core.audio import SAMPLE_RATE_HZ, Audio

    rng = np.random.default_rng(seed)
    texture = gaussian_filter(rng.random((64, 64)), 3.0)
    texture = ((texture - texture.min()) / (texture.max() - texture.min()) * 255).astype(np.uint8)
    audio = Audio(rng.normal(0, 0.05, int(n_frames / fps * SAMPLE_RATE_HZ)).astype(np.float32))
    with VideoWriter(path, 64, 64, fps, audio=audio) as writer:
        for i in range(n_frames):
            writer.write_frame(np.repeat(np.roll(texture, i, axis=1)[:, :, None], 3, axis=2))
    return path


@pytest.fixture(scope="module")
def video_and_references(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(video, a reference folder holding a copy of it, a folder of other videos plus a folder of PNG frames)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("fvd")
    video = _panning_video(root / "render.mp4", seed=0)
    itself = root / "itself"
    itself.mkdir()
    (itself / "copy.mp4").write_bytes(video.read_bytes())
    others = root / "others"
    others.mkdir()
    _panning_video(others / "a.mp4", seed=1)
    _panning_video(others / "b.mp4", seed=2)
    (others / "frames").mkdir()
    for i in range(16):
        Image.fromarray(np.full((48, 48, 3), (i * 15, 255 - i * 15, 90), dtype=np.uint8)).save(
            others / "frames" / f"{i:03d}.png")
    return video, itself, others


def test_eval_with_a_reference_set_reports_fvd_and_is(
    video_and_references: tuple[Path, Path, Path], feature_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, itself, others = video_and_references
    code, stdout, _ = run_cli(["eval", str(video), "--reference", str(itself), "--feature-models",
                               str(feature_models), "--json"], capsys)
    assert code == 0
    result = json.loads(stdout)
    fvd, inception = result["fvd"], result["inception_score"]
    assert fvd["clips"] == 2 and fvd["reference_clips"] == 2 and fvd["clip_frames"] == 16
    assert 0.0 <= fvd["score"] < 1e-3  # the video against itself
    assert fvd["model"] == str(feature_models / "i3d_torchscript.pt")
    assert inception["frames"] == result["frames"] == 40 and inception["score"] >= 1.0
    assert inception["reference_frames"] == 40 and inception["reference_score"] == pytest.approx(inception["score"])
    assert not any(note.startswith(("FVD", "IS")) for note in result["notes"])

    code, stdout, _ = run_cli(["eval", str(video), "--reference", str(others), "--feature-models",
                               str(feature_models), "--json"], capsys)
    other = json.loads(stdout)
    assert code == 0
    assert other["fvd"]["reference_clips"] == 2 + 2 + 1 and other["fvd"]["score"] > 1.0
    assert other["inception_score"]["reference_frames"] == 40 + 40 + 16


def test_eval_prints_fvd_and_is_with_models_from_the_environment(
    video_and_references: tuple[Path, Path, Path], feature_models: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video, itself, _ = video_and_references
    monkeypatch.setenv("HEAR2SEE_FEATURE_MODELS", str(feature_models))
    code, stdout, _ = run_cli(["eval", str(video), "--reference", str(itself)], capsys)
    assert code == 0
    assert "FVD        0.00  (2 clips of 16 frames vs 2 reference clips)" in stdout
    assert "IS         " in stdout and "(40 frames, 1 split); reference" in stdout


def test_eval_without_feature_models_says_so_and_succeeds(
    video_and_references: tuple[Path, Path, Path], isolated_home: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video, itself, _ = video_and_references
    monkeypatch.delenv("HEAR2SEE_FEATURE_MODELS", raising=False)
    code, stdout, _ = run_cli(["eval", str(video), "--reference", str(itself)], capsys)
    assert code == 0 and "FVD        " not in stdout
    looked = isolated_home / "models" / "metrics"
    assert (f"Note       FVD: the I3D feature model i3d_torchscript.pt was not found (looked in {looked}): "
            "put it there to compute FVD.") in stdout
    assert "Note       IS: the Inception feature model inception-2015-12-05.pt was not found" in stdout
    code, stdout, _ = run_cli(["eval", str(video), "--json"], capsys)
    result = json.loads(stdout)
    assert code == 0 and result["fvd"] is None and result["inception_score"] is None
    assert "FVD and IS: not computed without a reference set (give one with --reference)." in result["notes"]


def test_eval_refuses_a_broken_feature_model_or_reference_folder(
    video_and_references: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, itself, _ = video_and_references
    (tmp_path / "i3d_torchscript.pt").write_text("<html>Dropbox sign-in page</html>")
    code, _, err = run_cli(["eval", str(video), "--reference", str(itself), "--feature-models", str(tmp_path)],
                           capsys)
    assert code == 2 and "is not a loadable TorchScript file" in one_sentence(err)
    code, _, err = run_cli(["eval", str(video), "--reference", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "The reference folder" in one_sentence(err) and "does not exist" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["eval", str(video), "--reference", str(empty)], capsys)
    assert code == 2 and "holds no videos or images" in one_sentence(err)
