"""Tiny TorchScript stand-ins for the FVD and IS feature models, saved under the published file names.

They take the calls the real files take (StyleGAN-V's `i3d_torchscript.pt`, StyleGAN2-ADA's
`inception-2015-12-05.pt`) and assert the input conventions the real ones rely on (I3D: float32 in
[-1, 1] when `rescale=False`; Inception: uint8), so a test that passes here feeds the real models right.
Their features are fixed random projections of pooled pixels: cheap, deterministic, and different for
different-looking videos. Nothing here downloads.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from hear2see_desktop.core.metrics.feature_models import I3D_FILE, INCEPTION_FILE

TINY_I3D_DIM = 24
TINY_INCEPTION_CLASSES = 10


class TinyI3D(nn.Module):
    """videos [B, 3, T, H, W] -> features [B, TINY_I3D_DIM]: 4x4x4 average pooling, then a fixed projection."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("projection", torch.randn(3 * 4 * 4 * 4, TINY_I3D_DIM, generator=generator))

    def forward(self, videos: torch.Tensor, rescale: bool = False, resize: bool = False,
                return_features: bool = False) -> torch.Tensor:
        assert videos.dim() == 5 and videos.shape[1] == 3, "expected [B, 3, T, H, W]"
        x = videos.float()
        if rescale:
            x = x / 127.5 - 1.0
        else:
            assert videos.dtype == torch.float32, "expected float32 videos"
            assert bool(x.min() >= -1.0) and bool(x.max() <= 1.0), "expected values in [-1, 1]"
        if resize:
            x = F.interpolate(x, size=[x.shape[2], 16, 16], mode="trilinear", align_corners=False)
        features = F.adaptive_avg_pool3d(x, [4, 4, 4]).flatten(1) @ self.projection
        if return_features:
            return features
        return torch.softmax(features, dim=1)


class TinyInception(nn.Module):
    """uint8 images [B, 3, H, W] -> softmax over TINY_INCEPTION_CLASSES from per-channel mean and spread."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("weight", 12.0 * torch.randn(6, TINY_INCEPTION_CLASSES, generator=generator))
        self.register_buffer("bias", torch.randn(TINY_INCEPTION_CLASSES, generator=generator))

    def forward(self, images: torch.Tensor, no_output_bias: bool = False) -> torch.Tensor:
        assert images.dtype == torch.uint8, "expected uint8 images"
        assert images.dim() == 4 and images.shape[1] == 3, "expected [B, 3, H, W]"
        x = images.float() / 255.0
        stats = torch.cat([x.mean(dim=[2, 3]), x.std(dim=[2, 3])], dim=1)
        logits = stats @ self.weight
        if not no_output_bias:
            logits = logits + self.bias
        return torch.softmax(logits, dim=1)


def _script(module: nn.Module) -> torch.jit.ScriptModule:
    """TorchScript, the format of the published files (torch.jit's deprecation notice does not apply to them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(module.eval())


def save_tiny_i3d(folder: Path) -> Path:
    """Script TinyI3D and save it as `folder/i3d_torchscript.pt`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / I3D_FILE
    _script(TinyI3D()).save(str(path))
    return path


def save_tiny_inception(folder: Path) -> Path:
    """Script TinyInception and save it as `folder/inception-2015-12-05.pt`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / INCEPTION_FILE
    _script(TinyInception()).save(str(path))
    return path


def save_tiny_feature_models(folder: Path) -> Path:
    """Both tiny models in `folder`, ready for --feature-models; returns the folder."""
    save_tiny_i3d(folder)
    save_tiny_inception(folder)
    return folder
