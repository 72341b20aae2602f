"""A tiny random CLIP model folder (~60k parameters) that `load_clip` reads offline, for CLIPSIM tests.

Same files as a real `openai/clip-vit-base-patch32` download (config.json + weights, vocab.json + merges.txt,
preprocessor_config.json), but 2-layer 32-wide towers, a 32x32 ViT with 8x8 patches and a miniature
byte-level BPE vocabulary. The tokenizer files come from `tests.tiny_tokenizer`, shared with the
tiny SD pipeline. Nothing here downloads.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPModel

from tests.tiny_tokenizer import BOS_TOKEN, EOS_TOKEN, TINY_MAX_LENGTH, tiny_vocab, write_tiny_tokenizer_files

TINY_IMAGE_SIZE = 32
TINY_VOCAB_SIZE = 600  # the model's embedding rows; the shared tiny vocabulary uses fewer


def tiny_clip_config() -> CLIPConfig:
    """A CLIPConfig with 2-layer, 32-wide, 4-head text and vision towers and 16-dim projections."""
    vocab = tiny_vocab()
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
    write_tiny_tokenizer_files(folder)
    # The PIL processor needs no torchvision; its config is the same "CLIPImageProcessor" a real repo ships.
    CLIPImageProcessorPil(
        size={"shortest_edge": TINY_IMAGE_SIZE}, crop_size={"height": TINY_IMAGE_SIZE, "width": TINY_IMAGE_SIZE}
    ).save_pretrained(folder)
    return folder
