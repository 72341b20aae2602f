"""Speech models installed from the catalogue, found by name (`vosk-ko-small`) or by language (`ko`).

`hear2see models download vosk-ko-small` puts a model under the models folder; the user then says
which one to listen with by its catalogue name or by the language spoken, not by a folder path.
"""

from __future__ import annotations

from pathlib import Path

from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError
from hear2see_desktop.core.models.catalogue import CatalogueEntry, load_catalogue
from hear2see_desktop.core.models.registry import model_state

SPEECH_KINDS = ("vosk", "whisper")


def _speech_entries() -> list[CatalogueEntry]:

    try:
        return [entry for entry in load_catalogue() if entry.kind in SPEECH_KINDS]
    except BadInputError:  # a broken custom catalogue: only explicit folders work then
        return []


def _installed_path(entry: CatalogueEntry) -> Path | None:

    state = model_state(entry)
    return state.path if state.installed else None


def speech_model_by_name(name: str) -> Path | None:
    """The folder of the catalogue speech model called `name`; None when `name` is no catalogue name
    (it is then a folder path). A catalogue model that is not installed gets one sentence on how to get it."""
    for entry in _speech_entries():
        if entry.name == name.strip():
            folder = _installed_path(entry)
            if folder is None:
                raise ModelMissingError(
                    f"The speech model {entry.name} is not installed: run `hear2see models download {entry.name}`."
                )
            return folder
    return None


def vosk_for_language(language: str) -> Path:
    """The installed Vosk model for `language` (an ISO code such as "ko"), the largest when several are."""
    code = language.strip().lower()
    entries = [entry for entry in _speech_entries() if entry.kind == "vosk" and entry.language == code]
    installed = [(entry.size_bytes, folder) for entry in entries if (folder := _installed_path(entry)) is not None]
    if installed:
        return max(installed, key=lambda pair: pair[0])[1]
    if entries:
        smallest = min(entries, key=lambda entry: entry.size_bytes)
        raise ModelMissingError(
            f"No speech model for the language '{code}' is installed: run `hear2see models download "
            f"{smallest.name}`."
        )
    known = sorted({entry.language for entry in _speech_entries() if entry.kind == "vosk" and entry.language})
    raise BadInputError(
        f"The catalogue has no speech model for the language '{code}' (it has {', '.join(known) or 'none'}): "
        "download a Vosk model for it from alphacephei.com/vosk/models and set ", Fix("asr_model"), " to its folder."
    )


def best_installed_whisper() -> Path | None:
    """The largest installed catalogue Whisper model (base.en hears better than the bundled tiny.en), if any."""
    installed = [(entry.size_bytes, folder) for entry in _speech_entries()
                 if entry.kind == "whisper" and (folder := _installed_path(entry)) is not None]
    return max(installed, key=lambda pair: pair[0])[1] if installed else None


def speech_choices() -> list[tuple[str, str | None]]:
    """(label, catalogue name) of the speech models a user can pick, "automatic" (None) first.

    Only file checks: cheap enough to rebuild whenever the Models dialog closes.
    """
    choices: list[tuple[str, str | None]] = [("Speech: automatic", None)]
    for entry in _speech_entries():
        if _installed_path(entry) is not None:
            choices.append((f"Speech: {entry.title or entry.name}", entry.name))
    return choices
