"""`hear2see eval`: the paper's metrics on a rendered MP4, tied back to its run record."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.video import VideoWriter
from tests.test_cli import FAST, one_sentence, run_cli


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
    score = result["av_align"]["score"]
    assert score is None or 0.0 <= score <= 1.0
    assert result["flicker"]["pairs"] == result["frames"] - 1
    assert -1.0 <= result["clipsim"]["score"] <= 1.0 and len(result["clipsim"]["per_frame"]) == result["frames"]
    code, text, _ = run_cli(["eval", str(out), "--runs-log", str(log)], capsys)  # no CLIP model here
    assert code == 0 and "AV-Align" in text and "no CLIP model found" in text


def test_eval_needs_a_sound_track_or_audio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    silent_video = tmp_path / "mute.mp4"
    with VideoWriter(silent_video, 64, 64, 8) as writer:
        for i in range(8):
            writer.write_frame(np.full((64, 64, 3), i * 20, dtype=np.uint8))
    code, _, err = run_cli(["eval", str(silent_video)], capsys)
    assert code == 2 and "no sound track" in one_sentence(err)
    code, _, err = run_cli(["eval", str(tmp_path / "missing.mp4")], capsys)
    assert code == 2 and "does not exist" in one_sentence(err)
