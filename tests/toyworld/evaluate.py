"""Does the toy Stable Diffusion draw what it is told? Judged by the toy CLIP on held-out captions.

Captions of held-out scenes (combinations never seen in training) go through the app's prompt builder
(style 'none') and the app's own classic render path (`render_images`, its default scheduler, steps and
CFG, the default negative prompt) at 64x64; the toy CLIP then names the object among the world's seven
and the colour among its five. Random weights score chance (1/7 and 1/5).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tests.toyworld import world


@dataclass(frozen=True)
class Rendered:
    scene: world.Scene
    prompt: str
    picture: np.ndarray


def held_out_prompts(count: int, seed: int = 11) -> list[tuple[world.Scene, str]]:
    """`count` held-out scenes with an object colour said, each with the app's prompt of its plain caption."""
    rng = random.Random(seed)
    scenes = [s for s in world.evaluation_scenes() if s.colour is not None or s.object not in world.COLOURED]
    chosen = rng.sample(scenes, count)
    return [(scene, world.app_prompt(world.captions(scene, rng)[0].text)) for scene in chosen]


def render_classic(sd_folder: Path, prompts: list[str], seed: int = 1234, **overrides: Any) -> list[np.ndarray]:
    """One 64x64 picture per prompt through the app's classic path with its default settings."""
    from hear2see_desktop.core.jobs import never_cancelled, no_progress
    from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.frames import ScenePrompt, render_images
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import get_pipeline
    from hear2see_desktop.core.settings import RenderSettings

    settings = RenderSettings(model=str(sd_folder), width=world.SIZE_PX, height=world.SIZE_PX, device="cpu",
                              seed=seed, **overrides)
    loaded = get_pipeline(resolve_model_source(settings.model), resolve_device("cpu"))
    pictures: list[np.ndarray] = []
    render_images(loaded, settings, [seed + i for i in range(len(prompts))], no_progress, never_cancelled,
                  lambda _index, rgb: pictures.append(np.asarray(rgb)),
                  prompts=[ScenePrompt(p, DEFAULT_NEGATIVE) for p in prompts])
    return pictures


def named_correctly(clip_folder: Path, rendered: list[Rendered]) -> dict[str, float]:
    """Share of pictures whose object, colour (where said) and both the toy CLIP names right."""
    from hear2see_desktop.core.metrics.clipsim import load_clip
    from tests.toyworld.clip import _candidates

    scorer = load_clip(clip_folder)
    features = scorer.image_embeddings([r.picture for r in rendered])
    texts: dict[str, Any] = {}

    def best(options: list[str], picture: Any) -> int:
        for text in options:
            if text not in texts:
                texts[text] = scorer.text_embedding(text)[0]
        return int(np.argmax([float(texts[t] @ picture) for t in options]))

    objects = colours = coloured = both = 0
    for item, picture in zip(rendered, features, strict=True):
        options, answer = _candidates("object", item.scene)
        object_right = best(options, picture) == answer
        colour_right = True
        if item.scene.colour is not None:
            options, answer = _candidates("colour", item.scene)
            colour_right = best(options, picture) == answer
            colours += colour_right
            coloured += 1
        objects += object_right
        both += object_right and colour_right
    n = max(1, len(rendered))
    return {"object": objects / n, "colour": colours / max(1, coloured), "object_and_colour": both / n,
            "pictures": len(rendered)}


def sd_accuracy(sd_folder: Path, clip_folder: Path, count: int = 200, **overrides: Any) -> dict[str, float]:
    """Render `count` held-out captions and score them (see the module's docstring)."""
    chosen = held_out_prompts(count)
    pictures = render_classic(sd_folder, [prompt for _, prompt in chosen], **overrides)
    rendered = [Rendered(scene, prompt, picture) for (scene, prompt), picture in zip(chosen, pictures, strict=True)]
    return named_correctly(clip_folder, rendered)
