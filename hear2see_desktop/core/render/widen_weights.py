"""Half-precision model files in an fp32 render, without holding both copies at once.

safetensors files are memory-mapped: fp32 files are used in place, but fp16 (or bf16) files must be
widened for the CPU. When the library widens them while loading, every page of the half-precision file
it read stays resident beside the fp32 copy until the whole component is loaded: 1.52x the weights at
the peak (bench/results/memory.md). Loading at the files' own precision keeps the file mapped but
unread; widening one tensor at a time, and handing that tensor's file pages back to the kernel at once
(Linux `madvise`), keeps the peak near the fp32 weights alone. The pages are clean copies of the file, so
handing them back loses nothing.
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

from hear2see_desktop.core.render.model_source import ModelSource

log = logging.getLogger(__name__)

HALF_DTYPES = ("F16", "BF16")
"""safetensors dtype names of half-precision weights."""
_FLOAT_DTYPES = ("F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2")
_FOLDER_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors", "model.safetensors")
"""The weights file of each of `model_files.WEIGHTED_COMPONENTS` in a diffusers folder."""
_INDEX_TENSORS = ("position_ids",)
"""Tensors of whole numbers that some checkpoints store as fp32 beside fp16 weights (CLIP's 0..76 position
ids): exact at any precision, so they do not make a file "mixed"."""
_MADV_DONTNEED = 4  # the same number on Linux and macOS; only Linux is used (see `file_mappings`)


def half_precision_files(source: ModelSource) -> str | None:
    """"F16" or "BF16" when every floating-point weight the loader reads is stored in that half precision,
    else None: fp32 files, a mix (loading a mix at half precision would round its fp32 parts), or files
    whose headers cannot be read here (.bin folders; damaged files, which the loader refuses by itself)."""
    from hear2see_desktop.core.errors import BadInputError
    from hear2see_desktop.core.render.model_files import WEIGHTED_COMPONENTS, safetensors_header

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
    return kinds.pop() if len(kinds) == 1 and kinds <= set(HALF_DTYPES) else None


@dataclass(frozen=True)
class FileMapping:
    """One memory-mapped file region of this process, from /proc/self/maps."""

    start: int
    end: int
    path: str


def file_mappings() -> list[FileMapping]:
    """This process's private mappings of .safetensors files (Linux); empty elsewhere, where pages are not
    handed back (the widening still works, with the higher peak)."""
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


def widen(modules: Iterable[Any], dtype: Any) -> int:
    """Turn every fp16/bf16 parameter and buffer of `modules` into `dtype`, one tensor at a time, handing the
    file pages of each half-precision tensor back as soon as it is copied. Returns the bytes handed back."""
    import torch

    half = (torch.float16, torch.bfloat16)
    mappings = file_mappings()
    madvise = libc_madvise() if mappings else None
    handed_back = 0
    with torch.no_grad():
        for module in modules:
            for owner in module.modules():
                for table in (owner._parameters, owner._buffers):
                    for name, tensor in table.items():
                        if tensor is None or tensor.dtype not in half:
                            continue
                        wide = tensor.detach().to(dtype)
                        start, length = tensor.data_ptr(), tensor.numel() * tensor.element_size()
                        if isinstance(tensor, torch.nn.Parameter):
                            tensor.data = wide
                        else:
                            table[name] = wide
                        handed_back += hand_back_pages(start, length, mappings, madvise)
    return handed_back
