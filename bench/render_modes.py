"""Cost and quality of each render mode on the same narration: UNet work, time, memory, AV-Align, flicker, CLIPSIM.

AV-Align is reported twice: TempoTokens' reference number and the stricter one-to-one variant.

Every mode in `core.settings.MODES` renders the same narration with the same transcript (transcribed
once here, so ASR is not part of any mode's cost and every mode gets the same prompt) through
`RenderJob`, each in a fresh subprocess so its peak RSS is its own; `EvalJob` then scores each MP4.
classic renders at 6 fps, every other mode at 12 fps.

    .venv/bin/python bench/render_modes.py [--model DIR] [--audio WAV] [--clip-model DIR] [--size 256] [--steps 8]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_OUT,
    REPO_ROOT,
    Table,
    Timer,
    cpu_time_s,
    describe_model,
    fmt,
    machine_description,
    peak_rss_mib,
    resolve_bench_model,
    save_plot,
    write_results,
)

DEFAULT_AUDIO = REPO_ROOT / "resources" / "examples" / "narration.wav"
CLASSIC_FPS = 6
OTHER_FPS = 12


def mode_fps(mode: str) -> int:
    """classic shows one independent picture per frame, so it runs at a lower rate than the modes that interpolate."""
    return CLASSIC_FPS if mode == "classic" else OTHER_FPS


# ---------------------------------------------------------------------------------------------------------
# One mode, in its own process


def run_one_mode(spec: dict[str, Any]) -> dict[str, Any]:
    """Render and evaluate one mode (called in a fresh process); everything measured comes back as JSON data."""
    from hear2see_desktop.core.eval_job import EvalJob
    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.transcript import Transcript

    mode = spec["mode"]
    settings = RenderSettings(model=spec["model"], width=spec["size"], height=spec["size"], steps=spec["steps"],
                              fps=mode_fps(mode), mode=mode, seed=spec["seed"], device=spec["device"])
    # The frame cache would hand out earlier runs' images without touching the model: a benchmark measures work.
    no_cache = {"use_cache": False} if "use_cache" in {f.name for f in fields(RenderRequest)} else {}
    request = RenderRequest(audio_path=Path(spec["audio"]), out_path=Path(spec["video"]), settings=settings,
                            runs_log=Path(spec["runs_log"]), transcript=Transcript.from_dict(spec["transcript"]),
                            **no_cache)
    cpu_before = cpu_time_s()
    with Timer() as wall:
        result = RenderJob(request).run(no_progress, never_cancelled)
    cpu_s = cpu_time_s() - cpu_before
    render_rss_mib = peak_rss_mib()  # before the eval: its models would count against the mode
    with Timer() as eval_wall:
        metrics = EvalJob(Path(spec["video"]), audio_path=Path(spec["audio"]), clip_model=spec["clip_model"],
                          runs_log=Path(spec["runs_log"])).run(no_progress, never_cancelled)
    record = result.record
    return {
        "mode": mode,
        "fps": settings.fps,
        "video": spec["video"],
        "duration_s": record.audio.duration_s,
        "images": record.frames,
        "output_frames": record.output_frames,
        "unet_evaluations": record.unet_evaluations,
        "unet_calls": record.unet_calls,
        "frame_cache": record.frame_cache,
        "wall_s": wall.elapsed_s,
        "cpu_s": cpu_s,
        "timings_s": record.timings_s,
        "peak_rss_mib": render_rss_mib,
        "eval_s": eval_wall.elapsed_s,
        "prompt": record.prompt,
        "metrics": metrics.to_dict(),
    }


def child_main(spec_path: Path) -> int:
    """`--child SPEC.json`: run one mode and write its result next to the spec."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    result = run_one_mode(spec)
    Path(spec["result"]).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 0


# ---------------------------------------------------------------------------------------------------------
# All modes


