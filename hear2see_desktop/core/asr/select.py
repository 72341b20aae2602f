"""Picks and loads the speech engine from the user's choice and the models on disk.

"auto" prefers Vosk when the user installed a Vosk model (they chose it: it streams and knows their
language), and otherwise falls back to the Whisper model bundled with the app, so speech always works.
"""

from __future__ import annotations

import os
from pathlib import Path

from hear2see_desktop.core.asr.base import AsrEngine
from hear2see_desktop.core.asr.vosk_engine import (
    VoskEngine,
    find_vosk_model,
    vosk_model_missing_error,
)
from hear2see_desktop.core.asr.whisper_engine import (
    WHISPER_MODEL_FILES,
    WhisperEngine,
    looks_like_whisper_model,
    resolve_whisper_model,
)
from hear2see_desktop.core.errors import BadInputError, ModelMissingError

ENGINE_CHOICES = ("auto", "vosk", "whisper")


def open_engine(engine: str = "auto", model_path: str | os.PathLike[str] | None = None) -> AsrEngine:
    """A loaded engine ("auto", "vosk" or "whisper"); `model_path` is a model folder for that engine.

    Raises BadInputError for an unknown engine and ModelMissingError when its model is not on disk.
    """
    choice = engine.strip().lower()
    if choice not in ENGINE_CHOICES:
        raise BadInputError(f"Unknown speech engine {engine!r}; choose one of: {', '.join(ENGINE_CHOICES)}.")
    if choice == "whisper":
        return WhisperEngine(resolve_whisper_model(model_path))
    if choice == "vosk":
        found = find_vosk_model(model_path)
        if found is None:
            raise vosk_model_missing_error()
        return VoskEngine(found)
    if model_path:
        return _open_model_folder(Path(model_path).expanduser())
    found = find_vosk_model(None)
    if found is not None:
        return VoskEngine(found)
    return WhisperEngine(resolve_whisper_model(None))


def _open_model_folder(folder: Path) -> AsrEngine:
    """For "auto" with a model path: the engine is whichever kind of model the folder holds."""
    if looks_like_whisper_model(folder):
        return WhisperEngine(folder)
    try:
        found = find_vosk_model(folder)
    except ModelMissingError:
        found = None
    if found is None:
        raise ModelMissingError(
            f"{folder} holds neither a Vosk model (am/final.mdl and conf/) nor a faster-whisper model "
            f"({', '.join(WHISPER_MODEL_FILES)}); pass the folder of an unzipped model as --asr-model."
        )
    return VoskEngine(found)
