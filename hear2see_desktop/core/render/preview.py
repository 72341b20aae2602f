"""Cheap RGB previews of SD latents while a frame is still being denoised.

A fixed linear map from the 4 SD-1.5 latent channels to RGB approximates what the VAE would
decode, at no model cost, so every step can show something. The coefficients are a least-squares
fit of decoded colours against latents that is commonly used for SD 1.x previews.
"""

from __future__ import annotations

import numpy as np

# Rows: latent channels 0..3; columns: R, G, B.
_LATENT_TO_RGB = np.array(
    [
        [0.298, 0.207, 0.208],
        [0.187, 0.286, 0.173],
        [-0.158, 0.189, 0.264],
        [-0.184, -0.271, -0.473],
    ],
    dtype=np.float32,
)


def latents_to_rgb(latents: np.ndarray) -> np.ndarray:
    """Map one latent (4, h, w) float array to an (h, w, 3) uint8 RGB preview."""
    if latents.ndim != 3 or latents.shape[0] != 4:
        raise ValueError(f"expected latents of shape (4, h, w), got {latents.shape}")
    rgb = np.tensordot(latents.astype(np.float32), _LATENT_TO_RGB, axes=([0], [0]))  # (h, w, 3)
    rgb = (rgb + 1.0) * 0.5
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
