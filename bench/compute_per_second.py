"""Seconds of compute per second of video, by render mode and resolution (the plot issue 6 asks for).

A full-size SD-1.5 render of the example narration takes hours on a CPU at 512 px in classic mode,
so the cost is put together from parts that are each measured for real, then checked against whole
renders where they are affordable:

1. **Work.** Every mode renders the narration through the real `RenderJob` with the tests' tiny
   SD-shaped model at each resolution, at the app's default steps and frame rates. This gives the exact
   UNet calls (with and without CFG, from the run record) and VAE decodes (counted at
   `AutoencoderKL.decode`) the plan needs — they do not depend on the model's size — and the overhead:
   the toy render's wall time less its own UNet and VAE time (its calls times its unit costs), which
   leaves planning, text encoding, optical flow, motion, captions and H.264 encoding.
2. **Unit costs.** The full-size SD-1.5 architecture with random weights (the real model's cost) times
   one UNet call at batch 2 (CFG) and batch 1, and one VAE decode (tiled as the renderer tiles it), at
   each resolution: median of `--repeats` after one warm-up.
3. **Estimate** = CFG calls x batch-2 time + plain calls x batch-1 time + decodes x decode time +
   overhead; divided by the narration's length for the table and the plot.
4. **Check** (`--check-size`, `--check-steps`): whole renders of every mode with the full-size model at a
   size and step count a CPU can afford, against the estimate for the same settings.

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
    build_random_sd15,
    build_tiny,
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

    decoded = {"images": 0}
    plain_decode = AutoencoderKL.decode

    def counting_decode(self: Any, z: Any, *args: Any, **kwargs: Any) -> Any:
        decoded["images"] += int(z.shape[0])
        return plain_decode(self, z, *args, **kwargs)

    AutoencoderKL.decode = counting_decode  # instrumentation only: the decode itself is the real one
    mode = spec["mode"]
    settings = RenderSettings(model=spec["model"], width=spec["size"], height=spec["size"], steps=spec["steps"],
                              fps=DEFAULT_FPS[mode], mode=mode, seed=0, device="cpu")
    request = RenderRequest(audio_path=Path(spec["audio"]), out_path=Path(spec["video"]), settings=settings,
                            runs_log=Path(spec["runs_log"]), transcript=Transcript.from_dict(spec["transcript"]),
                            use_cache=False)
    with Timer() as wall:
        result = RenderJob(request).run(no_progress, never_cancelled)
    record = result.record
    samples, calls = record.unet_evaluations, record.unet_calls
    return {
        "mode": mode, "size": spec["size"], "steps": spec["steps"], "fps": settings.fps,
        "duration_s": record.audio.duration_s, "output_frames": record.output_frames,
        "unet_samples": samples, "unet_calls": calls,
        "cfg_calls": samples - calls, "plain_calls": 2 * calls - samples,  # every call is of 1 or 2 samples
        "vae_decodes": decoded["images"], "render_s": record.timings_s["render_s"], "wall_s": wall.elapsed_s,
    }


def unit_costs(spec: dict[str, Any]) -> dict[str, Any]:
    """Median seconds of one UNet call (batch 2 and 1) and one VAE decode per size; runs in a child process."""
    import torch

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
    for size in spec["sizes"]:
        latent = torch.randn(2, 4, size // 8, size // 8)
        t = torch.tensor(500)

        def unet(batch: int, latent: Any = latent, t: Any = t) -> None:
            pipe.unet(latent[:batch], t, encoder_hidden_states=text[:batch]).sample  # noqa: B018

        def vae(latent: Any = latent) -> None:
            pipe.vae.decode(latent[:1] / scale).sample  # noqa: B018

        timings: dict[str, float] = {}
        with torch.inference_mode():
            for name, call in (("unet_batch2_s", lambda: unet(2)), ("unet_batch1_s", lambda: unet(1)),
                               ("vae_decode_s", vae)):
                call()  # warm-up: first-call allocations and kernel choices are not the steady cost
                runs = []
                for _ in range(spec["repeats"]):
                    with Timer() as timer:
                        call()
                    runs.append(timer.elapsed_s)
                timings[name] = median(runs)
        out["sizes"][str(size)] = timings
        print(f"  {size} px: " + ", ".join(f"{k} {v:.3f}" for k, v in timings.items()), flush=True)
    return out


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


def network_s(work: dict[str, Any], units: dict[str, float]) -> float:
    """Seconds of UNet and VAE time `work` costs at these unit costs."""
    return (work["cfg_calls"] * units["unet_batch2_s"] + work["plain_calls"] * units["unet_batch1_s"]
            + work["vae_decodes"] * units["vae_decode_s"])


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
    axis.set_title(f"SD-1.5 fp32 on this CPU, {steps} steps, default fps per mode", fontsize=10)
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    return save_plot(figure, path)


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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    modes = list(MODES)
    big = Path(args.model) if args.model else build_random_sd15()
    tiny = build_tiny()
    machine = machine_description("cpu")
    transcript = transcribe_once(args.audio, "auto")

    with tempfile.TemporaryDirectory(prefix="hear2see-bench-cps-") as tmp:
        work_dir = Path(tmp)
        base = {"audio": str(args.audio.resolve()), "transcript": transcript, "runs_log": str(work_dir / "runs.jsonl"),
                "video": str(work_dir / "out.mp4")}
        all_sizes = sorted({*sizes, *([args.check_size] if args.check_size else [])})
        print(f"unit costs of {big.name} at {all_sizes}", flush=True)
        units = in_child({"task": "units", "model": str(big), "sizes": all_sizes, "repeats": args.repeats},
                         work_dir, "units")
        print(f"unit costs of the toy model at {all_sizes}", flush=True)
        toy_units = in_child({"task": "units", "model": str(tiny), "sizes": all_sizes, "repeats": args.repeats},
                             work_dir, "toy-units")["sizes"]
        works: list[dict[str, Any]] = []
        for size in sizes:
            for mode in modes:
                works.append(in_child({**base, "task": "render", "mode": mode, "model": str(tiny), "size": size,
                                       "steps": args.steps}, work_dir, f"work-{mode}-{size}"))
                print(f"  work {mode} {size} px: {works[-1]['unet_samples']} UNet samples, "
                      f"{works[-1]['vae_decodes']} decodes, toy render {works[-1]['render_s']:.1f} s, overhead "
                      f"{overhead_s(works[-1], toy_units[str(size)]):.1f} s", flush=True)
        checks: list[dict[str, Any]] = []
        if args.check_size:
            check_units = units["sizes"][str(args.check_size)]
            for mode in modes:
                common_spec = {**base, "task": "render", "mode": mode, "size": args.check_size,
                               "steps": args.check_steps}
                small = in_child({**common_spec, "model": str(tiny)}, work_dir, f"check-work-{mode}")
                whole = in_child({**common_spec, "model": str(big)}, work_dir, f"check-{mode}")
                estimate = estimate_s(small, check_units, toy_units[str(args.check_size)])
                checks.append({"mode": mode, "measured_render_s": whole["render_s"], "estimate_s": estimate,
                               "ratio": estimate / whole["render_s"], "work": small, "whole": whole})
                print(f"  check {mode}: measured {whole['render_s']:.1f} s, estimate {estimate:.1f} s", flush=True)

    rows: list[dict[str, Any]] = []
    for item in works:
        cost = units["sizes"][str(item["size"])]
        overhead = overhead_s(item, toy_units[str(item["size"])])
        total = estimate_s(item, cost, toy_units[str(item["size"])])
        rows.append({**item, "overhead_s": overhead, "estimate_s": total, "per_video_s": total / item["duration_s"],
                     "unet_share": (item["cfg_calls"] * cost["unet_batch2_s"]
                                    + item["plain_calls"] * cost["unet_batch1_s"]) / total})
    args.out.mkdir(parents=True, exist_ok=True)
    plot_note = plot(rows, sizes, modes, args.out / "compute_per_second.png", args.steps)
    duration = rows[0]["duration_s"] if rows else None
    main_table = Table(
        f"Compute seconds per second of video ({args.steps} steps, full-size SD-1.5 fp32, CPU)",
        ["mode", "fps", *[f"{s} px" for s in sizes]],
        [[mode, str(next(r["fps"] for r in rows if r["mode"] == mode)),
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
    tables = [main_table, unit_table, detail]
    if checks:
        tables.append(Table(
            f"Check: whole full-size renders at {args.check_size} px, {args.check_steps} steps",
            ["mode", "measured render s", "estimate s", "estimate / measured"],
            [[c["mode"], fmt(c["measured_render_s"], 1), fmt(c["estimate_s"], 1), fmt(c["ratio"], 2)]
             for c in checks]))
    notes = [
        f"Full-size model: {describe_model(big)}; work counted with {describe_model(tiny)}.",
        f"Narration: {args.audio} ({fmt(duration, 2)} s), one transcript for every run: \"{transcript['text']}\".",
        "Estimate = CFG calls x batch-2 UNet time + plain calls x batch-1 UNet time + VAE decodes x decode time + "
        "overhead, where overhead = the toy model's whole render time less its own UNet and VAE time (planning, "
        "text encoding, flow, motion, captions, H.264). Frame cache off. See the module docstring.",
        "The check table compares the estimate with whole renders by the full-size model where a CPU can afford "
        "them; the 512 px classic cell would be hours of rendering on this machine.",
        plot_note,
    ]
    data = {"toy_units": toy_units,
            "settings": {"sizes": sizes, "steps": args.steps, "repeats": args.repeats, "audio": str(args.audio),
                         "check_size": args.check_size, "check_steps": args.check_steps},
            "units": units, "rows": rows, "checks": checks}
    md_path, _ = write_results(args.out, "compute_per_second", "Compute per second of video by mode and resolution",
                               notes, tables, data, machine)
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
