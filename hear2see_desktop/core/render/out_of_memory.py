"""Whether an error is the device running out of memory, and handing memory back before a retry.

Both the memory ladder (which steps a render down and runs the unit again) and the pipeline cache (which
words a failure for the user) ask the same question, so it lives below both.
"""

from __future__ import annotations

import gc

OUT_OF_MEMORY_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")
"""What allocators say when they fail: CUDA and MPS "out of memory"; PyTorch's CPU allocator raises a plain
RuntimeError ("DefaultCPUAllocator: can't allocate memory ... (Cannot allocate memory)" on Linux, "not enough
memory" on Windows), not `torch.OutOfMemoryError`."""


def is_out_of_memory(error: BaseException) -> bool:
    """Whether `error` is an allocation failure (on any device) rather than a bug or a bad input."""
    if isinstance(error, MemoryError):
        return True
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return True
    return isinstance(error, RuntimeError) and any(marker in str(error).lower() for marker in OUT_OF_MEMORY_MARKERS)


def free_memory(device: str) -> None:
    """Collect unreachable tensors and hand the GPU allocator's cached blocks back, so a retry starts clean."""
    gc.collect()
    import torch

    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif device == "mps" and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        torch.mps.empty_cache()
