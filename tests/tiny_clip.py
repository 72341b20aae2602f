"""A tiny random CLIP model folder (~60k parameters) that `load_clip` reads offline, for CLIPSIM tests.

Same files as a real `openai/clip-vit-base-patch32` download (config.json + weights, vocab.json + merges.txt,
preprocessor_config.json), but 2-layer 32-wide towers, a 32x32 ViT with 8x8 patches and a miniature
byte-level BPE vocabulary. The tokenizer files follow `tests.tiny_pipeline.write_tiny_tokenizer_files`, written
here again because importing that module pulls in diffusers (~6 s). Nothing here downloads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPModel

TINY_IMAGE_SIZE = 32
TINY_MAX_LENGTH = 77
TINY_VOCAB_SIZE = 600
BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
_MERGES = ("t h", "th e</w>", "a n", "an d</w>", "i n", "in g</w>", "e r", "o n", "r e", "f o", "fo x</w>")


def _byte_chars() -> list[str]:
    """GPT-2/CLIP's reversible byte -> printable character table, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    extra = 0
    for byte in range(256):
        if byte not in table:
            table[byte] = chr(256 + extra)
            extra += 1
    return [table[byte] for byte in range(256)]


def tiny_clip_vocab() -> dict[str, int]:
    """Bytes, bytes + "</w>", merge results, then the two specials (the CLIP vocabulary layout)."""
    chars = _byte_chars()
    tokens = [*chars, *(char + "</w>" for char in chars), *("".join(m.split(" ")) for m in _MERGES)]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    vocab = {token: index for index, token in enumerate(dict.fromkeys(tokens))}
    assert len(vocab) <= TINY_VOCAB_SIZE
    return vocab


def write_tiny_clip_tokenizer(folder: Path) -> None:
    """vocab.json + merges.txt + tokenizer_config.json, as the openai CLIP repos ship them."""
    (folder / "vocab.json").write_text(json.dumps(tiny_clip_vocab(), ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(_MERGES) + "\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": TINY_MAX_LENGTH,
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
        "unk_token": EOS_TOKEN,
        "pad_token": EOS_TOKEN,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def tiny_clip_config() -> CLIPConfig:
    """A CLIPConfig with 2-layer, 32-wide, 4-head text and vision towers and 16-dim projections."""
    vocab = tiny_clip_vocab()
    common = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
    text_config = {
        **common,
        "vocab_size": TINY_VOCAB_SIZE,
        "max_position_embeddings": TINY_MAX_LENGTH,
        "bos_token_id": vocab[BOS_TOKEN],
        "eos_token_id": vocab[EOS_TOKEN],
        "pad_token_id": vocab[EOS_TOKEN],
    }
    vision_config = {**common, "image_size": TINY_IMAGE_SIZE, "patch_size": 8, "num_channels": 3}
    return CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=16)


def save_tiny_clip(folder: Path | str, seed: int = 0) -> Path:
    """Write a random tiny CLIP model, its tokenizer files and a 32x32 image-processor config into `folder`."""
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    CLIPModel(tiny_clip_config()).eval().save_pretrained(folder)
    write_tiny_clip_tokenizer(folder)
    # The PIL processor needs no torchvision; its config is the same "CLIPImageProcessor" a real repo ships.
    CLIPImageProcessorPil(
        size={"shortest_edge": TINY_IMAGE_SIZE}, crop_size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE}
    ).save_pretrained(folder)
    return folder
