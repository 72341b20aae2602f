"""Picks and loads the speech engine from the user's choice and the models on disk.

"auto" prefers Vosk when the user installed a Vosk model (they chose it: it streams and knows their
language), then the largest Whisper model installed from the catalogue, and otherwise the Whisper
model bundled with the app, so speech always works. A model can also be named by its catalogue name
(`vosk-ko-small`) or picked by the language spoken (`language="ko"`).
"""

from __future__ import annotations

import os
from pathlib import Path

from hear2see_desktop.core.asr.base import AsrEngine
from hear2see_desktop.core.asr.installed import best_installed_whisper, speech_model_by_name, vosk_for_language
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
from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError

ENGINE_CHOICES = ("auto", "vosk", "whisper")


def open_engine(engine: str = "auto", model_path: str | os.PathLike[str] | None = None,
                language: str | None = None) -> AsrEngine:
    """A loaded engine ("auto", "vosk" or "whisper"); `model_path` is a model folder for that engine or
    a catalogue name; `language` (an ISO code) picks the installed Vosk model for that language.

    Raises BadInputError for an unknown engine or a language no engine here can hear, and
    ModelMissingError when the model is not on disk.
    """
    choice = engine.strip().lower()
    if choice not in ENGINE_CHOICES:
        raise BadInputError(f"Unknown speech engine {engine!r}; choose one of: {', '.join(ENGINE_CHOICES)}.")
    if model_path:
        model_path = speech_model_by_name(str(model_path)) or model_path
    elif language and language.strip():
        return _open_for_language(choice, language.strip().lower())
    if choice == "whisper":
        return WhisperEngine(resolve_whisper_model(model_path or best_installed_whisper()))
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
    return WhisperEngine(resolve_whisper_model(best_installed_whisper()))


def _open_for_language(choice: str, language: str) -> AsrEngine:
    """Vosk's model for `language`; English may also be heard by Whisper (its models here are English-only)."""
    if choice == "whisper" or (choice == "auto" and language == "en"):
        if language != "en":
            raise BadInputError(
                f"The Whisper models here understand English only: use the Vosk engine for '{language}'."
            )
        if choice == "auto":
            try:
                return VoskEngine(vosk_for_language("en"))
            except ModelMissingError:
                pass  # no English Vosk model: Whisper hears English out of the box
        return WhisperEngine(resolve_whisper_model(best_installed_whisper()))
    return VoskEngine(vosk_for_language(language))


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
            f"({', '.join(WHISPER_MODEL_FILES)}); set ", Fix("asr_model"), " to the folder of an unzipped model."
        )
    return VoskEngine(found)
