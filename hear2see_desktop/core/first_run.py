"""The render settings a new user starts with, chosen by the machine.

Classic at 512 px is hours of work on a CPU for a few seconds of narration; smooth makes the same video from
a small share of the UNet samples. So a first run on a CPU starts with smooth at a draft size (the LCM-LoRA's
few steps and the TAESD decoder when they are installed), and on a GPU with smooth at SD 1.5's own 512 px. Saved
settings always win: these are only for a user who has none.
"""

from __future__ import annotations

from dataclasses import replace

from hear2see_desktop.core.choices import Decoder, Mode
from hear2see_desktop.core.settings import DEFAULT_FPS, RenderSettings

CPU_DRAFT_PX = 256
GPU_PX = 512


def first_run_settings(device: str) -> RenderSettings:
    """The defaults for `device` ('cpu', 'cuda', 'mps': where 'auto' resolved on this machine)."""
    from hear2see_desktop.core.render.lcm import installed_lcm_lora, lcm_draft
    from hear2see_desktop.core.render.taesd import installed_taesd

    smooth = RenderSettings(mode=Mode.SMOOTH, fps=DEFAULT_FPS["smooth"])
    if device != "cpu":
        return replace(smooth, width=GPU_PX, height=GPU_PX)
    draft = replace(smooth, width=CPU_DRAFT_PX, height=CPU_DRAFT_PX,
                    decoder=Decoder.TAESD if installed_taesd() is not None else Decoder.VAE)
    return lcm_draft(draft) if installed_lcm_lora() is not None else draft
