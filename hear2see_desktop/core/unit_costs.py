"""What one unit of render work costs on this machine: seconds per UNet sample, measured by earlier renders.

Every render times its first denoising steps (`SampleClock`) and keeps the seconds per UNet sample under its
device, network (the picture UNet or a motion UNet) and size in a small JSON file in the app's data folder
(`paths.unit_costs_path`), written atomically; the median of the last few measurements is the cost. A size
never rendered takes the nearest measured size's cost scaled by pixels. Before any render a device kind has a
rough default (the full-size SD 1.5 on a 2-core CPU, bench/results/compute_per_second.md; typical fp16 GPU
and Apple GPU speeds), which estimates say is rough.

Decodes and flow in-betweens are priced from the UNet sample's cost by ratios measured in the same benchmark,
so a machine's one measurement moves all of them.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hear2see_desktop.core.atomic import write_bytes_atomically

log = logging.getLogger(__name__)

REFERENCE_PIXELS = 512 * 512
ROUGH_SAMPLE_S = {"cpu": 4.0, "cuda": 0.04, "mps": 0.5}
"""Seconds per picture-UNet sample at 512 x 512 before this machine measured any (CPU: the full-size SD 1.5
fp32 on 2 cores, bench/results/compute_per_second.md; CUDA and MPS: typical fp16 speeds, rough)."""
MOTION_FACTOR = 1.3
"""A motion UNet's sample against a picture UNet's (its temporal layers on top of the same spatial ones)."""
DECODE_FACTOR = {"vae": 3.0, "taesd": 0.1}
"""A full decode against one UNet sample at the same size (the VAE: 3.2 at 512 px, 2.2 at 256 px on the CPU)."""
FLOW_FRAME_S = 0.08
"""Seconds per optical-flow in-between at 512 x 512 (flow runs on the CPU whatever the device)."""
FRAME_WRITE_S = 0.01
"""Seconds per output frame at 512 x 512 to encode into the video."""
START_S = {"cpu": 15.0, "cuda": 10.0, "mps": 15.0}
"""Loading the model and encoding the prompts, roughly."""
KEPT_MEASUREMENTS = 5
FILE_VERSION = 1
CLOCK_CALLS = 12
"""UNet calls a render times: enough steps to average, few enough to be the start of any render."""


@dataclass(frozen=True)
class SampleCost:
    """Seconds per UNet sample at `width_px` x `height_px` on a device; `measured`: from renders on this machine
    (else a rough default); `renders`: how many renders measured it."""

    seconds: float
    measured: bool
    renders: int = 0


def _key(device: str, motion: bool, width_px: int, height_px: int) -> str:
    return f"{device}/{'motion' if motion else 'image'}/{width_px}x{height_px}"


def load_costs(path: Path) -> dict[str, list[float]]:
    """The measurements kept in `path` (nothing when it is missing or unreadable: estimates fall back to rough)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("unit costs in %s unreadable (%s): starting again", path, error)
        return {}
    entries = data.get("sample_s", {}) if isinstance(data, dict) else {}
    if not isinstance(entries, dict):
        return {}
    return {str(k): [float(v) for v in values if isinstance(v, (int, float)) and v > 0]
            for k, values in entries.items() if isinstance(values, list)}


def sample_cost(costs: dict[str, list[float]], device: str, motion: bool, width_px: int,
                height_px: int) -> SampleCost:
    """The cost of one UNet sample at this size on `device`: measured here at this size, else at the nearest
    measured size scaled by pixels, else the rough default."""
    pixels = width_px * height_px
    prefix = f"{device}/{'motion' if motion else 'image'}/"
    measured = []
    for key, values in costs.items():
        if key.startswith(prefix) and values:
            w, _, h = key[len(prefix):].partition("x")
            if w.isdigit() and h.isdigit():
                measured.append((abs(int(w) * int(h) - pixels), int(w) * int(h), values))
    if measured:
        _, at_pixels, values = min(measured)
        return SampleCost(statistics.median(values) * pixels / at_pixels, True, len(values))
    rough = ROUGH_SAMPLE_S.get(device, ROUGH_SAMPLE_S["cpu"]) * (MOTION_FACTOR if motion else 1.0)
    return SampleCost(rough * pixels / REFERENCE_PIXELS, False)


def record_sample_cost(path: Path, device: str, motion: bool, width_px: int, height_px: int,
                       seconds: float) -> None:
    """Keep a render's measured seconds per UNet sample (the last `KEPT_MEASUREMENTS` per device, network and
    size), written atomically."""
    if not seconds > 0:
        return
    costs = load_costs(path)
    key = _key(device, motion, width_px, height_px)
    costs[key] = [*costs.get(key, []), round(seconds, 6)][-KEPT_MEASUREMENTS:]
    data = {"version": FILE_VERSION, "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sample_s": costs}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, json.dumps(data, indent=1).encode("utf-8"))


class SampleClock:
    """A UNet forward pre-hook that times the first `CLOCK_CALLS` calls of one denoise: the seconds between two
    calls are one step's (the UNet, the sampler, the preview), so seconds per sample is their sum over the
    samples of the calls they follow. The first call is left out (first-call allocations are not the steady
    cost), and so is everything after `max_calls` (one picture's steps: a decode and a text encode come after)."""

    def __init__(self, max_calls: int = CLOCK_CALLS) -> None:
        self.max_calls = max_calls
        self.calls: list[tuple[float, int]] = []  # (time, samples) of each timed call

    def __call__(self, _module: object, args: tuple, kwargs: dict | None = None) -> None:
        if len(self.calls) >= self.max_calls:
            return
        sample = args[0] if args else (kwargs or {}).get("sample")
        count = 1 if sample is None else int(sample.shape[0]) * (int(sample.shape[2]) if sample.ndim == 5 else 1)
        self.calls.append((time.perf_counter(), count))

    def seconds_per_sample(self) -> float | None:
        """Seconds per UNet sample over the timed steps, or None with fewer than two calls after the first."""
        timed = self.calls[1:]
        if len(timed) < 2:
            return None
        seconds = timed[-1][0] - timed[0][0]
        samples = sum(count for _, count in timed[:-1])
        return seconds / samples if seconds > 0 and samples else None


def clock_limit(steps: int) -> int:
    """How many calls to time in a render of `steps` steps: the first denoise's only."""
    return min(CLOCK_CALLS, steps)


def start_s(device: str) -> float:
    return START_S.get(device, START_S["cpu"])


def decode_factor(decoder: str) -> float:
    return DECODE_FACTOR.get(decoder, DECODE_FACTOR["vae"])


def per_frame_s(seconds_at_512: float, width_px: int, height_px: int) -> float:
    """A per-frame cost given at 512 x 512, at this size."""
    return seconds_at_512 * width_px * height_px / REFERENCE_PIXELS

