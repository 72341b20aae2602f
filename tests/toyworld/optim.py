"""The learning-rate schedule every toy model trains with: a linear warm-up, then a cosine to zero."""

from __future__ import annotations

import math

import torch


def warmup_cosine(optimiser: torch.optim.Optimizer, steps: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Step it once per optimiser step; `warmup` steps ramp the rate up, the rest bring it down to zero."""

    def factor(step: int) -> float:
        return min(1.0, (step + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
