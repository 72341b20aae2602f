"""CLIPSIM: how well rendered frames match the text they were rendered from (HEAR2SEE paper, eq. 1).

CLIPSIM = 1/T * sum_t cos(f_CLIP(I_t), f_CLIP(x)): the mean cosine similarity between the CLIP image
embedding of each frame I_t and the CLIP text embedding of the prompt or transcript x. Scores lie in
[-1, 1]; with real CLIP ViT-B/32 a well-matched frame typically scores around 0.25-0.35.

The CLIP model is read from a local folder only (never downloaded here); torch and transformers are
imported inside functions so importing this module stays cheap. Everything runs on the CPU.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError
from hear2see_desktop.core.paths import models_dir

CLIP_ENV_VAR = "HEAR2SEE_CLIP_MODEL"
CLIP_DOWNLOAD_HINT = (
    "get one with `huggingface-cli download openai/clip-vit-base-patch32 --local-dir <folder>` and give it as ",
    Fix("clip_model"), f" or in the {CLIP_ENV_VAR} environment variable",
)

_CACHE: dict[str, ClipScorer] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ClipSimResult:
    """score: mean cosine similarity over frames (eq. 1); per_frame: one cosine per frame, in order;
    model: the folder the CLIP model was loaded from."""

    score: float
    per_frame: list[float]
    model: str


def _is_model_folder(folder: Path) -> bool:
    return folder.is_dir() and (folder / "config.json").is_file()


def find_clip_model(explicit: str | Path | None = None) -> Path | None:
    """The CLIP folder to use: `explicit`, else $HEAR2SEE_CLIP_MODEL, else `models_dir()/"clip"` if it holds a
    config.json. An explicit path or env value is returned as given (even if missing) so the loader can say
    where it looked; None only when nothing was set and the default folder is absent."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(CLIP_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()

    default = models_dir() / "clip"
    return default if _is_model_folder(default) else None


def _image_processor_class() -> Any:
    """The torchvision-backed CLIPImageProcessor when torchvision is installed, else the PIL one (no warning)."""
    import transformers

    if importlib.util.find_spec("torchvision") is None and hasattr(transformers, "CLIPImageProcessorPil"):
        return transformers.CLIPImageProcessorPil
    return transformers.CLIPImageProcessor


def _features(output: Any) -> Any:
    """get_*_features returns a tensor (transformers 4) or an output whose pooler_output is projected (5)."""
    return output if hasattr(output, "norm") else output.pooler_output


def _check_frame(frame: np.ndarray) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise BadInputError(f"Expected HxWx3 uint8 RGB frames, got an array of shape {arr.shape} and type {arr.dtype}.")
    return np.ascontiguousarray(arr)


def _batches(frames: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(_check_frame(frame))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class ClipScorer:
    """A loaded CLIP model, tokenizer and image processor that score frames against text on the CPU."""

    def __init__(self, model: Any, tokenizer: Any, image_processor: Any, name: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.name = name
        limit = int(getattr(model.config.text_config, "max_position_embeddings", 77))
        tokenizer_limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < limit:
            limit = tokenizer_limit
        self.max_length = limit
        self._lock = threading.Lock()

    def text_embedding(self, text: str) -> Any:
        """The L2-normalised CLIP text embedding (1 x D), text truncated to the model's max length."""
        import torch

        if not text or not text.strip():
            raise BadInputError("The text to compare frames with is empty; give a prompt or transcript.")
        tokens = self.tokenizer([text], truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")
        with torch.inference_mode():
            features = _features(
                self.model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
            )
        return torch.nn.functional.normalize(features.float(), dim=-1)

    def image_embeddings(self, frames: list[np.ndarray]) -> Any:
        """L2-normalised CLIP image embeddings (N x D) for a list of HxWx3 uint8 RGB frames."""
        import torch
        from PIL import Image

        images = [Image.fromarray(frame, mode="RGB") for frame in frames]
        pixels = self.image_processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            features = _features(self.model.get_image_features(pixel_values=pixels))
        return torch.nn.functional.normalize(features.float(), dim=-1)

    def clipsim(self, frames: Iterable[np.ndarray], text: str, batch_size: int = 8) -> ClipSimResult:
        """Eq. 1: the mean over frames of cos(image embedding, text embedding); frames are RGB HxWx3 uint8."""
        if batch_size < 1:
            raise BadInputError(f"batch_size must be at least 1, got {batch_size}.")
        with self._lock:
            text_vec = self.text_embedding(text)
            per_frame: list[float] = []
            for batch in _batches(frames, batch_size):
                sims = self.image_embeddings(batch) @ text_vec[0]
                per_frame.extend(float(value) for value in sims.clamp(-1.0, 1.0).tolist())
        if not per_frame:
            raise BadInputError("No frames to score; CLIPSIM needs at least one frame.")
        return ClipSimResult(score=float(np.mean(per_frame)), per_frame=per_frame, model=self.name)


def load_clip(path: str | Path) -> ClipScorer:
    """Load a CLIP model folder (config.json, weights, tokenizer, preprocessor config) offline, once per path."""
    folder = Path(path).expanduser()
    key = str(folder.resolve())
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        if not _is_model_folder(folder):
            raise ModelMissingError(f"No CLIP model found at {folder} (looked for config.json); ", *CLIP_DOWNLOAD_HINT,
                                    ".")
        try:
            import torch
            from transformers import CLIPModel, CLIPTokenizer

            model = CLIPModel.from_pretrained(folder, local_files_only=True, dtype=torch.float32)
            model.to("cpu").eval()
            tokenizer = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
            image_processor = _image_processor_class().from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelMissingError(
                f"The folder {folder} is not a usable CLIP model ({type(exc).__name__}); ", *CLIP_DOWNLOAD_HINT, "."
            ) from exc
        scorer = ClipScorer(model, tokenizer, image_processor, name=key)
        _CACHE[key] = scorer
        return scorer
