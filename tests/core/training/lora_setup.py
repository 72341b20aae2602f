"""What the LoRA training tests share: the prompt they train and render, and a render with a fixed seed."""

from __future__ import annotations

import numpy as np
import torch

PROMPT = "a red square"


def render(pipe: object, seed: int = 3) -> np.ndarray:
    """The validation picture (prompt, seed, size, steps) drawn by any loaded pipeline, as uint8 RGB."""
    generator = torch.Generator("cpu").manual_seed(seed)
    image = pipe(PROMPT, num_inference_steps=2, generator=generator, height=64, width=64,  # type: ignore[operator]
                 output_type="np").images[0]
    return (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
