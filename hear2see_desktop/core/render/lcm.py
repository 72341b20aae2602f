"""The 4-step draft: SD 1.5 with the LCM-LoRA, sampled by the LCM scheduler without CFG.

A latent-consistency LoRA lets SD 1.5 make a usable picture in 4 steps, and at guidance 1 each step
is a single UNet sample: a draft costs 4 samples per image where the default costs 2 x 25. The
LoRA is the catalogue's `lcm-lora-sd15` (`hear2see models download lcm-lora-sd15`).

Animate's draft is AnimateLCM: its own motion module and LoRA (distilled together, so the image LCM-LoRA
does not go with a motion model), 6 LCM steps at guidance 2 as its authors sample it: 12 UNet samples per
frame of the clip where the default costs 50. Both come from the catalogue (`animatelcm`, `animatelcm-lora`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.models.catalogue import find_entry
from hear2see_desktop.core.models.registry import model_state
from hear2see_desktop.core.settings import LoraSpec, RenderSettings

LCM_ENTRY = "lcm-lora-sd15"
LCM_STEPS = 4
LCM_CFG = 1.0
ANIMATE_LCM_ENTRIES = ("animatelcm", "animatelcm-lora")
ANIMATE_LCM_STEPS = 6
ANIMATE_LCM_CFG = 2.0
ANIMATE_LCM_LORA_WEIGHT = 0.8
"""AnimateLCM's LoRA strength in its authors' examples (diffusers' AnimateLCM section uses the same)."""


def _installed(name: str) -> Path | None:
    try:
        state = model_state(find_entry(name))
    except BadInputError:  # a custom catalogue without it
        return None
    return state.path if state.installed else None


def installed_lcm_lora() -> Path | None:
    """The installed LCM-LoRA file, or None when it is not downloaded."""
    return _installed(LCM_ENTRY)


def installed_animate_lcm() -> tuple[Path, Path] | None:
    """The installed AnimateLCM motion module folder and LoRA file, or None unless both are downloaded."""
    motion, lora = (_installed(name) for name in ANIMATE_LCM_ENTRIES)
    return (motion, lora) if motion is not None and lora is not None else None


def lcm_draft(settings: RenderSettings) -> RenderSettings:
    """`settings` as a 4-step LCM draft: the LCM-LoRA added (once) at weight 1, LCM sampling, no CFG; in animate
    mode, AnimateLCM's draft (see the module docstring)."""
    if settings.mode == "animate":
        return _animate_lcm_draft(settings)
    lora = installed_lcm_lora()
    if lora is None:
        raise ModelMissingError(
            "The 4-step draft needs the LCM-LoRA: run `hear2see models download lcm-lora-sd15` (135 MB)."
        )
    return replace(settings, loras=[*_other_loras(settings), LoraSpec(str(lora), 1.0)], scheduler="lcm",
                   steps=LCM_STEPS, cfg=LCM_CFG)


def _animate_lcm_draft(settings: RenderSettings) -> RenderSettings:
    installed = installed_animate_lcm()
    if installed is None:
        raise ModelMissingError(
            "The animate draft needs AnimateLCM: run `hear2see models download animatelcm` and `hear2see models "
            "download animatelcm-lora` (about 1 GB together).")
    motion, lora = installed
    return replace(settings, motion_model=str(motion), scheduler="lcm", steps=ANIMATE_LCM_STEPS, cfg=ANIMATE_LCM_CFG,
                   loras=[*_other_loras(settings), LoraSpec(str(lora), ANIMATE_LCM_LORA_WEIGHT)])


def _other_loras(settings: RenderSettings) -> list[LoraSpec]:
    """The user's LoRAs without any draft LoRA (added once, and never the image one beside a motion model)."""
    drafts = {path.resolve() for path in (installed_lcm_lora(), *(installed_animate_lcm() or ())) if path is not None}
    return [spec for spec in settings.loras if Path(spec.path).expanduser().resolve() not in drafts]
