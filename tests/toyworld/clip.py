"""A toy CLIP trained contrastively on the toy world: the judge of what the toy pictures show.

`transformers.CLIPModel` with a small config (a 64-wide ViT on 8x8 patches of 64x64 pictures, a 64-wide
text transformer) and the real CLIP BPE tokenizer the app builds offline, so it reads prompts exactly as
the app writes them. Saved as a folder that `CLIPModel` / `CLIPProcessor.from_pretrained` and
`hear2see eval --clip-model` load offline. Zero-shot accuracy on held-out pictures is measured per
attribute (object, colour, setting, time of day) by comparing the picture with one text per candidate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tests.toyworld import world
from tests.toyworld.optim import warmup_cosine

IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIP's, as CLIPImageProcessor normalises
IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)
MAX_TOKENS = 32  # captions here are short; the saved model still takes CLIP's 77 positions
WIDTH = 64


def clip_config() -> Any:
    from transformers import CLIPConfig

    from hear2see_desktop.core.render.sd15_config import clip_merges, clip_vocab

    vocab = clip_vocab(clip_merges())
    text = {"hidden_size": WIDTH, "intermediate_size": 4 * WIDTH, "num_hidden_layers": 3, "num_attention_heads": 4,
            "vocab_size": len(vocab), "max_position_embeddings": 77, "bos_token_id": vocab["<|startoftext|>"],
            "eos_token_id": vocab["<|endoftext|>"], "pad_token_id": vocab["<|endoftext|>"]}
    vision = {"hidden_size": WIDTH, "intermediate_size": 4 * WIDTH, "num_hidden_layers": 4, "num_attention_heads": 4,
              "image_size": world.SIZE_PX, "patch_size": 8, "num_channels": 3}
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=WIDTH)


def tokenizer(folder: Path) -> Any:
    """The real CLIP BPE tokenizer, written into `folder` (vocab.json, merges.txt) and loaded from there."""
    from transformers import CLIPTokenizer

    from hear2see_desktop.core.render.sd15_config import write_clip_tokenizer_files

    write_clip_tokenizer_files(folder)
    loaded = CLIPTokenizer.from_pretrained(folder, local_files_only=True, model_max_length=77)
    loaded.save_pretrained(folder)  # tokenizer_config.json: the 77-token limit travels with the folder
    return loaded


def pixels(pictures: np.ndarray) -> torch.Tensor:
    """(n, 64, 64, 3) uint8 -> the normalised (n, 3, 64, 64) floats CLIPImageProcessor would give."""
    x = torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGE_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@dataclass
class ClipTraining:
    steps: int = 5000
    batch: int = 128
    pictures: int = 24_000
    lr: float = 2e-3
    seed: int = 0


def train_clip(folder: Path, recipe: ClipTraining | None = None, log: Any = print) -> Path:
    """Train the toy CLIP on the world's training scenes and save it (model, tokenizer, processor) in `folder`."""
    recipe = recipe or ClipTraining()
    from transformers import CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    folder.mkdir(parents=True, exist_ok=True)
    tok = tokenizer(folder)
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    data = world.examples(world.training_scenes(), recipe.pictures, seed=recipe.seed + 1)
    images = np.stack([e.picture() for e in data])
    texts = [list(e.captions) for e in data]
    model = CLIPModel(clip_config())
    optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=0.05)
    scheduler = warmup_cosine(optimiser, recipe.steps, recipe.steps // 20)
    model.train()
    for step in range(recipe.steps):
        index = rng.sample(range(len(data)), recipe.batch)
        chosen = [rng.choice(texts[i]) for i in index]
        tokens = tok([c.text for c in chosen], padding=True, truncation=True, max_length=MAX_TOKENS,
                     return_tensors="pt")
        out = model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask,
                    pixel_values=pixels(images[index]), return_loss=False)
        logits = out.logits_per_image  # [picture i, caption j]
        # Every caption that is true of a picture is a right answer for it ("boat, night" fits many).
        fits = torch.tensor([[chosen[j].fits(data[index[j]].scene, data[i].scene) for j in range(len(index))]
                             for i in index], dtype=torch.float32)
        loss = 0.5 * (torch.sum(-fits / fits.sum(1, keepdim=True) * F.log_softmax(logits, dim=1), dim=1).mean()
                      + torch.sum(-fits.T / fits.T.sum(1, keepdim=True) * F.log_softmax(logits.T, dim=1),
                                  dim=1).mean())
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        scheduler.step()
        if step % 200 == 0 or step == recipe.steps - 1:
            log(f"clip step {step}/{recipe.steps} loss {loss.item():.3f}")
    model.eval().save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": world.SIZE_PX},
                          crop_size={"height": world.SIZE_PX, "width": world.SIZE_PX}).save_pretrained(folder)
    return folder


# --- zero-shot accuracy ---------------------------------------------------------------------------

ATTRIBUTES = ("object", "colour", "setting", "time")


def _candidates(attribute: str, scene: world.Scene) -> tuple[list[str], int]:
    """The texts to choose among for `attribute` of `scene`, and the index of the right one."""
    if attribute == "object":
        options = list(world.OBJECTS)
        return options, options.index(scene.object)
    if attribute == "colour":
        options = list(world.COLOURS)
        return [f"{c} {scene.object}" for c in options], options.index(scene.colour or "")
    if attribute == "setting":
        options = list(world.SETTINGS)
        return options, options.index(scene.setting)
    options = list(world.TIMES)
    return options, options.index(scene.time)


def zero_shot_accuracy(folder: Path, count: int = 600, seed: int = 7) -> dict[str, float]:
    """Share of held-out pictures for which the right text scores highest, per attribute.

    Scored through the app's own CLIP loader (`load_clip`), so the saved folder is checked as the app
    reads it: its tokenizer, its image processor, its preprocessing.
    """
    from hear2see_desktop.core.metrics.clipsim import load_clip

    scorer = load_clip(folder)
    data = world.examples(world.evaluation_scenes(), count, seed=seed, with_app_prompts=False)
    image_features = torch.cat([scorer.image_embeddings([e.picture() for e in data[i:i + 100]])
                                for i in range(0, len(data), 100)])
    cache: dict[str, torch.Tensor] = {}

    def text_features(texts: list[str]) -> torch.Tensor:
        for text in texts:
            if text not in cache:
                cache[text] = scorer.text_embedding(text)[0]
        return torch.stack([cache[t] for t in texts])

    accuracy = {}
    for attribute in ATTRIBUTES:
        right = total = 0
        for example, features in zip(data, image_features, strict=True):
            if attribute == "colour" and example.scene.colour is None:
                continue
            texts, answer = _candidates(attribute, example.scene)
            right += int(torch.argmax(text_features(texts) @ features).item() == answer)
            total += 1
        accuracy[attribute] = right / max(1, total)
    return accuracy
