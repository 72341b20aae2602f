"""bench/quality.py's animate rows: an animate render of the toy world with a toy motion model goes through the
benchmark's own render and judgement into a table row (the toy motion models: tests/toyworld/test_motion.py).

The benchmark scripts import each other as top-level modules (`common`), as when run as files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import quality  # noqa: E402

NARRATION = "A red boat sails on the blue sea. Then a yellow sun rises over the desert."
STEPS = 2


@pytest.fixture(scope="module")
def toy_sd() -> Path:
    from tests.toyworld.build import build

    return build() / "sd"


def test_an_animate_row_renders_and_judges_the_toy_world(toy_sd: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from hear2see_desktop.core.render.animate import clip_timing
    from tests.speech import speak

    monkeypatch.setattr(quality, "CACHE_DIR", tmp_path / "cache")  # not the benchmarks' cache folder
    audio = speak(NARRATION, tmp_path / "narration.wav")
    transcript = quality.transcribe(audio)
    row = quality.Mode("animate-zero", "animate", {"motion": "zero", "steps": STEPS})
    video, runs_log = tmp_path / "animate.mp4", tmp_path / "runs.jsonl"
    run = quality.render(toy_sd, audio, transcript, row, video, runs_log, seed=1)
    record = run["record"]
    assert record.settings.mode == "animate"
    assert Path(record.settings.motion_model).parent == tmp_path / "cache"
    timing = clip_timing(record.audio.duration_s, record.settings.fps)
    assert record.unet_evaluations == STEPS * 2 * timing.native_frames, "one UNet pass per native frame and step"
    assert run["vae_decodes"] == timing.native_frames, "each native frame decoded once; in-betweens are flow"

    run["quality"] = quality.judge(video, audio, toy_sd.parent / "clip", runs_log)
    assert run["quality"]["frames"] == timing.output_frames
    following = run["quality"]["scene_following"]
    assert following["transition_keep"] is None and following["worst_transition"] is None
    cells = dict(zip(quality.COLUMNS, quality.table_row(quality.summarise(row, [run])), strict=True))
    assert cells["transition keep (mean)"] == cells["worst in-between"] == "n/a"
    for column in ("prompt fidelity", "scene-following", "flicker (warped, 0-255)", "consecutive CLIP", "AV-Align",
                   "UNet samples / s video", "wall s / s video"):
        float(cells[column])  # a number, not a dash
