"""The tiny byte-level BPE CLIP tokenizer files shared by the tiny SD pipeline and the tiny CLIP model.

Kept apart from tests/tiny_pipeline.py so tests that only need a tokenizer (CLIPSIM) do not import diffusers.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_VOCAB_SIZE = 1000
TINY_MAX_LENGTH = 77
BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"

# A few merges for common English letter pairs so prompts become multi-character tokens, as in real CLIP.
# Each merge's result is added to the vocabulary (the BPE model refuses merges whose result is missing).
_MERGES = (
    "t h",
    "th e</w>",
    "a n",
    "an d</w>",
    "i n",
    "in g</w>",
    "e r",
    "e r</w>",
    "o n",
    "r e",
    "e d</w>",
    "o u",
    "f o",
    "fo x</w>",
    "a t",
    "s t",
)


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table that byte-level BPE vocabularies use."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return dict(sorted(table.items()))


def tiny_vocab() -> dict[str, int]:
    """The CLIP vocabulary layout in miniature: bytes, bytes + "</w>", merge results, then the specials."""
    chars = list(_byte_to_unicode().values())
    tokens = [*chars, *(char + "</w>" for char in chars)]
    tokens += ["".join(merge.split(" ")) for merge in _MERGES]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    assert len(vocab) <= TINY_VOCAB_SIZE
    return vocab


def write_tiny_tokenizer_files(folder: Path) -> Path:
    """Write vocab.json + merges.txt (+ tokenizer_config.json) the way the SD 1.5 repo ships its tokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(tiny_vocab(), ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(_MERGES) + "\n", encoding="utf-8")
    tokenizer_config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": TINY_MAX_LENGTH,
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "unk_token": EOS_TOKEN,
        "pad_token": EOS_TOKEN,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
    return folder
