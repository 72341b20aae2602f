"""Time from pressing Render to the first latent preview, against the cost of one UNet step.

Issue 6's target: with the model loaded, the first preview arrives within one UNet step plus
0.3 s. A RenderJob runs in this process exactly as the app's worker runs it (transcript given, as
the app passes it), with the model already loaded by an unmeasured warm-up render; the progress
callback notes when the first preview arrives and the gaps between later previews (one step each).

    python bench/first_preview.py [--model DIR] [--size 256] [--steps 6] [--runs 3] [--out bench/results]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import common


def one_render(model: Path, audio: Path, mode: str, size: int, steps: int, out_dir: Path) -> tuple[float, float]:
    """(seconds to the first preview, median seconds between previews) of one render, nothing cached."""
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.transcript import Transcript, Word

    transcript = Transcript("A lighthouse on a rocky shore at dusk.",
                            [Word("lighthouse", 0.2, 0.8, 1.0), Word("shore", 1.0, 1.5, 1.0)], "given", "bench")
    settings = RenderSettings(model=str(model), width=size, height=size, steps=steps, fps=2, frames=1,
                              device="cpu", mode=mode, keyframe_interval_s=60.0, reactivity=0.0)
    previews: list[float] = []

    def progress(done: int, total: int, message: str, preview: Any = None) -> None:
        if preview is not None:
            previews.append(time.perf_counter())

    request = RenderRequest(audio, out_dir / f"{mode}.mp4", settings, transcript=transcript,
                            runs_log=out_dir / "runs.jsonl", use_cache=False)
    started = time.perf_counter()
    RenderJob(request).run(progress, lambda: False)
    gaps = [b - a for a, b in zip(previews[:-1], previews[1:], strict=True)][: steps - 1]
    return previews[0] - started, common.median(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a diffusers folder (default: random full-size SD-1.5, built once)")
    parser.add_argument("--audio", default=str(common.REPO_ROOT / "resources" / "examples" / "narration.wav"))
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=str(common.DEFAULT_OUT))
    args = parser.parse_args()

    model = common.resolve_bench_model(args.model)
    machine = common.machine_description("cpu")
    rows, data = [], {}
    with tempfile.TemporaryDirectory() as folder:
        out_dir = Path(folder)
        one_render(model, Path(args.audio), "classic", args.size, 2, out_dir)  # load the model: not measured
        for mode in ("classic", "smooth"):
            firsts, steps = [], []
            for _ in range(args.runs):
                first, step = one_render(model, Path(args.audio), mode, args.size, args.steps, out_dir)
                firsts.append(first)
                steps.append(step)
            first, step = common.median(firsts), common.median(steps)
            data[mode] = {"first_preview_s": firsts, "step_s": steps}
            rows.append([mode, common.fmt(first, 2), common.fmt(step, 2), common.fmt(first - step, 2), "0.30",
                         "yes" if first - step <= 0.3 else "no"])
    table = common.Table(
        f"Median of {args.runs} renders at {args.size}x{args.size}, {args.steps} steps, model loaded",
        ["mode", "Render -> first preview (s)", "one UNet step (s)", "overhead beyond one step (s)", "target (s)",
         "within"], rows)
    notes = [f"Model: {common.describe_model(model)}",
             "The render starts from the job's first line (audio read, prompt, cache keys) as the app's worker does."]
    common.write_results(Path(args.out), "first_preview", "Time to the first preview", notes, [table], data, machine)


if __name__ == "__main__":
    main()
