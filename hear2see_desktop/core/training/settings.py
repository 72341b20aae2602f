"""The hyperparameters of a LoRA training run: one dataclass that the CLI flags and the dialog fill in."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Fix
from hear2see_desktop.core.settings import DEFAULT_MODEL, DEVICES

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
"""auto: bf16 (or fp16 where bf16 is missing) autocast on a CUDA GPU, fp32 elsewhere; fp16 and bf16 also run on the
CPU when asked for (the frozen model in half the memory, but slower than fp32 there)."""
GRADIENT_CHECKPOINTING = ("auto", "on", "off")
"""Recompute activations in the backward pass (less memory, more compute, the same weights); auto: on a CUDA GPU."""


@dataclass
class TrainSettings:
    """Everything that shapes the trained weights (not where the dataset or the output are)."""

    base: str = DEFAULT_MODEL
    base_config: str | None = None  # component configs for a single-file base checkpoint
    rank: int = 16
    alpha: float | None = None  # None: the rank (a scale of 1)
    steps: int = 1000
    learning_rate: float = 1e-4
    warmup_steps: int | None = None  # None: a tenth of the steps, at most 100
    resolution: int = 512
    batch_size: int = 1
    grad_accum: int = 1
    seed: int = 0
    train_text_encoder: bool = False
    caption_prefix: str = ""  # a trigger word put before every caption
    flip: bool = True  # random horizontal flips (seeded)
    every: int = 100  # checkpoint and validation image every this many steps; 0: never
    validation_prompt: str | None = None
    validation_steps: int = 20  # denoising steps of each validation image
    device: str = "auto"
    precision: str = "auto"
    gradient_checkpointing: str = "auto"

    @property
    def lora_alpha(self) -> float:
        """The alpha in effect: the one given, else the rank."""
        return float(self.rank if self.alpha is None else self.alpha)

    @property
    def warmup(self) -> int:
        """Warm-up steps in effect (the learning rate rises linearly over them, then follows a cosine)."""
        return min(100, self.steps // 10) if self.warmup_steps is None else self.warmup_steps

    def validate(self) -> None:
        """Raise BadInputError with one sentence for the first setting out of range."""
        checks: list[tuple[bool, str | tuple[str | Fix, ...]]] = [
            (isinstance(self.rank, int) and 4 <= self.rank <= 128,
             f"The LoRA rank must be a whole number from 4 to 128 (got {self.rank})."),
            (self.alpha is None or 0 < self.alpha <= 1024,
             f"The LoRA alpha must be above 0 and at most 1024 (got {self.alpha})."),
            (1 <= self.steps <= 1_000_000, f"Steps must be between 1 and 1000000 (got {self.steps})."),
            (0 < self.learning_rate <= 1.0,
             f"The learning rate must be above 0 and at most 1 (got {self.learning_rate})."),
            (self.warmup_steps is None or 0 <= self.warmup_steps <= self.steps,
             f"Warm-up steps must be between 0 and the number of steps, {self.steps} (got {self.warmup_steps})."),
            (64 <= self.resolution <= 2048 and self.resolution % 8 == 0,
             f"The resolution must be a multiple of 8 between 64 and 2048 pixels (got {self.resolution})."),
            (1 <= self.batch_size <= 64, f"The batch size must be between 1 and 64 (got {self.batch_size})."),
            (1 <= self.grad_accum <= 128,
             f"Gradient accumulation must be between 1 and 128 steps (got {self.grad_accum})."),
            (0 <= self.seed < 2**32, f"Seed must be between 0 and {2**32 - 1} (got {self.seed})."),
            (self.every >= 0, f"Checkpoints every N steps must be 0 (never) or a number of steps (got {self.every})."),
            (1 <= self.validation_steps <= 200,
             f"Validation steps must be between 1 and 200 (got {self.validation_steps})."),
            (self.validation_prompt is None or bool(self.validation_prompt.strip()),
             "The validation prompt is empty: give the picture to draw, or leave it out."),
            (self.device in DEVICES, f"Unknown device '{self.device}': use one of {', '.join(DEVICES)}."),
            (self.precision in PRECISIONS,
             f"Unknown precision '{self.precision}': use one of {', '.join(PRECISIONS)}."),
            (self.gradient_checkpointing in GRADIENT_CHECKPOINTING,
             f"Unknown gradient checkpointing '{self.gradient_checkpointing}': use one of "
             f"{', '.join(GRADIENT_CHECKPOINTING)}."),
            (bool(self.base.strip()),
             ("No base model was given: set ", Fix("base"), " to a hub id, a diffusers folder or a .safetensors "
              "file.")),
        ]
        for ok, message in checks:
            if not ok:
                raise BadInputError(*(message if isinstance(message, tuple) else (message,)))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (checkpoints keep it to check a resumed run)."""
        return asdict(self)
