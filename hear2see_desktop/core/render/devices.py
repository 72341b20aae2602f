"""Choosing where a render runs and in what precision."""

from __future__ import annotations

import os
from dataclasses import dataclass

from hear2see_desktop.core.errors import BadInputError, Fix


@dataclass(frozen=True)
class DeviceChoice:
    """A torch device name and the dtype name the pipeline runs in there."""

    device: str
    dtype_name: str  # "float16" on CUDA, "float32" elsewhere


def resolve_device(requested: str) -> DeviceChoice:
    """Map auto|cpu|cuda|mps to what this machine has: CUDA fp16, MPS fp16, else CPU fp32."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            requested = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            requested = "mps"
        else:
            requested = "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise BadInputError("CUDA was asked for but this machine has no usable NVIDIA GPU: use ", Fix("device", "cpu"),
                            " or ", Fix("device", "auto"), ".")
    if requested == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise BadInputError("MPS was asked for but this machine has no Apple GPU: use ", Fix("device", "cpu"), " or ",
                            Fix("device", "auto"), ".")
    if requested == "cpu":
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        return DeviceChoice("cpu", "float32")
    if requested in ("cuda", "mps"):
        return DeviceChoice(requested, "float16")
    raise BadInputError(f"Unknown device '{requested}': use auto, cpu, cuda or mps.")
