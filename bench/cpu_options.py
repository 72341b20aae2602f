"""Which CPU options make a UNet step faster: threads, channels-last, bf16 autocast, SDPA, batching.

One UNet step of SD-1.5 (random weights, CFG batch of 2) at each size, timed after a warm-up, with one
option changed at a time from the app's CPU setup (fp32, all cores, PyTorch's scaled-dot-product
attention, contiguous tensors). A ratio below 1 means the option is faster than the app's setup.

    .venv/bin/python bench/cpu_options.py [--sizes 256,512] [--steps 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from common import (
    DEFAULT_OUT,
    Table,
    Timer,
    build_random_sd15,
    describe_model,
    fmt,
    machine_description,
    median,
    write_results,
)


def cpu_has_bf16() -> bool:
    """AVX-512 BF16 or AMX: the CPUs on which PyTorch's bf16 matmuls are native, not emulated."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def time_steps(unet: Any, size: int, steps: int, context: Callable[[], contextlib.AbstractContextManager],
               channels_last: bool, batch: int = 2) -> list[float]:
    """Seconds per 2 samples of each of `steps` UNet calls (after one warm-up) at `size` px on `batch` latents."""
    import torch

    latents = torch.randn(batch, 4, size // 8, size // 8)
    text = torch.randn(batch, 77, 768)
    if channels_last:
        latents = latents.to(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode(), context():
        for index in range(steps + 1):
            with Timer() as timer:
                unet(latents, 500, encoder_hidden_states=text, return_dict=False)
            if index:
                times.append(timer.elapsed_s * 2 / batch)
    return times


@contextlib.contextmanager
def nothing() -> Iterator[None]:
    yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    import torch
    from diffusers import UNet2DConditionModel
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    model = build_random_sd15()
    cores = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    unet = UNet2DConditionModel.from_pretrained(str(model / "unet"), torch_dtype=torch.float32).eval()
    bf16 = cpu_has_bf16()

    def autocast_bf16() -> contextlib.AbstractContextManager:
        return torch.autocast("cpu", dtype=torch.bfloat16)

    variants: list[tuple[str, dict[str, Any]]] = [
        (f"app setup: fp32, {cores} threads, SDPA", {}),
        ("1 thread", {"threads": 1}),
        ("channels-last", {"channels_last": True}),
        ("plain attention (no SDPA)", {"attention": AttnProcessor()}),
        (f"bf16 autocast ({'native' if bf16 else 'emulated'} on this CPU)", {"context": autocast_bf16}),
        ("batch of 1 (time per 2 samples)", {"batch": 1}),
        ("batch of 4 (time per 2 samples)", {"batch": 4}),
    ]
    rows, data = [], {}
    for size in (int(text) for text in args.sizes.split(",")):
        baseline = None
        for name, change in variants:
            print(f"{size} px: {name}", file=sys.stderr)
            torch.set_num_threads(change.get("threads", cores))
            unet.set_attn_processor(change.get("attention", AttnProcessor2_0()))
            if change.get("channels_last"):
                unet.to(memory_format=torch.channels_last)
            channels_last = bool(change.get("channels_last"))
            times = time_steps(unet, size, args.steps, change.get("context", nothing), channels_last,
                               change.get("batch", 2))
            unet.to(memory_format=torch.contiguous_format)
            step_s = median(times)
            baseline = baseline or step_s
            rows.append([str(size), name, fmt(step_s, 2), fmt(step_s / baseline, 2)])
            data[f"{size} {name}"] = {"size": size, "variant": name, "step_s": times}
    torch.set_num_threads(cores)
    notes = [f"Model: {describe_model(model)} (UNet only)",
             f"One UNet call on a CFG batch of 2 latents per step; median of {args.steps} after one warm-up; "
             "ratio = the variant's step time / the app setup's at the same size (below 1: faster).",
             "The app keeps fp32 on the CPU (bf16 changes the pictures) and only adopts an option this "
             "table shows pays."]
    write_results(args.out, "cpu_options", "CPU options for a UNet step", notes,
                  [Table("UNet step time by option", ["size (px)", "variant", "s / step", "ratio"], rows)],
                  {"variants": data, "bf16_native": bf16}, machine_description("cpu"))
    print((args.out / "cpu_options.md").read_text())


if __name__ == "__main__":
    main()
