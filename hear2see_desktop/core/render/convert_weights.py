"""Model files in another precision (or for another device) than the render's, without two copies at once.

safetensors files are memory-mapped: fp32 files on the CPU are used in place, but fp16 files must be
widened for an fp32 CPU render, and fp32 files narrowed for a GPU's fp16. When the library converts them
while loading, every page of the file it read stays resident beside the converted copy until the whole
component is loaded: 1.52x the weights at the peak for fp16 files on the CPU (bench/results/memory.md),
and the same for fp32 files bound for a GPU, in host memory, before anything reaches the GPU. Loading at
the files' own precision keeps the file mapped but unread; converting one tensor at a time straight to its
device and precision, and handing that tensor's file pages back to the kernel at once (Linux `madvise`),
keeps the peak near the converted weights alone. The pages are clean copies of the file, so handing them
back loses nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.render.model_files import WEIGHTED_COMPONENTS
from hear2see_desktop.core.render.model_source import ModelSource
from hear2see_desktop.core.weights_format import safetensors_header

log = logging.getLogger(__name__)

TORCH_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
"""safetensors dtype names of the precisions a model is loaded in, and their torch names."""
_FLOAT_DTYPES = ("F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2")
_FOLDER_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors", "model.safetensors")
"""The weights file of each of `model_files.WEIGHTED_COMPONENTS` in a diffusers folder."""
_INDEX_TENSORS = ("position_ids",)
"""Tensors of whole numbers that some checkpoints store as fp32 beside fp16 weights (CLIP's 0..76 position
ids): exact at any precision, so they do not make a file "mixed"."""
_MADV_DONTNEED = 4  # the same number on Linux and macOS; only Linux is used (see `file_mappings`)


def files_precision(source: ModelSource) -> str | None:
    """The one safetensors dtype ("F32", "F16", "BF16") every floating-point weight the loader reads is stored
    in, else None: a mix (loading a mix at one precision would round its wider parts), or files whose headers
    cannot be read here (.bin folders; damaged files, which the loader refuses by itself)."""

    if source.kind == "single_file":
        files = [source.path]
    else:
        files = [source.path / part / name for part, name in zip(WEIGHTED_COMPONENTS, _FOLDER_WEIGHTS, strict=True)]
    kinds: set[str] = set()
    for path in files:
        if not path.is_file():
            return None
        try:
            header = safetensors_header(path, "The checkpoint")
        except BadInputError:
            return None
        kinds |= {info.get("dtype") for name, info in header.items()
                  if name != "__metadata__" and isinstance(info, dict) and info.get("dtype") in _FLOAT_DTYPES
                  and not name.endswith(_INDEX_TENSORS)}
    return kinds.pop() if len(kinds) == 1 and kinds <= set(TORCH_DTYPES) else None


@dataclass(frozen=True)
class FileMapping:
    """One memory-mapped file region of this process, from /proc/self/maps."""

    start: int
    end: int
    path: str


def file_mappings() -> list[FileMapping]:
    """This process's private mappings of .safetensors files (Linux); empty elsewhere, where pages are not
    handed back (the conversion still works, with the higher peak)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].endswith(".safetensors") and fields[1].endswith("p"):
            start, end = (int(value, 16) for value in fields[0].split("-"))
            found.append(FileMapping(start, end, fields[5]))
    return found


def libc_madvise() -> Any | None:
    """The C library's madvise, or None where it cannot be loaded."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    function = libc.madvise
    function.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    function.restype = ctypes.c_int
    return function


def hand_back_pages(start: int, length: int, mappings: list[FileMapping], madvise: Any) -> int:
    """Drop the whole pages of `start`..`start+length` from this process when they lie in a file mapping:
    they were read from the file and are read again from it if touched. Returns the bytes handed back.

    Anything not inside one file mapping (anonymous memory, whose pages would come back as zeros) is left
    alone, and so are the partial pages at either end, which neighbouring tensors may share."""
    end = start + length
    if madvise is None or not any(m.start <= start and end <= m.end for m in mappings):
        return 0
    page = mmap.PAGESIZE
    first = -(-start // page) * page
    last = end // page * page
    if last <= first:
        return 0
    if madvise(first, last - first, _MADV_DONTNEED) != 0:
        log.debug("madvise failed with errno %d", ctypes.get_errno())
        return 0
    return last - first


def convert(modules: Iterable[Any], dtype: Any, device: str = "cpu") -> int:
    """Put every parameter and buffer of `modules` on `device`, floating-point ones in `dtype`, one tensor at a
    time, handing the file pages of each converted tensor back as soon as it is copied. Returns the bytes
    handed back."""
    import torch

    target = torch.device(device)
    mappings = file_mappings()
    madvise = libc_madvise() if mappings else None
    handed_back = 0
    with torch.no_grad():
        for module in modules:
            for owner in module.modules():
                for table in (owner._parameters, owner._buffers):
                    for name, tensor in table.items():
                        if tensor is None:
                            continue
                        wanted = dtype if tensor.is_floating_point() else tensor.dtype
                        if tensor.dtype == wanted and tensor.device == target:
                            continue
                        converted = tensor.detach().to(device=target, dtype=wanted)
                        start, length = tensor.data_ptr(), tensor.numel() * tensor.element_size()
                        if isinstance(tensor, torch.nn.Parameter):
                            tensor.data = converted
                        else:
                            table[name] = converted
                        handed_back += hand_back_pages(start, length, mappings, madvise)
    return handed_back
