"""What the Model and LoRA pickers offer: installed catalogue entries and imported files, with their paths.

Only the catalogue, the import index and a few `stat`s are read (no file is opened or hashed), so the
pickers can be rebuilt on the UI thread whenever the models change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.models.catalogue import load_catalogue
from hear2see_desktop.core.models.importing import KIND_CHECKPOINT, KIND_LORA, list_imported
from hear2see_desktop.core.models.registry import model_states

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelChoice:
    """One picker entry: `label` for the menu, `path` for the settings, `source` "catalogue" or "imported"."""

    label: str
    path: str
    source: str


def _installed(catalogue_kind: str) -> list[ModelChoice]:
    """Installed catalogue entries of `catalogue_kind` ("sd", "lora", "motion"); none when the catalogue is
    broken."""
    try:
        states = model_states(load_catalogue())
    except BadInputError as error:
        log.warning("the pickers leave out the catalogue: %s", error)
        return []
    return [ModelChoice(state.entry.title, str(state.path), "catalogue")
            for state in states if state.entry.kind == catalogue_kind and state.installed]


def _imported(kind: str) -> list[ModelChoice]:
    return [ModelChoice(f"{entry.get('name') or entry['path']} (imported)", entry["path"], "imported")
            for entry in list_imported(kind)]


def model_choices() -> list[ModelChoice]:
    """Installed catalogue SD models, then imported checkpoints (oldest first)."""
    return [*_installed("sd"), *_imported(KIND_CHECKPOINT)]


def lora_choices() -> list[ModelChoice]:
    """Installed catalogue LoRAs, then imported LoRAs (oldest first)."""
    return [*_installed("lora"), *_imported(KIND_LORA)]


def motion_choices() -> list[ModelChoice]:
    """Installed catalogue motion modules (Animate mode's motion model)."""
    return _installed("motion")
