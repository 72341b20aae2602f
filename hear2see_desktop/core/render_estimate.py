"""How long a render will take on this machine, said before it starts.

The estimate is arithmetic: the render's work (render_work.py) times what each unit costs here
(unit_costs.py), plus starting up. Until a render on this device measured its UNet, the estimate is rough and
says so. The window shows it as the settings change and asks before a render above `LONG_RENDER_S`; the CLI
prints it before the model loads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hear2see_desktop.core import paths
from hear2see_desktop.core.render_work import RenderWork, plan_work
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.unit_costs import (
    FLOW_FRAME_S,
    FRAME_WRITE_S,
    decode_factor,
    load_costs,
    per_frame_s,
    sample_cost,
    start_s,
)

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.storyboard.board import Storyboard

LONG_RENDER_S = 30 * 60
"""A render estimated above this asks first, offering a draft."""
ANIMATE_CPU_MAX_PX = 256
"""Animate on a CPU above this size warns with its estimate whatever it comes to (issue 20)."""
DEVICE_WORDS = {"cpu": "this CPU", "cuda": "this GPU", "mps": "this Apple GPU"}


@dataclass(frozen=True)
class RenderEstimate:
    """A render's expected seconds on `device`, the work they come from, and whether the unit costs were
    measured on this machine (`calibrated`) or are a rough default."""

    seconds: float
    device: str
    calibrated: bool
    work: RenderWork

    @property
    def long(self) -> bool:
        """Long enough to ask before starting."""
        return self.seconds > LONG_RENDER_S

    @property
    def animate_on_cpu_too_big(self) -> bool:
        """Animate on a CPU above `ANIMATE_CPU_MAX_PX`: the user is warned whatever the estimate."""
        work = self.work
        return work.motion and self.device == "cpu" and max(work.width_px, work.height_px) > ANIMATE_CPU_MAX_PX

    def words(self) -> str:
        """One line: 'About 12 min on this CPU (rough until a first render)'."""
        where = DEVICE_WORDS.get(self.device, f"this {self.device}")
        basis = "from earlier renders" if self.calibrated else "rough until a first render"
        return f"About {format_duration(self.seconds)} on {where} ({basis})"


def format_duration(seconds: float) -> str:
    """Seconds as a person says them, to two figures at most: '40 s', '12 min', '2 h 30 min'."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{max(1, math.ceil(seconds / 5) * 5 if seconds >= 10 else math.ceil(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(round(seconds / 600) * 10, 60)
    return f"{hours} h" if rest == 0 else f"{hours} h {rest} min"


def estimate_work(work: RenderWork, device: str, costs: dict[str, list[float]]) -> RenderEstimate:
    """Seconds for `work` on `device` at `costs` (see unit_costs.py)."""
    unit = sample_cost(costs, device, work.motion, work.width_px, work.height_px)
    # Decodes are the picture model's VAE (or TAESD) in every mode, priced from its UNet's sample.
    image_unit = unit if not work.motion else sample_cost(costs, device, False, work.width_px, work.height_px)
    decode_s = image_unit.seconds * decode_factor(work.decoder)
    seconds = (start_s(device) + work.unet_samples * unit.seconds + work.decodes * decode_s
               + work.flow_frames * per_frame_s(FLOW_FRAME_S, work.width_px, work.height_px)
               + work.output_frames * per_frame_s(FRAME_WRITE_S, work.width_px, work.height_px))
    return RenderEstimate(seconds, device, unit.measured, work)


def estimate_render(settings: RenderSettings, duration_s: float, board: Storyboard | None = None,
                    audio: Audio | None = None, device: str | None = None,
                    costs_path: Path | None = None) -> RenderEstimate:
    """The estimate of rendering a narration of `duration_s` with `settings` on `device` (default: where
    `settings.device` resolves on this machine, which imports torch: call it off a window's UI thread)."""
    if device is None:
        from hear2see_desktop.core.render.devices import resolve_device

        device = resolve_device(settings.device).device
    work = plan_work(settings, duration_s, board, audio)
    return estimate_work(work, device, load_costs(costs_path or paths.unit_costs_path()))
