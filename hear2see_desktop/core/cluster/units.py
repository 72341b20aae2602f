"""A render cut into units along the plan's own seams, and what a worker needs to render any of them.

Each unit names the frame cache keys it produces, computed on the client with the same functions the
renderers use (`mode_renderers.classic_plan`, `sequence.keyframe_cache_key`, `sequence.segment_inbetween_keys`)
and the client's cache identity, so the client's ordinary render finds a unit's results under the keys it
asks for. Classic: one unit per image. Smooth and fast: one unit per keyframe; smooth adds one per segment
between two keyframes, which needs both keyframes' latents and pictures (`needs`). Fast mode's flow
in-betweens need no UNet: the client makes them from the keyframes. Animate: one unit, the whole clip (its
latents and its decoded native frames). Its clip is one denoise whose context windows share every step, so
splitting it by window or scene would change its pixels; the client makes the output frames (flow
in-betweens, onset pulses) from the worker's pictures.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from hear2see_desktop.core.motion.plan import FramePlan
from hear2see_desktop.core.render.events import DenoiseStep
from hear2see_desktop.core.render.frames import ScenePrompt
from hear2see_desktop.core.settings import RenderSettings

if TYPE_CHECKING:
    from hear2see_desktop.core.render.animate import AnimateWork

UnitKind = Literal["classic", "keyframe", "segment", "clip"]


@dataclass(frozen=True)
class ModelFile:
    """Weights (or a config folder) a worker must hold: the client's path and the SHA-256 of its contents."""

    path: str
    sha256: str
    weights: bool = True  # False: a folder of configs, found by its files' hash (`folder_sha256`)


@dataclass(frozen=True)
class ClassicWork:
    """Classic images by index: their seeds, prompts and cache keys."""

    seeds: list[int]
    prompts: list[ScenePrompt]
    keys: list[str]


@dataclass(frozen=True)
class SequenceWork:
    """Smooth or fast: the frame plan and each scene's prompt."""

    plan: FramePlan
    prompts: list[ScenePrompt]


@dataclass(frozen=True)
class RenderSpec:
    """What every unit of one render shares: sent once per worker and unit as a Ray object reference.

    `identity` is the client's frame cache identity: the keys depend on it (model fingerprints by path and
    time), so a worker uses it as given rather than computing its own."""

    render_id: str
    settings: RenderSettings
    model: ModelFile
    model_kind: str
    config: ModelFile | None
    loras: list[tuple[ModelFile, float]]
    identity: dict[str, Any]
    cpu_threads: int = 1  # the client's torch threads: on a CPU, how a matmul's sums are split changes the last bit
    classic: ClassicWork | None = None
    sequence: SequenceWork | None = None
    motion: ModelFile | None = None  # animate's motion model, and its kind ("diffusers" or "single_file")
    motion_kind: str = ""
    animate: AnimateWork | None = None

    def model_files(self) -> list[ModelFile]:
        """Every file or folder a worker needs for this render."""
        files = [self.model, *(lora for lora, _weight in self.loras)]
        return files + [file for file in (self.config, self.motion) if file is not None]


@dataclass(frozen=True)
class Unit:
    """One piece of a render a worker runs alone: `index` is the image (classic), keyframe or segment start."""

    id: int
    kind: UnitKind
    index: int
    produces: tuple[str, ...]
    needs: tuple[str, ...] = ()


@dataclass
class UnitResult:
    """What a unit made, by cache key: pictures (RGB uint8) and latents (float32), its UNet work, and the
    seconds the worker spent on it."""

    images: dict[str, np.ndarray] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    unet_samples: int = 0
    unet_calls: int = 0
    render_s: float = 0.0

    @property
    def nbytes(self) -> int:
        """The pictures' and latents' bytes: what crosses the network with this result."""
        return sum(a.nbytes for a in self.images.values()) + sum(a.nbytes for a in self.arrays.values())


PREVIEW_MAX_PX = 256
"""The longest side of a step preview a worker sends: a TAESD preview of a 512 px frame is 768 KB, four times a
second per worker, on a link the finished frames need more."""


@dataclass(frozen=True)
class UnitStep:
    """A unit's latest denoising step on its worker, for the client to show while it waits: the step as a local
    render hears it (its image or keyframe index, step, steps and preview), and `heard`, which numbers the steps
    the worker heard for the render, so the client asks only for newer ones."""

    unit: int
    kind: UnitKind
    step: DenoiseStep
    heard: int
    worker: str = ""


def classic_units(work: ClassicWork, done: set[str]) -> list[Unit]:
    """One unit per image not yet in the frame cache (`done`)."""
    return [Unit(i, "classic", i, (key,)) for i, key in enumerate(work.keys) if key not in done]


def sequence_units(settings: RenderSettings, work: SequenceWork, identity: dict[str, Any],
                   done: set[str]) -> list[Unit]:
    """A unit per keyframe, and in smooth mode per segment, whose results are not all in the frame cache."""
    from hear2see_desktop.core.render.sequence import keyframe_cache_key, segment_inbetween_keys

    count = len(work.plan.keyframes)
    keyframes = [keyframe_cache_key(settings, work.plan, work.prompts, identity, i) for i in range(count)]
    units = [Unit(i, "keyframe", i, (key,)) for i, key in enumerate(keyframes) if key not in done]
    for a in range(count - 1):
        inbetweens = segment_inbetween_keys(settings, work.plan, work.prompts, identity, a)
        if inbetweens and not set(inbetweens) <= done:
            units.append(Unit(count + a, "segment", a, tuple(inbetweens), (keyframes[a], keyframes[a + 1])))
    return units


def clip_units(work: AnimateWork, done: set[str]) -> list[Unit]:
    """Animate's one unit, the whole clip, unless the frame cache holds its latents and every picture."""
    keys = (work.clip_key, *work.frame_keys())
    return [] if set(keys) <= done else [Unit(0, "clip", 0, keys)]


def folder_sha256(path: Path) -> str:
    """SHA-256 of a small folder's files and names (a single-file model's config folder)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode("utf-8"))
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def files_of(path: Path) -> dict[str, bytes]:
    """A model's bytes by relative name ("" for a single file): what is sent to a worker that lacks it."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(file.relative_to(path)): file.read_bytes() for file in sorted(path.rglob("*")) if file.is_file()}
