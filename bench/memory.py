"""Peak memory of a CPU render against the model's weights in memory, and what VAE tiling saves at large sizes.

Each case runs in a fresh process (the kernel keeps only one peak per process):
- render: a short classic render through `RenderJob` (with the app's VAE tiling) at each `--sizes`
  from the random SD-1.5 with fp32 files (as the catalogue's SD 1.5 is stored) and, if given, at
  the first size from a copy with fp16 files (converted on load);
- load: with `--fp16-model`, loading alone, fp16 files as fp32 and fp32 files as fp16, by diffusers'
  own conversion and by the app's loader (peak RSS against the converted weights);
- vae: one VAE decode at each `--vae-sizes`, in one piece and in tiles of each `--vae-tiles` size (peak
  above the loaded VAE, and time).

    .venv/bin/python bench/memory.py [--fp16-model DIR] [--sizes 128,512] [--vae-sizes 384,512,1024]
                                     [--vae-tiles 0,256,384]
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
    describe_model,
    fmt,
    machine_description,
    peak_rss_mib,
    write_results,
)

NARRATION = REPO_ROOT / "resources" / "examples" / "narration.wav"


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def weights_mib(pipe: Any) -> float:
    """Bytes of the UNet, VAE and text encoder parameters as loaded (the denominator of the target)."""
    return sum(p.numel() * p.element_size() for module in (pipe.unet, pipe.vae, pipe.text_encoder)
               for p in module.parameters()) / 2**20


def run_render(spec: dict[str, Any]) -> dict[str, Any]:
    """A short classic render (its own process); peak RSS against the weights."""
    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline
    from hear2see_desktop.core.render_job import RenderJob, RenderRequest
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.transcript import Transcript

    settings = RenderSettings(model=spec["model"], width=spec["size"], height=spec["size"], steps=2, frames=2,
                              fps=4, prompt="a lighthouse at dawn", device="cpu")
    out = Path(spec["out"])
    request = RenderRequest(NARRATION, out, settings, runs_log=out.with_suffix(".jsonl"), use_cache=False,
                            transcript=Transcript(text="a lighthouse at dawn", words=[], engine="given", model=""))
    with Timer() as wall:
        RenderJob(request).run(no_progress, never_cancelled)
    loaded = get_pipeline(resolve_model_source(spec["model"]), resolve_device("cpu"))
    return {"peak_rss_mib": peak_rss_mib(), "rss_after_mib": _rss_mib(), "weights_mib": weights_mib(loaded.pipe),
            "wall_s": wall.elapsed_s}


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Loading alone (its own process): the app's loader or diffusers' own conversion, to `dtype` on the CPU."""
    import torch

    from hear2see_desktop.core.render.devices import DeviceChoice
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import load_pipeline

    with Timer() as wall:
        if spec["way"] == "app":
            pipe = load_pipeline(resolve_model_source(spec["model"]), DeviceChoice("cpu", spec["dtype"]))
        else:
            from diffusers import StableDiffusionPipeline

            pipe = StableDiffusionPipeline.from_pretrained(
                spec["model"], torch_dtype=getattr(torch, spec["dtype"]), safety_checker=None,
                requires_safety_checker=False, local_files_only=True, feature_extractor=None)
    return {"peak_rss_mib": peak_rss_mib(), "rss_after_mib": _rss_mib(), "weights_mib": weights_mib(pipe),
            "wall_s": wall.elapsed_s}


