"""The samplers users can pick, by the names the CLI and GUI show."""

from __future__ import annotations

from typing import Any

from hear2see_desktop.core.errors import BadInputError

SCHEDULER_LABELS = {
    "dpmpp-2m": "DPM++ 2M",
    "euler-a": "Euler a",
    "ddim": "DDIM",
    "lcm": "LCM",
}


def make_scheduler(name: str, base_config: Any) -> Any:
    """A fresh scheduler of the named kind, built from the model's own scheduler config."""
    from diffusers import (
        DDIMScheduler,
        DPMSolverMultistepScheduler,
        EulerAncestralDiscreteScheduler,
        LCMScheduler,
    )

    if name == "dpmpp-2m":
        return DPMSolverMultistepScheduler.from_config(
            base_config, algorithm_type="dpmsolver++", solver_order=2, use_karras_sigmas=False
        )
    if name == "euler-a":
        return EulerAncestralDiscreteScheduler.from_config(base_config)
    if name == "ddim":
        return DDIMScheduler.from_config(base_config)
    if name == "lcm":
        return LCMScheduler.from_config(base_config)
    raise BadInputError(f"Unknown scheduler '{name}': use one of {', '.join(SCHEDULER_LABELS)}.")
