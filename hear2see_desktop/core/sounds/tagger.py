"""The sound-event tagger: an AudioSet audio classifier read from a local transformers folder.

Any `AutoModelForAudioClassification` folder with its feature extractor works (the catalogue's entry is an
Audio Spectrogram Transformer fine-tuned on AudioSet). AudioSet is multi-label, so each class gets its own
sigmoid score. Only safetensors weights are read: a folder with pickle weights alone is refused, since a
pickle can run code when it is loaded. torch and transformers are imported inside functions, so importing
this module stays cheap; a loaded tagger is cached per folder.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.paths import models_dir

DEFAULT_SOUND_MODEL = "ast-audioset"
"""The catalogue entry that adds sound events (`hear2see models download ast-audioset`)."""

_CACHE: dict[str, SoundTagger] = {}
_CACHE_LOCK = threading.Lock()


@dataclass
class SoundTagger:
    """A loaded tagger: `scores(windows)` gives one sigmoid score per AudioSet class for each window."""

    model: Any
    feature_extractor: Any
    labels: list[str]  # class index -> AudioSet display name
    sample_rate_hz: int
    name: str  # the folder it was read from

    def scores(self, windows: np.ndarray) -> np.ndarray:
        """(N, classes) float32 scores in [0, 1] for N windows of mono float32 samples at `sample_rate_hz`."""
        import torch

        batch = [np.asarray(w, dtype=np.float32) for w in windows]
        inputs = self.feature_extractor(batch, sampling_rate=self.sample_rate_hz, return_tensors="pt")
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        return torch.sigmoid(logits.float()).numpy()


def missing_sound_model(where: str) -> ModelMissingError:
    """The one sentence for a tagger that is not there: which model adds sound events and how to get it."""
    return ModelMissingError(
        f"No sound-event model at {where}: the catalogue's {DEFAULT_SOUND_MODEL} adds sound events "
        f"(hear2see models download {DEFAULT_SOUND_MODEL}), or give a transformers audio-classification folder."
    )


def resolve_sound_model(spec: str | None) -> Path:
    """The folder of the tagger `spec` names: an existing folder, else a catalogue name (default: the catalogue's
    tagger), installed under the models folder. Raises ModelMissingError when it is not on disk."""
    from hear2see_desktop.core.models.catalogue import find_entry

    text = (spec or DEFAULT_SOUND_MODEL).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise BadInputError(f"The sound model {path} is a file: give its folder (config.json, weights, "
                            "preprocessor_config.json) or a catalogue name.")
    if "/" in text or "\\" in text:
        raise missing_sound_model(str(path))
    entry = find_entry(text)
    if entry.kind != "sound":
        raise BadInputError(f"The catalogue's {entry.name} is not a sound-event model: use {DEFAULT_SOUND_MODEL}.")
    folder = entry.install_dir(models_dir())
    if not (folder / entry.marker).is_file():
        raise ModelMissingError(
            f"The sound-event model {entry.name} is not installed: get it with hear2see models download {entry.name}."
        )
    return folder


def _check_folder(folder: Path) -> None:
    if not (folder / "config.json").is_file():
        raise missing_sound_model(str(folder))
    if not (folder / "preprocessor_config.json").is_file():
        raise BadInputError(f"The sound model {folder} has no preprocessor_config.json: a tagger needs its feature "
                            "extractor beside the weights.")
    if not any(folder.glob("*.safetensors")):
        if any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
            raise BadInputError(f"The sound model {folder} has only pickle weights, which can run code when loaded: "
                                "use a folder with model.safetensors.")
        raise missing_sound_model(str(folder))


def load_tagger(spec: str | Path | None) -> SoundTagger:
    """The tagger `spec` names (a folder or catalogue name, see `resolve_sound_model`), loaded once per folder."""
    folder = resolve_sound_model(str(spec) if spec is not None else None)
    key = str(folder.resolve())
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        _check_folder(folder)
        try:
            from transformers import AutoFeatureExtractor, AutoModelForAudioClassification

            extractor = AutoFeatureExtractor.from_pretrained(folder, local_files_only=True)
            model = AutoModelForAudioClassification.from_pretrained(folder, local_files_only=True,
                                                                    use_safetensors=True)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BadInputError(f"The folder {folder} is not a usable sound-event model ({type(error).__name__}): "
                                f"download {DEFAULT_SOUND_MODEL} again or choose another folder.") from error
        model.to("cpu").eval()
        id2label = model.config.id2label
        labels = [str(id2label[i]) for i in range(len(id2label))]
        rate = int(getattr(extractor, "sampling_rate", 16000))
        tagger = SoundTagger(model, extractor, labels, rate, key)
        _CACHE[key] = tagger
        return tagger