def run_vae(spec: dict[str, Any]) -> dict[str, Any]:
    """One decode of a `size` picture from random latents, in one piece (`tile_px` 0) or in tiles of `tile_px`
    (its own process)."""
    import torch
    from diffusers import AutoencoderKL

    from hear2see_desktop.core.render.devices import DeviceChoice
    from hear2see_desktop.core.render.vae_tiling import configure_vae_tiling

    vae = AutoencoderKL.from_pretrained(str(Path(spec["model"]) / "vae"), torch_dtype=torch.float32).eval()
    if spec["tile_px"]:
        configure_vae_tiling(type("Pipe", (), {"vae": vae})(), DeviceChoice("cpu", "float32"), spec["tile_px"])
    latents = torch.randn(1, 4, spec["size"] // 8, spec["size"] // 8)
    with torch.inference_mode():
        vae.decode(latents[:, :, :8, :8])  # touch the weights first: the peak should be the decode's own
        before = _rss_mib()
        with Timer() as wall:
            vae.decode(latents)
    return {"peak_above_loaded_mib": peak_rss_mib() - before, "wall_s": wall.elapsed_s}


def in_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run([sys.executable, __file__, "--child", kind, json.dumps(spec)],
                               capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"{kind} case failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fp16-model", type=Path, help="the same model with fp16 files, for contrast")
    parser.add_argument("--sizes", default="128,512", help="comma-separated render sizes (px)")
    parser.add_argument("--vae-sizes", default="384,512,1024", help="comma-separated VAE decode sizes (px); "
                        "empty for none")
    parser.add_argument("--vae-tiles", default="0,256,384", help="comma-separated tile sizes (px) each decode is "
                        "timed with; 0 is one piece")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    model = build_random_sd15()
    machine = machine_description("cpu")
    sizes = [int(text) for text in args.sizes.split(",") if text]
    cases = [("fp32", model, size) for size in sizes]
    cases += [("fp16", args.fp16_model, sizes[0])] if args.fp16_model and sizes else []
    renders: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as work:
        for files, folder, size in cases:
            print(f"render from {files} files at {size} px", file=sys.stderr)
            renders[f"{files} {size}"] = {"files": files, "size": size, **in_child(
                "render", {"model": str(folder), "size": size, "out": str(Path(work) / f"{files}-{size}.mp4")})}
    loads: dict[str, dict[str, Any]] = {}
    if args.fp16_model:
        for files, folder, dtype in (("fp16", args.fp16_model, "float32"), ("fp32", model, "float16")):
            for way in ("library", "app"):
                print(f"load {files} files as {dtype}, {way}", file=sys.stderr)
                loads[f"{files} {dtype} {way}"] = {"files": files, "dtype": dtype, "way": way, **in_child(
                    "load", {"model": str(folder), "dtype": dtype, "way": way})}
    vae: dict[str, dict[str, Any]] = {}
    for size in (int(text) for text in args.vae_sizes.split(",") if text):
        for tile_px in (int(text) for text in args.vae_tiles.split(",")):
            if tile_px >= size:
                continue  # the same as one piece
            print(f"VAE decode at {size} px, tiles {tile_px or 'none'}", file=sys.stderr)
            vae[f"{size} {tile_px}"] = {"size": size, "tile_px": tile_px, **in_child(
                "vae", {"model": str(model), "size": size, "tile_px": tile_px})}
    render_table = Table("Classic render, 2 steps, 2 images, CPU fp32 (the app's VAE tiling)", [
        "model files", "size (px)", "weights in memory (MiB)", "peak RSS (MiB)", "peak / weights",
        "RSS after (MiB)", "wall (s)"],
        [[r["files"], str(r["size"]), fmt(r["weights_mib"], 0), fmt(r["peak_rss_mib"], 0),
          fmt(r["peak_rss_mib"] / r["weights_mib"], 2), fmt(r["rss_after_mib"], 0), fmt(r["wall_s"], 1)]
         for r in renders.values()])
    load_table = Table("Loading alone, CPU: files in one precision, weights in another", [
        "model files", "loaded as", "converted by", "weights in memory (MiB)", "peak RSS (MiB)", "peak / weights",
        "wall (s)"],
        [[r["files"], r["dtype"], "the app, a tensor at a time" if r["way"] == "app" else "diffusers, while loading",
          fmt(r["weights_mib"], 0), fmt(r["peak_rss_mib"], 0), fmt(r["peak_rss_mib"] / r["weights_mib"], 2),
          fmt(r["wall_s"], 1)] for r in loads.values()])
    vae_table = Table("One VAE decode, CPU fp32", ["size (px)", "decode", "peak above the loaded VAE (MiB)",
                                                   "wall (s)"],
                      [[str(r["size"]), f"{r['tile_px']} px tiles" if r["tile_px"] else "one piece",
                        fmt(r["peak_above_loaded_mib"], 0), fmt(r["wall_s"], 1)] for r in vae.values()])
    notes = [f"Model: {describe_model(model)}" + (f"; fp16 files: {args.fp16_model}" if args.fp16_model else ""),
             "Peak RSS from getrusage in a fresh process per case; weights = parameter bytes of UNet, VAE and text "
             "encoder as loaded. safetensors files are memory-mapped: fp32 files on the CPU are used in place "
             "(file-backed pages); fp16 files are loaded at fp16 and widened to fp32 one tensor at a time, each "
             "tensor's file pages handed back to the kernel once copied (core/render/convert_weights.py; "
             "before that, diffusers widened them while loading and the fp16 pages it had read stayed resident: "
             "1.52x). Loading alone shows both ways for fp16 files bound for fp32 (the CPU render) and for fp32 files "
             "bound for fp16 (what a GPU render loads in host memory before the weights reach the GPU: the app "
             "converts each tensor straight onto the GPU there; here the CPU stands in for it).",
             "VAE decodes: the tiles are diffusers' (a quarter overlap, blended); the app decodes in 256 px tiles on "
             "the CPU above 256 px."]
    write_results(args.out, "memory", "Memory: peak RSS against the weights, VAE tiling", notes,
                  [render_table, load_table, vae_table], {"renders": renders, "loads": loads, "vae": vae},
                  machine)
    print((args.out / "memory.md").read_text())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.path.insert(0, str(REPO_ROOT))
        result = {"render": run_render, "load": run_load, "vae": run_vae}[sys.argv[2]](json.loads(sys.argv[3]))
        print(json.dumps(result))
    else:
        main()
