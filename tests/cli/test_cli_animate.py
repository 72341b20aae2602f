"""`hear2see render --mode animate` as a user meets it: a video, the motion model in the run log, and one
sentence naming --motion-model when the motion model is missing, unfit or a pickle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.storyboard.board import Scene, Storyboard
from hear2see_desktop.core.video import probe_video
from tests.cli_helpers import FAST, one_sentence, run_cli
from tests.tiny_motion_adapter import save_pickle_motion_file, save_tiny_motion_folder

QUIET_S = 2.0


@pytest.fixture
def quiet_wav(tmp_path: Path) -> Path:
    """Two seconds of silence: there is nothing to transcribe, so no speech model runs."""
    path = tmp_path / "quiet.wav"
    sf.write(path, np.zeros(int(QUIET_S * 16000), dtype=np.float32), 16000, subtype="PCM_16")
    return path


def test_render_animate_on_the_command_line(quiet_wav: Path, tiny_models: tuple[Path, Path, Path],
                                            tiny_motion_models: tuple[Path, Path], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out, log, board = tmp_path / "lake.mp4", tmp_path / "runs.jsonl", tmp_path / "board.json"
    board.write_text(json.dumps(Storyboard(scenes=[Scene(0.0, 1.0, "", "a quiet lake"),
                                                   Scene(1.0, QUIET_S, "", "a boat on the lake")],
                                           duration_s=QUIET_S).to_dict()))
    code, stdout, _ = run_cli(["render", str(quiet_wav), "-o", str(out), "--model", str(tiny_models[0]),
                               "--mode", "animate", "--motion-model", str(tiny_motion_models[1]),
                               "--storyboard", str(board), "--runs-log", str(log), *FAST], capsys)
    assert code == 0 and stdout.strip() == str(out)
    assert probe_video(out).frame_count == frame_count(QUIET_S, 4)
    (record,) = json.loads(run_cli(["runs", "list", "--runs-log", str(log), "--json"], capsys)[1])
    assert record["mode"] == "animate" and record["settings"]["motion_model"] == str(tiny_motion_models[1])
    assert record["motion_model"]["kind"] == "single_file" and len(record["motion_model"]["sha256"]) == 64


def test_animate_refusals_name_the_motion_model_flag(quiet_wav: Path, tiny_models: tuple[Path, Path, Path],
                                                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["render", str(quiet_wav), "-o", str(tmp_path / "o.mp4"), "--model", str(tiny_models[0]), "--mode",
            "animate", "--prompt", "a quiet lake", *FAST]
    unfit = save_tiny_motion_folder(tmp_path / "sdxl-like", channels=(64, 128))
    code, _, err = run_cli([*base, "--motion-model", str(unfit)], capsys)
    sentence = one_sentence(err)
    assert code == 2 and "does not fit this model" in sentence and "--motion-model" in sentence
    pickle = save_pickle_motion_file(tmp_path / "mm_sd_v15_v2.ckpt")
    code, _, err = run_cli([*base, "--motion-model", str(pickle)], capsys)
    sentence = one_sentence(err)
    assert code == 2 and "pickle-based" in sentence and "--motion-model" in sentence
    code, _, err = run_cli(base, capsys)  # the default motion model, not downloaded here
    sentence = one_sentence(err)
    assert code == 3 and "hear2see models download animatediff-v1-5-2" in sentence
    assert "--motion-model" in sentence and not (tmp_path / "o.mp4").exists()
