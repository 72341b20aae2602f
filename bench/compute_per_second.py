"""Seconds of compute per second of video, by render mode and resolution (the plot issue 6 asks for).

A full-size SD-1.5 render of the example narration takes hours on a CPU at 512 px in classic mode,
so the cost is put together from parts that are each measured for real, then checked against whole
renders where they are affordable:

1. **Work.** Every mode renders the narration through the real `RenderJob` with the tests' tiny
   SD-shaped model (and, for animate, the tests' tiny motion adapter) at each resolution, at the app's
   default steps and frame rates. This gives the exact UNet calls (with and without CFG, from the run
   record) and VAE decodes (pictures and calls, counted at `AutoencoderKL.decode`) the plan needs — they
   do not depend on the model's size — and the overhead: the toy render's wall time less its own UNet and
   VAE time (its calls times its unit costs), which leaves planning, text encoding, optical flow, motion,
   captions and H.264 encoding.
2. **Unit costs.** The full-size SD-1.5 architecture with random weights (the real model's cost) times
   one UNet call at batch 2 (CFG) and batch 1, and one VAE decode (tiled as the renderer tiles it), at
   each resolution: median of `--repeats` after one warm-up. For animate, the same model joined by the app
   with a random motion adapter in AnimateDiff v1-5-2's layout times one motion-UNet call on one FreeNoise
   window (16 frames, batch 2 for CFG: 32 samples), with the part spent in FreeNoise's windowed motion
   blocks timed by hooks, and one VAE decode of a batch of 8 (animate decodes its frames 8 at a time).
3. **Estimate** = CFG calls x batch-2 time + plain calls x batch-1 time + decodes x decode time +
   overhead; divided by the narration's length for the table and the plot. Animate's clip is one UNet
   call per step on all its native frames; FreeNoise windows the motion blocks only, so every sample
   pays the window call's time less its motion blocks / 32 once per step, and the motion blocks' time / 32
   once per window that holds it (`unet_s`); its decodes cost the batch's time / 8 per picture.
4. **Check** (`--check-size`, `--check-steps`): whole renders of every mode with the full-size model (and
   motion adapter) at a size and step count a CPU can afford, against the estimate for the same settings.

    .venv/bin/python bench/compute_per_second.py [--sizes 128,256,384,512] [--steps 25] [--check-size 128]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_OUT,
    REPO_ROOT,
    Table,
    Timer,
    build_random_motion_adapter,
    build_random_sd15,
    build_tiny,
    build_tiny_motion,
    describe_model,
    fmt,
    machine_description,
    median,
    save_plot,
    write_results,
)

DEFAULT_AUDIO = REPO_ROOT / "resources" / "examples" / "narration.wav"


# ---------------------------------------------------------------------------------------------------------
# One render, in a fresh process (the pipeline cache and peak memory are then its own)


def render_once(spec: dict[str, Any]) -> dict[str, Any]:
    """Render one mode with the spec's model and count the work; runs in a child process."""
    from diffusers import AutoencoderKL

    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import DEFAULT_FPS, RenderSettings
    from hear2see_desktop.core.transcript import Transcript

    decoded = {"images": 0, "calls": 0}
    plain_decode = AutoencoderKL.decode

    def counting_decode(self: Any, z: Any, *args: Any, **kwargs: Any) -> Any:
        decoded["images"] += int(z.shape[0])
        decoded["calls"] += 1
        return plain_decode(self, z, *args, **kwargs)

    AutoencoderKL.decode = counting_decode  # instrumentation only: the decode itself is the real one
    mode = spec["mode"]
    motion = {"motion_model": spec["motion"]} if mode == "animate" else {}
    settings = RenderSettings(model=spec["model"], width=spec["size"], height=spec["size"], steps=spec["steps"],
                              fps=DEFAULT_FPS[mode], mode=mode, seed=0, device="cpu", **motion)
    request = RenderRequest(audio_path=Path(spec["audio"]), out_path=Path(spec["video"]), settings=settings,
                            runs_log=Path(spec["runs_log"]), transcript=Transcript.from_dict(spec["transcript"]),
                            use_cache=False)
    with Timer() as wall:
        result = RenderJob(request).run(no_progress, never_cancelled)
    record = result.record
    samples, calls = record.unet_evaluations, record.unet_calls
    work = {
        "mode": mode, "size": spec["size"], "steps": spec["steps"], "fps": settings.fps,
        "duration_s": record.audio.duration_s, "output_frames": record.output_frames,
        "unet_samples": samples, "unet_calls": calls,
        "cfg_calls": samples - calls, "plain_calls": 2 * calls - samples,  # every call is of 1 or 2 samples
        "vae_decodes": decoded["images"], "vae_decode_calls": decoded["calls"],
        "render_s": record.timings_s["render_s"], "wall_s": wall.elapsed_s,
        "memory_fallbacks": list(record.memory_fallbacks),
    }
    if mode == "animate":
        from hear2see_desktop.core.render.animate import CONTEXT_FRAMES, CONTEXT_STRIDE

        # Each call denoises the whole clip: every native frame is a sample, twice with CFG.
        frames = record.frames
        windowed = freenoise_window_frames(frames, min(CONTEXT_FRAMES, frames), CONTEXT_STRIDE)
        per_call = samples // max(1, calls)
        work.update({"native_frames": frames, "window_frames": windowed,
                     "cfg_calls": calls if per_call == 2 * frames else 0,
                     "plain_calls": calls if per_call == frames else 0,
                     "motion_window_samples": samples * windowed // frames})
    return work


def freenoise_window_frames(frames: int, length: int, stride: int) -> int:
    """Frames FreeNoise's motion blocks process for a clip of `frames`: diffusers' `FreeNoiseTransformerBlock` runs
    windows of `length` starting every `stride` frames, plus one ending on the last frame when they miss it."""
    starts = range(0, frames - length + 1, stride)
    windows = len(starts) + (0 if starts[-1] + length == frames else 1)
    return windows * length


def unit_costs(spec: dict[str, Any]) -> dict[str, Any]:
    """Median seconds of one UNet call (batch 2 and 1) and one VAE decode per size, and with `spec["motion"]` of one
    motion-UNet call on a FreeNoise window and one batch of decodes as animate makes them; runs in a child process."""
    import torch

    from hear2see_desktop.core.render.animate import CONTEXT_FRAMES, CONTEXT_STRIDE, DECODE_CHUNK
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline

    # As a render resolves it: the same torch threads as the renders (it sets one per core, whatever OMP_NUM_THREADS
    # says), so unit costs and renders are timed alike.
    loaded = get_pipeline(resolve_model_source(spec["model"]), resolve_device("cpu"))
    pipe = loaded.pipe
    text = torch.randn(2, 77, pipe.text_encoder.config.hidden_size)
    scale = pipe.vae.config.scaling_factor
    out: dict[str, Any] = {"load_s": loaded.load_s, "sizes": {}}
    motion = WindowedMotionUNet(loaded, spec["motion"]) if spec.get("motion") else None
    if motion is not None:
        out.update({"window_frames": CONTEXT_FRAMES, "window_samples": 2 * CONTEXT_FRAMES,
                    "decode_batch": DECODE_CHUNK, "context_stride": CONTEXT_STRIDE})
    window_text = text.repeat_interleave(CONTEXT_FRAMES, dim=0)  # (2 x frames, 77, d): a prompt per frame, CFG
    for size in spec["sizes"]:
        latent = torch.randn(2, 4, size // 8, size // 8)
        t = torch.tensor(500)

        def unet(batch: int, latent: Any = latent, t: Any = t) -> None:
            pipe.unet(latent[:batch], t, encoder_hidden_states=text[:batch]).sample  # noqa: B018

        def vae(latent: Any = latent) -> None:
            pipe.vae.decode(latent[:1] / scale).sample  # noqa: B018

        calls: list[tuple[str, Any]] = [("unet_batch2_s", lambda: unet(2)), ("unet_batch1_s", lambda: unet(1)),
                                        ("vae_decode_s", vae)]
        if motion is not None:
            clip = torch.randn(2, 4, CONTEXT_FRAMES, size // 8, size // 8)
            batch = torch.randn(DECODE_CHUNK, 4, size // 8, size // 8)

            def motion_window(clip: Any = clip, t: Any = t) -> None:
                motion.unet(clip, t, encoder_hidden_states=window_text).sample  # noqa: B018

            def vae_batch(batch: Any = batch) -> None:
                pipe.vae.decode(batch / scale).sample  # noqa: B018

            calls += [("motion_window_s", motion_window), ("vae_decode_batch_s", vae_batch)]
        timings: dict[str, float] = {}
        with torch.inference_mode():
            for name, call in calls:
                call()  # warm-up: first-call allocations and kernel choices are not the steady cost
                runs = []
                for _ in range(spec["repeats"]):
                    if motion is not None:
                        motion.blocks_s = 0.0
                    with Timer() as timer:
                        call()
                    runs.append((timer.elapsed_s, motion.blocks_s if motion is not None else 0.0))
                timings[name] = median([total for total, _ in runs])
                if name == "motion_window_s":  # of which in the windowed motion blocks, in the same runs
                    timings["motion_blocks_s"] = median([blocks for _, blocks in runs])
        if motion is not None:  # per sample: a window call holds 2 x CONTEXT_FRAMES of them (CFG)
            window_samples = 2 * CONTEXT_FRAMES
            timings["motion_sample_s"] = timings["motion_window_s"] / window_samples
            timings["motion_blocks_sample_s"] = timings["motion_blocks_s"] / window_samples
            timings["motion_rest_sample_s"] = timings["motion_sample_s"] - timings["motion_blocks_sample_s"]
            timings["vae_batch_picture_s"] = timings["vae_decode_batch_s"] / DECODE_CHUNK
        out["sizes"][str(size)] = timings
        print(f"  {size} px: " + ", ".join(f"{k} {v:.3f}" for k, v in timings.items()), flush=True)
    return out


class WindowedMotionUNet:
    """Animate's motion UNet on `loaded`, built by the app (`animate_pipeline`: the model's own spatial modules and
    the motion model's motion modules) with FreeNoise on as the renderer turns it on, and hooks that add the time
    spent in FreeNoise's windowed motion blocks to `blocks_s` (a CPU runs them in order, so wall time is theirs)."""

    def __init__(self, loaded: Any, motion_model: str) -> None:
        import time

        from diffusers.models.attention import FreeNoiseTransformerBlock

        from hear2see_desktop.core.render.animate import CONTEXT_FRAMES, CONTEXT_STRIDE
        from hear2see_desktop.core.render.motion_pipeline import animate_pipeline
        from hear2see_desktop.core.render.motion_source import motion_shape, resolve_motion_source

        source = resolve_motion_source(motion_model)
        animate = animate_pipeline(loaded, source, motion_shape(source))
        animate.enable_free_noise(context_length=CONTEXT_FRAMES, context_stride=CONTEXT_STRIDE)
        self.unet = animate.unet
        self.blocks_s = 0.0
        started: list[float] = []

        def before(_module: Any, _args: Any) -> None:
            started.append(time.perf_counter())

        def after(_module: Any, _args: Any, _output: Any) -> None:
            self.blocks_s += time.perf_counter() - started.pop()

        blocks = [m for m in self.unet.modules() if isinstance(m, FreeNoiseTransformerBlock)]
        assert blocks, "FreeNoise is on: the motion blocks are its windowed blocks"
        for block in blocks:
            block.register_forward_pre_hook(before)
            block.register_forward_hook(after)


def child_main(spec_path: Path) -> int:
    """`--child SPEC.json`: run the spec's task and write its JSON result."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    result = unit_costs(spec) if spec["task"] == "units" else render_once(spec)
    Path(spec["result"]).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


def in_child(spec: dict[str, Any], work: Path, name: str) -> dict[str, Any]:
    """Run a task in a fresh Python process; its failure stops the benchmark with the child's last words."""
    spec = {**spec, "result": str(work / f"{name}.result.json")}
    spec_path = work / f"{name}.spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
                               text=True, stdout=None, stderr=subprocess.PIPE)
    if completed.returncode != 0:
        raise SystemExit(f"{name} failed:\n{completed.stderr[-3000:]}")
    return json.loads(Path(spec["result"]).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------------------
# Putting it together


def unet_s(work: dict[str, Any], units: dict[str, float]) -> float:
    """Seconds of UNet time `work` costs at these unit costs.

    Animate's clip goes through the spatial layers (and the motion modules' projections) once per frame and step,
    but through FreeNoise's windowed motion blocks once per frame of every window that holds it: its samples pay
    the window call's time less its motion blocks' per sample, its window samples the motion blocks' per sample."""
    if work["mode"] == "animate":
        return (work["unet_samples"] * units["motion_rest_sample_s"]
                + work["motion_window_samples"] * units["motion_blocks_sample_s"])
    return work["cfg_calls"] * units["unet_batch2_s"] + work["plain_calls"] * units["unet_batch1_s"]


def network_s(work: dict[str, Any], units: dict[str, float]) -> float:
    """Seconds of UNet and VAE time `work` costs at these unit costs (animate decodes in batches)."""
    decode = units["vae_batch_picture_s"] if work["mode"] == "animate" else units["vae_decode_s"]
    return unet_s(work, units) + work["vae_decodes"] * decode


def naive_animate_s(work: dict[str, Any], units: dict[str, float], toy_units: dict[str, float]) -> float:
    """Animate's estimate if every sample cost a window call's time per sample (FreeNoise's overlap ignored)."""
    flat = {**units, "motion_rest_sample_s": units["motion_sample_s"], "motion_blocks_sample_s": 0.0}
    return network_s(work, flat) + overhead_s(work, toy_units)


def overhead_s(work: dict[str, Any], toy_units: dict[str, float]) -> float:
    """The toy render's time that is not its networks: what every model pays on top of its UNet and VAE."""
    return max(0.0, work["render_s"] - network_s(work, toy_units))


def estimate_s(work: dict[str, Any], units: dict[str, float], toy_units: dict[str, float]) -> float:
    """Seconds the full-size model would need for `work`: its network time plus the measured overhead."""
    return network_s(work, units) + overhead_s(work, toy_units)


def plot(rows: list[dict[str, Any]], sizes: list[int], modes: list[str], path: Path, steps: int) -> str:
    """Compute seconds per video second against resolution, one line per mode (log scale)."""
    try:
        import matplotlib
    except ImportError:
        return "No plot: matplotlib is not installed (`.venv/bin/pip install -e '.[bench]'`)."
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for k, mode in enumerate(modes):
        values = [next(r["per_video_s"] for r in rows if r["mode"] == mode and r["size"] == size) for size in sizes]
        axis.plot(sizes, values, marker="o", color=f"C{k}", label=mode)
        for size, value in zip(sizes, values, strict=True):
            axis.annotate(f"{value:.0f}", (size, value), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axis.set_yscale("log")
    axis.set_xticks(sizes)
    axis.set_xlabel("width = height (px)")
    axis.set_ylabel("compute s per s of video (CPU, 2 cores)")
    axis.set_title(f"SD-1.5 fp32 (animate: + AnimateDiff v1-5-2) on this CPU, {steps} steps, default fps per mode",
                   fontsize=9)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    return save_plot(figure, path)


def result_tables(rows: list[dict[str, Any]], units: dict[str, Any], checks: list[dict[str, Any]], sizes: list[int],
                  modes: list[str], args: argparse.Namespace) -> list[Table]:
    """The main table, the unit costs (animate's apart), each row's work and parts, and the check."""
    from hear2see_desktop.core.render.animate import MOTION_FPS

    def fps_cell(mode: str) -> str:
        fps = next(r["fps"] for r in rows if r["mode"] == mode)
        return f"{fps} ({min(MOTION_FPS, fps)} native)" if mode == "animate" else str(fps)

    main_table = Table(
        f"Compute seconds per second of video ({args.steps} steps, full-size SD-1.5 fp32, CPU)",
        ["mode", "fps", *[f"{s} px" for s in sizes]],
        [[mode, fps_cell(mode),
          *[fmt(next(r["per_video_s"] for r in rows if r["mode"] == mode and r["size"] == s), 0) for s in sizes]]
         for mode in modes])
    detail = Table(
        "Work and parts", ["mode", "size", "UNet samples", "CFG calls", "plain calls", "VAE decodes",
                           "overhead s", "estimate s", "UNet share"],
        [[r["mode"], str(r["size"]), str(r["unet_samples"]), str(r["cfg_calls"]), str(r["plain_calls"]),
          str(r["vae_decodes"]), fmt(r["overhead_s"], 1), fmt(r["estimate_s"], 0), fmt(r["unet_share"], 2)]
         for r in rows])
    unit_table = Table("Unit costs (median s)", ["size", "UNet call, batch 2", "UNet call, batch 1", "VAE decode"],
                       [[str(s), fmt(units["sizes"][str(s)]["unet_batch2_s"]),
                         fmt(units["sizes"][str(s)]["unet_batch1_s"]), fmt(units["sizes"][str(s)]["vae_decode_s"])]
                        for s in sizes])
    tables = [main_table, unit_table]
    if "window_frames" in units:
        frames, batch = units["window_frames"], units["decode_batch"]
        tables.append(Table(
            "Animate's unit costs (median s)",
            ["size", f"motion UNet call, {frames}-frame window x 2 (CFG)", "of which FreeNoise's motion blocks",
             f"per sample (/ {2 * frames})", f"VAE decode, batch of {batch}", "per picture"],
            [[str(s), fmt(u["motion_window_s"]), fmt(u["motion_blocks_s"]), fmt(u["motion_sample_s"]),
              fmt(u["vae_decode_batch_s"]), fmt(u["vae_batch_picture_s"])]
             for s in sizes for u in [units["sizes"][str(s)]]]))
    tables.append(detail)
    if checks:
        tables.append(Table(
            f"Check: whole full-size renders at {args.check_size} px, {args.check_steps} steps",
            ["mode", "measured render s", "estimate s", "estimate / measured"],
            [[c["mode"], fmt(c["measured_render_s"], 1), fmt(c["estimate_s"], 1), fmt(c["ratio"], 2)]
             for c in checks]))
    return tables


def animate_note(rows: list[dict[str, Any]], units: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    """What the animate row counts and how its estimate is put together, with the clip's numbers."""
    row = next((r for r in rows if r["mode"] == "animate"), None)
    if row is None or "window_frames" not in units:
        return ""
    frames, window, stride = row["native_frames"], units["window_frames"], units["context_stride"]
    check = next((c for c in checks if c["mode"] == "animate"), None)
    checked = ("" if check is None else
               f" Ignoring that overlap (every sample at the window call's time / {2 * window}) the check's estimate "
               f"would be {check['estimate_without_window_overlap_s']:.1f} s against {check['measured_render_s']:.1f}"
               " s measured.")
    return (f"Animate: one clip of {frames} native frames (the motion model's 8 per second) denoised by the motion "
            f"UNet in one call per step on the whole clip (UNet samples = steps x frames x 2 with CFG); its "
            f"{row['output_frames']} output frames at {row['fps']} fps are optical-flow in-betweens (overhead). "
            f"FreeNoise windows ({window} frames, stride {stride}) the motion blocks only, so the spatial layers (and "
            f"the motion modules' in and out projections) see every frame once per step, the motion blocks once per "
            f"window that holds it ({row['window_frames']} window frames for {frames}: "
            f"{row['window_frames'] / frames:.2f}x). Unit cost: one motion-UNet call (the app's, FreeNoise on) on one "
            f"{window}-frame window at batch 2, {2 * window} samples, split by hooks on FreeNoise's blocks; UNet time "
            f"= samples x (window call - motion blocks) / {2 * window} + window samples x motion blocks / "
            f"{2 * window}. VAE: the renderer decodes native frames {units['decode_batch']} at a time "
            f"({row['vae_decode_calls']} calls for {row['vae_decodes']} pictures), so pictures x (one timed batch "
            f"decode / {units['decode_batch']}).{checked}")


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child_main(Path(sys.argv[2]))
    from render_modes import transcribe_once

    from hear2see_desktop.core.settings import MODES, RenderSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", type=Path, default=DEFAULT_AUDIO)
    parser.add_argument("--sizes", default="128,256,384,512", help="comma-separated widths (= heights) in px")
    parser.add_argument("--steps", type=int, default=RenderSettings().steps)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check-size", type=int, default=128, help="0: no whole full-size renders")
    parser.add_argument("--check-steps", type=int, default=8)
    parser.add_argument("--model", help="the full-size model folder (default: the cached random SD-1.5)")
    parser.add_argument("--motion-model", help="animate's full-size motion model folder (default: the cached random "
                                               "AnimateDiff v1-5-2)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated (default: every mode)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= set(MODES):
        parser.error(f"--modes: use some of {', '.join(MODES)}")
    big = Path(args.model) if args.model else build_random_sd15()
    tiny = build_tiny()
    animate = "animate" in modes
    big_motion = Path(args.motion_model) if args.motion_model else build_random_motion_adapter()
    tiny_motion = build_tiny_motion()
    machine = machine_description("cpu")
    transcript = transcribe_once(args.audio, "auto")

    with tempfile.TemporaryDirectory(prefix="hear2see-bench-cps-") as tmp:
        work_dir = Path(tmp)
        base = {"audio": str(args.audio.resolve()), "transcript": transcript, "runs_log": str(work_dir / "runs.jsonl"),
                "video": str(work_dir / "out.mp4")}
        all_sizes = sorted({*sizes, *([args.check_size] if args.check_size else [])})
        print(f"unit costs of {big.name} with {big_motion.name} at {all_sizes}", flush=True)
        units = in_child({"task": "units", "model": str(big), "motion": str(big_motion) if animate else None,
                          "sizes": all_sizes, "repeats": args.repeats}, work_dir, "units")
        print(f"unit costs of the toy model at {all_sizes}", flush=True)
        toy_units = in_child({"task": "units", "model": str(tiny), "motion": str(tiny_motion) if animate else None,
                              "sizes": all_sizes, "repeats": args.repeats}, work_dir, "toy-units")["sizes"]
        works: list[dict[str, Any]] = []
        for size in sizes:
            for mode in modes:
                works.append(in_child({**base, "task": "render", "mode": mode, "model": str(tiny),
                                       "motion": str(tiny_motion), "size": size, "steps": args.steps},
                                      work_dir, f"work-{mode}-{size}"))
                print(f"  work {mode} {size} px: {works[-1]['unet_samples']} UNet samples, "
                      f"{works[-1]['vae_decodes']} decodes, toy render {works[-1]['render_s']:.1f} s, overhead "
                      f"{overhead_s(works[-1], toy_units[str(size)]):.1f} s", flush=True)
        checks: list[dict[str, Any]] = []
        if args.check_size:
            check_units, check_toy = units["sizes"][str(args.check_size)], toy_units[str(args.check_size)]
            for mode in modes:
                common_spec = {**base, "task": "render", "mode": mode, "size": args.check_size,
                               "steps": args.check_steps}
                small = in_child({**common_spec, "model": str(tiny), "motion": str(tiny_motion)}, work_dir,
                                 f"check-work-{mode}")
                whole = in_child({**common_spec, "model": str(big), "motion": str(big_motion)}, work_dir,
                                 f"check-{mode}")
                estimate = estimate_s(small, check_units, check_toy)
                checks.append({"mode": mode, "measured_render_s": whole["render_s"], "estimate_s": estimate,
                               "ratio": estimate / whole["render_s"], "work": small, "whole": whole})
                if mode == "animate":
                    checks[-1]["estimate_without_window_overlap_s"] = naive_animate_s(small, check_units, check_toy)
                print(f"  check {mode}: measured {whole['render_s']:.1f} s, estimate {estimate:.1f} s", flush=True)

    rows: list[dict[str, Any]] = []
    for item in works:
        cost = units["sizes"][str(item["size"])]
        overhead = overhead_s(item, toy_units[str(item["size"])])
        total = estimate_s(item, cost, toy_units[str(item["size"])])
        rows.append({**item, "overhead_s": overhead, "estimate_s": total, "per_video_s": total / item["duration_s"],
                     "unet_share": unet_s(item, cost) / total})
    args.out.mkdir(parents=True, exist_ok=True)
    plot_note = plot(rows, sizes, modes, args.out / "compute_per_second.png", args.steps)
    tables = result_tables(rows, units, checks, sizes, modes, args)
    duration = rows[0]["duration_s"] if rows else None
    notes = [
        f"Full-size model: {describe_model(big)}; work counted with {describe_model(tiny)}.",
        f"Animate's motion model: {describe_model(big_motion)}; work counted with {describe_model(tiny_motion)}."
        if animate else "",
        f"Narration: {args.audio} ({fmt(duration, 2)} s), one transcript for every run: \"{transcript['text']}\".",
        "Estimate = CFG calls x batch-2 UNet time + plain calls x batch-1 UNet time + VAE decodes x decode time + "
        "overhead, where overhead = the toy model's whole render time less its own UNet and VAE time (planning, "
        "text encoding, flow, motion, captions, H.264). Frame cache off. See the module docstring.",
        animate_note(rows, units, checks),
        "The check table compares the estimate with whole renders by the full-size model where a CPU can afford "
        "them; the 512 px classic cell would be hours of rendering on this machine.",
        plot_note,
    ]
    notes = [note for note in notes if note]
    data = {"toy_units": toy_units,
            "settings": {"sizes": sizes, "steps": args.steps, "repeats": args.repeats, "audio": str(args.audio),
                         "check_size": args.check_size, "check_steps": args.check_steps,
                         "motion_model": str(big_motion)},
            "units": units, "rows": rows, "checks": checks}
    md_path, _ = write_results(args.out, "compute_per_second", "Compute per second of video by mode and resolution",
                               notes, tables, data, machine)
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
