"""Animate mode at 512 px on a CUDA GPU, measured whole: seconds per step and per second of video, peak GPU memory.

compute_per_second.py puts animate's CPU cost together from parts, because a whole full-size render at 512 px
would take hours there; on a GPU one short call measures it directly. The models are the full-size random ones
of bench/common.py (SD-1.5's architecture and the AnimateDiff v1-5-2 motion module's layout), loaded as the app
loads them on CUDA (fp16). The narration is synthetic and as long as a clip of 16 native frames (one FreeNoise
window: 23 output frames at 12 fps, 1.92 s), so the motion blocks see each frame once; a longer narration's clip
costs more per frame in its motion blocks (compute_per_second.md says how much). Each mode renders through the
app's `RenderJob` once with 2 steps (warm-up: kernel choices, allocations) and then with `--steps`, frame cache
off. Reported per mode: s per step (the median gap between consecutive step events of one picture or clip, the
GPU synchronised at each), UNet samples per s, the render stage's s per second of video, and torch's peak GPU
memory during the measured render (weights included). Classic and smooth at the same size and steps are there
for comparison.

    .venv/bin/python bench/animate_gpu.py [--size 512] [--steps 25] [--modes animate,classic,smooth] [--out DIR]

`--device cpu --model tiny` runs the same script on the CPU with the tests' tiny models (no GPU memory column):
it only proves the script works end to end before a GPU's time is spent on it (tests/test_bench_animate_gpu.py).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_OUT,
    Table,
    build_random_motion_adapter,
    build_random_sd15,
    build_tiny,
    build_tiny_motion,
    describe_model,
    fmt,
    machine_description,
    median,
    write_results,
)

NATIVE_FRAMES = 16
"""The clip's length in the motion model's frames: one FreeNoise window."""
WARMUP_STEPS = 2
GIB = 1024**3
NO_CUDA = ("No CUDA device here, so nothing was measured: bench/animate_gpu.py times animate mode on an NVIDIA GPU "
           "(compute_per_second.py estimates the CPU's cost).")


def narration(folder: Path, fps: int) -> tuple[Path, Any]:
    """A synthetic narration whose animate clip has `NATIVE_FRAMES` native frames, and its given transcript: a
    hummed tone in word-like bursts (so the sound has onsets for the reactivity to follow)."""
    import numpy as np

    from hear2see_desktop.core.render.animate import clip_timing
    from hear2see_desktop.core.transcript import Transcript, Word

    output_frames = next(n for n in range(1, 10 * NATIVE_FRAMES)
                         if clip_timing(n / fps, fps).native_frames == NATIVE_FRAMES)
    rate_hz = 16000
    duration_s = output_frames / fps
    t = np.arange(round(duration_s * rate_hz)) / rate_hz
    bursts = (np.sin(2 * np.pi * 3.0 * t) > -0.2).astype(np.float32)  # three "words" a second
    samples = (0.3 * np.sin(2 * np.pi * 220.0 * t) * bursts * 32767).astype(np.int16)
    path = folder / "narration.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate_hz)
        out.writeframes(samples.tobytes())
    text = ["A", "red", "fox", "runs", "through", "the", "snow."]
    span = duration_s / len(text)
    words = [Word(word, i * span, (i + 0.8) * span, 1.0) for i, word in enumerate(text)]
    return path, Transcript(text=" ".join(text), words=words, engine="given", model="bench", duration_s=duration_s)


def step_seconds(stamps: list[tuple[float, int | None, int]]) -> float | None:
    """The median gap between consecutive steps (1 -> 2, 2 -> 3, ...) of the same picture or clip."""
    gaps = [b[0] - a[0] for a, b in zip(stamps, stamps[1:], strict=False) if b[1] == a[1] and b[2] == a[2] + 1]
    return median(gaps) if gaps else None


def synchronise(device: str) -> None:
    """Wait for the GPU's queued work, so a time stamp means what has run (the CPU runs each call to its end)."""
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def render(mode: str, steps: int, args: argparse.Namespace, models: dict[str, Path], audio: Path, transcript: Any,
           work: Path) -> dict[str, Any]:
    """One render of `mode` on `args.device`, with its step times and (on CUDA) the peak GPU memory while it ran."""
    import torch

    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render.events import DenoiseStep, RenderEvents
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import DEFAULT_FPS, RenderSettings

    stamps: list[tuple[float, int | None, int]] = []

    def on_step(step: DenoiseStep) -> None:
        synchronise(args.device)
        stamps.append((time.perf_counter(), step.image, step.step))

    settings = RenderSettings(model=str(models["model"]), motion_model=str(models["motion"]), width=args.size,
                              height=args.size, steps=steps, fps=DEFAULT_FPS[mode], mode=mode, seed=0,
                              device=args.device)
    request = RenderRequest(audio_path=audio, out_path=work / f"{mode}.mp4", settings=settings,
                            runs_log=work / "runs.jsonl", transcript=transcript, use_cache=False)
    cuda = args.device == "cuda"
    synchronise(args.device)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    resident = torch.cuda.memory_allocated() if cuda else None  # what earlier renders left loaded (model, motion)
    record = RenderJob(request, RenderEvents(step=on_step)).run(no_progress, never_cancelled).record
    synchronise(args.device)
    per_step = step_seconds(stamps)
    video_s = record.output_frames / settings.fps
    return {
        "mode": mode, "size": args.size, "steps": steps, "fps": settings.fps, "pictures": record.frames,
        "output_frames": record.output_frames, "video_s": video_s, "unet_calls": record.unet_calls,
        "unet_samples": record.unet_evaluations, "s_per_step": per_step,
        "unet_samples_per_s": (record.unet_evaluations / record.unet_calls / per_step
                               if per_step and record.unet_calls else None),
        "render_s": record.timings_s["render_s"], "model_load_s": record.timings_s.get("model_load_s"),
        "per_video_s": record.timings_s["render_s"] / video_s,
        "resident_before_gib": resident / GIB if cuda else None,
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / GIB if cuda else None,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / GIB if cuda else None,
        "memory_fallbacks": list(record.memory_fallbacks),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="width = height in px")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--modes", default="animate,classic,smooth", help="comma-separated, in the order run")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="cpu only with --model tiny: proves the script runs")
    parser.add_argument("--model", choices=("sd15-random", "tiny"), default="sd15-random",
                        help="the full-size random models, or the tests' tiny ones (proves the script runs)")
    args = parser.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit(NO_CUDA)
    if args.device == "cpu" and args.model != "tiny":
        raise SystemExit("--device cpu is for proving the script with --model tiny: the full-size models' CPU cost "
                         "is bench/compute_per_second.py's.")
    from hear2see_desktop.core.settings import DEFAULT_FPS

    modes = [m for m in args.modes.split(",") if m]
    models = ({"model": build_tiny(), "motion": build_tiny_motion()} if args.model == "tiny" else
              {"model": build_random_sd15(), "motion": build_random_motion_adapter()})
    machine = machine_description(args.device)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hear2see-bench-animate-gpu-") as tmp:
        work = Path(tmp)
        audio, transcript = narration(work, DEFAULT_FPS["animate"])
        for mode in modes:
            try:
                render(mode, WARMUP_STEPS, args, models, audio, transcript, work)
                rows.append(render(mode, args.steps, args, models, audio, transcript, work))
            except Exception as error:  # one mode's failure (out of memory, say) must not lose the others
                rows.append({"mode": mode, "error": f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"})
            print(rows[-1], flush=True)
            write(args, rows, models, machine)  # after every mode: a call cut short keeps what it measured
    print((args.out / "animate_gpu.md").read_text(encoding="utf-8"))
    return 0


def write(args: argparse.Namespace, rows: list[dict[str, Any]], models: dict[str, Path],
          machine: dict[str, Any]) -> None:
    """animate_gpu.md / .json with the rows so far."""
    table = Table(
        f"{args.size} px, {args.steps} steps, "
        + (f"fp16 on {machine.get('gpu', 'the GPU')}" if args.device == "cuda" else "fp32 on the CPU"),
        ["mode", "fps", "pictures", "UNet samples", "s per step", "UNet samples per s", "render s",
         "s per s of video", "peak GPU GiB (allocated / reserved)", "loaded before", "memory steps down"],
        [[r["mode"], *["–"] * 9, r["error"]] if "error" in r else
         [r["mode"], str(r["fps"]), str(r["pictures"]), str(r["unet_samples"]), fmt(r["s_per_step"], 3),
          fmt(r["unet_samples_per_s"], 1), fmt(r["render_s"], 1), fmt(r["per_video_s"], 2),
          f"{fmt(r['peak_allocated_gib'], 2)} / {fmt(r['peak_reserved_gib'], 2)}", fmt(r["resident_before_gib"], 2),
          ", ".join(r["memory_fallbacks"]) or "none"]
         for r in rows])
    notes = [
        f"Model: {describe_model(models['model'])}; motion model: {describe_model(models['motion'])}; loaded in "
        + ("fp16." if args.device == "cuda" else "fp32."),
        f"Narration: synthetic, {NATIVE_FRAMES} native frames for animate (one FreeNoise window, so its motion blocks "
        "see each frame once); every mode at its default fps, frame cache off, after a 2-step warm-up render.",
        "pictures: native frames (animate), distinct images (classic), keyframes (smooth); s per step: median gap "
        "between consecutive step events of one picture or clip; s per s of video: the render stage (denoise, "
        "decode, in-betweens, H.264) over the video's length; peak GPU memory includes the weights, and \"loaded "
        "before\" is what was already allocated when the render started (the app keeps the model, and after an "
        "animate render the motion model, loaded for the next render).",
    ]
    write_results(args.out, "animate_gpu", "Animate on a CUDA GPU, whole renders", notes, [table],
                  {"settings": {"size": args.size, "steps": args.steps, "native_frames": NATIVE_FRAMES,
                                "device": args.device},
                   "rows": rows}, machine)


if __name__ == "__main__":
    raise SystemExit(main())
