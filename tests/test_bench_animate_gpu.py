"""bench/animate_gpu.py, run on the CPU with the tiny models: the script a lent GPU's one short call depends on works
end to end (narration, every mode's render through RenderJob, the step clock, the tables), so that call cannot be
lost to a bug in it. What only CUDA has (fp16, the memory counters) is left to that call.

The benchmark scripts import each other as top-level modules (`common`), as when run as files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import animate_gpu  # noqa: E402

STEPS = 2


def test_the_gpu_script_runs_on_the_cpu_with_the_tiny_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             tiny_models: tuple[Path, Path, Path],
                                                             tiny_motion_models: tuple[Path, Path]) -> None:
    from hear2see_desktop.core.render.animate import clip_timing
    from hear2see_desktop.core.settings import DEFAULT_FPS

    # The tests' own tiny models, not the benchmarks' cache folder; animate and one mode to compare with (smooth
    # goes through the same render call).
    monkeypatch.setattr(animate_gpu, "build_tiny", lambda: tiny_models[0])
    monkeypatch.setattr(animate_gpu, "build_tiny_motion", lambda: tiny_motion_models[0])
    out = tmp_path / "results"
    assert animate_gpu.main(["--device", "cpu", "--model", "tiny", "--size", "64", "--steps", str(STEPS),
                             "--modes", "animate,classic", "--out", str(out)]) == 0

    results = json.loads((out / "animate_gpu.json").read_text(encoding="utf-8"))
    rows = {row["mode"]: row for row in results["rows"]}
    assert list(rows) == ["animate", "classic"]
    assert not [row["error"] for row in rows.values() if "error" in row]
    animate = rows["animate"]
    assert animate["pictures"] == animate_gpu.NATIVE_FRAMES, "the narration is one FreeNoise window long"
    fps = DEFAULT_FPS["animate"]
    assert clip_timing(animate["video_s"], fps).native_frames == animate_gpu.NATIVE_FRAMES
    assert animate["unet_samples"] == STEPS * 2 * animate_gpu.NATIVE_FRAMES, "one pass per frame, step and CFG half"
    for row in rows.values():
        assert row["steps"] == STEPS and row["s_per_step"] > 0 and row["per_video_s"] > 0
        assert row["peak_allocated_gib"] is None, "no GPU memory to read on the CPU"
    table = (out / "animate_gpu.md").read_text(encoding="utf-8")
    assert "fp32 on the CPU" in table and "| animate |" in table


def test_the_gpu_script_says_in_one_sentence_when_it_cannot_measure(tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(SystemExit) as stopped:
            animate_gpu.main(["--out", str(tmp_path)])
        assert stopped.value.code == animate_gpu.NO_CUDA
    with pytest.raises(SystemExit) as stopped:
        animate_gpu.main(["--device", "cpu", "--out", str(tmp_path)])
    assert "--model tiny" in str(stopped.value.code)
    assert not list(tmp_path.iterdir()), "nothing measured, nothing written"