def transcribe_once(audio: Path, engine: str) -> dict[str, Any]:
    """The narration's transcript, shared by all modes so they render the same prompt."""
    from hear2see_desktop.core.asr.select import open_engine
    from hear2see_desktop.core.audio import load_audio
    from hear2see_desktop.core.jobs import never_cancelled, no_progress

    samples = load_audio(audio)
    transcript = open_engine(engine).transcribe(samples.samples, no_progress, never_cancelled)
    transcript.duration_s = samples.duration_s
    return transcript.to_dict()


def run_mode_process(spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run one mode in a fresh Python process; a failure becomes an `error` entry, not a crash of the whole run."""
    spec_path = work / f"{spec['mode']}.spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
                               capture_output=True, text=True)
    result_path = Path(spec["result"])
    if completed.returncode != 0 or not result_path.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"mode": spec["mode"], "fps": mode_fps(spec["mode"]), "error": tail[0][:300],
                "stderr_tail": (completed.stderr or "")[-4000:]}
    return json.loads(result_path.read_text(encoding="utf-8"))


def _per_s(value: float | None, duration_s: float | None) -> float | None:
    return None if value is None or not duration_s else value / duration_s


def table_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    """One formatted row per mode; a failed mode shows its error in place of numbers."""
    rows: list[list[str]] = []
    for item in results:
        if "error" in item:
            rows.append([item["mode"], str(item["fps"]), f"failed: {item['error']}", *[""] * 12])
            continue
        metrics = item["metrics"]
        duration_s = item["duration_s"]
        render_s = (item.get("timings_s") or {}).get("render_s")
        clipsim = (metrics.get("clipsim") or {}).get("score")
        rows.append([
            item["mode"],
            str(item["fps"]),
            str(item["images"]),
            str(item["unet_evaluations"]),
            fmt(_per_s(item["unet_evaluations"], duration_s), 1),
            fmt(item["wall_s"], 1),
            fmt(render_s, 1),
            fmt(_per_s(render_s, duration_s), 2),
            fmt(_per_s(item["cpu_s"], duration_s), 2),
            fmt(item["peak_rss_mib"], 0),
            fmt(metrics["av_align"]["score"]),
            fmt(metrics["av_align"]["one_to_one"]["score"]),
            fmt(metrics["flicker"]["warped_mad"], 2),
            fmt(metrics["flicker"]["plain_mad"], 2),
            fmt(clipsim),
        ])
    return rows


COLUMNS = [
    "mode", "fps", "distinct images", "UNet evaluations", "UNet evals / s video", "wall (s)", "render (s)",
    "render s / s video", "CPU s / s video", "peak RSS (MiB)", "AV-Align", "AV-Align (one-to-one)",
    "flicker (motion-comp.)",
    "flicker (plain)", "CLIPSIM",
]


def plot(results: list[dict[str, Any]], path: Path) -> str:
    """Bar charts of the table's main columns; returns a note for the header (written or why not)."""
    try:
        import matplotlib
    except ImportError:
        return "No plot: matplotlib is not installed (`.venv/bin/pip install -e '.[bench]'`)."
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [item for item in results if "error" not in item]
    if not done:
        return "No plot: every mode failed."
    panels: list[tuple[str, list[float | None]]] = [
        ("UNet evaluations per s of video", [_per_s(i["unet_evaluations"], i["duration_s"]) for i in done]),
        ("render s per s of video", [_per_s((i.get("timings_s") or {}).get("render_s"), i["duration_s"])
                                     for i in done]),
        ("peak RSS (MiB)", [i["peak_rss_mib"] for i in done]),
        ("AV-Align, TempoTokens' reference (higher = better)", [i["metrics"]["av_align"]["score"] for i in done]),
        ("AV-Align, one-to-one (higher = better)", [i["metrics"]["av_align"]["one_to_one"]["score"] for i in done]),
        ("flicker, motion-compensated (lower = steadier)", [i["metrics"]["flicker"]["warped_mad"] for i in done]),
        ("flicker, plain", [i["metrics"]["flicker"]["plain_mad"] for i in done]),
    ]
    clipsim = [(i["metrics"].get("clipsim") or {}).get("score") for i in done]
    if any(value is not None for value in clipsim):
        panels.append(("CLIPSIM (higher = better)", clipsim))
    names = [i["mode"] for i in done]
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    for axis, (title, values) in zip(axes.flat, panels, strict=False):
        heights = [0.0 if value is None else value for value in values]
        bars = axis.bar(names, heights, color=[f"C{k}" for k in range(len(names))])
        axis.bar_label(bars, labels=["n/a" if v is None else f"{v:.3g}" for v in values], fontsize=8)
        axis.set_title(title, fontsize=9)
    for axis in list(axes.flat)[len(panels):]:
        axis.axis("off")
    return save_plot(figure, path)


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_main(Path(sys.argv[2]))
    from hear2see_desktop.core.settings import MODES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a diffusers folder; default: the cached random SD-1.5; 'tiny' for the "
                                        "tests' toy model")
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO, help="the narration every mode renders")
    parser.add_argument("--clip-model", help="a local CLIP model folder for CLIPSIM (skipped without one)")
    parser.add_argument("--size", type=int, default=256, help="width and height in pixels")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--engine", default="auto", help="speech engine for the one shared transcript")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma-separated, from {', '.join(MODES)}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    modes = [mode for mode in args.modes.split(",") if mode]
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}: this version has {', '.join(MODES)}")

    model = resolve_bench_model(args.model)
    machine = machine_description(args.device)
    transcript = transcribe_once(args.audio, args.engine)
    args.out.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hear2see-bench-modes-") as tmp:
        work = Path(tmp)
        for mode in modes:
            print(f"{mode}: rendering at {mode_fps(mode)} fps in a fresh process")
            spec = {
                "mode": mode, "model": str(model), "audio": str(args.audio.resolve()), "size": args.size,
                "steps": args.steps, "seed": args.seed, "device": args.device, "clip_model": args.clip_model,
                "transcript": transcript, "runs_log": str(work / "runs.jsonl"),
                "video": str((args.out / f"render_modes_{mode}.mp4").resolve()),
                "result": str(work / f"{mode}.result.json"),
            }
            results.append(run_mode_process(spec, work))
            print(f"{mode}: {'failed: ' + results[-1]['error'] if 'error' in results[-1] else 'done'}")

    plot_note = plot(results, args.out / "render_modes.png")
    duration = next((item["duration_s"] for item in results if "duration_s" in item), None)
    notes = [
        f"Model: {describe_model(model)}.",
        f"Size {args.size}x{args.size}, {args.steps} steps, seed {args.seed}, device {args.device}; classic at "
        f"{CLASSIC_FPS} fps, other modes at {OTHER_FPS} fps; other settings are RenderSettings' defaults; "
        "the frame cache is off.",
        f"Narration: {args.audio} ({fmt(duration, 2)} s); one transcript for all modes "
        f"({transcript['engine']} {transcript['model']}): \"{transcript['text']}\".",
        "UNet evaluations count denoised samples (CFG doubles them). wall = whole RenderJob (model load included); "
        "render = the render stage; CPU s = user + system CPU time of the job. Peak RSS: each mode in a fresh "
        "process, measured before the evaluation.",
        "Flicker: mean absolute difference between consecutive frames (0-255), after warping by optical flow "
        "(motion-compensated) and raw (plain). CLIPSIM only with --clip-model.",
        plot_note,
    ]
    table = Table(f"Per mode ({args.size}x{args.size}, {args.steps} steps, {model.name})", COLUMNS,
                  table_rows(results))
    data = {
        "settings": {"model": str(model), "audio": str(args.audio), "size": args.size, "steps": args.steps,
                     "seed": args.seed, "device": args.device, "clip_model": args.clip_model, "modes": modes},
        "transcript": transcript,
        "modes": results,
    }
    md_path, _ = write_results(args.out, "render_modes", "Render modes: cost and quality", notes, [table], data,
                               machine)
    print(md_path.read_text(encoding="utf-8"))
    return 0 if all("error" not in item for item in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
