"""How the window names a setting that mends an error: by the field the user sees, not by a CLI flag.

Core errors carry their remedies as `Fix(setting, value)` (core/errors.py); this is the window's wording
of them ("use “Device: cpu”" where the CLI says "use --device cpu").
"""

from __future__ import annotations

from hear2see_desktop.core.errors import Fix, Hear2SeeError

FIELD_LABELS = {
    "device": "Device",
    "model": "Model",
    "model_config": "Model config",
    "loras": "LoRA",
    "prompt": "Prompt",
    "asr_model": "Speech model",
    "steps": "Steps",
    "width": "Size",
    "height": "Size",
    "mode": "Mode",
    "motion_model": "Motion model",
    "decoder": "Decoder",
    # the training dialog's fields
    "base": "Base model",
    "base_config": "Base config",
    "resume": "Resume",
    "resolution": "Resolution",
    "batch_size": "Batch",
    "grad_accum": "Grad. accumulation",
    "every": "Every N steps",
    "precision": "Precision",
    "learning_rate": "Learning rate",
    "clip_model": "CLIP model",
    "trust": "Yes, I trust it",  # the models dialog's question before a pickle-based import
}


def field_words(fix: Fix) -> str:
    """A fix as the settings panel shows it: “Device: cpu”, or the field alone when any value will do."""
    label = FIELD_LABELS.get(fix.setting, fix.setting.replace("_", " ").capitalize())
    return f"“{label}”" if fix.value is None else f"“{label}: {fix.value}”"


def sentence(error: BaseException) -> str:
    """The one sentence the window shows for an error: a Hear2SeeError worded with the window's field names."""
    return error.worded(field_words) if isinstance(error, Hear2SeeError) else str(error)
