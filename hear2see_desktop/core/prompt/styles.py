"""Style presets: the words a style adds to every prompt, read from `resources/styles/*.json`.

Presets are data so that a new look needs no code: drop a JSON file next to the others.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hear2see_desktop.core.errors import BadInputError, Hear2SeeError
from hear2see_desktop.core.paths import resource_path

_NAME_RE = re.compile(r"^[a-z0-9_]+$")
_LIST_FIELDS = ("medium", "lighting", "camera", "extra_negative")


@dataclass(frozen=True)
class Style:
    """One preset; the modifier lists are in the order they are added to the prompt."""

    name: str
    label: str
    medium: tuple[str, ...] = ()
    lighting: tuple[str, ...] = ()
    camera: tuple[str, ...] = ()
    extra_negative: tuple[str, ...] = ()

    @property
    def modifiers(self) -> tuple[str, ...]:
        """Every positive modifier: medium, then lighting, then camera."""
        return self.medium + self.lighting + self.camera


def _styles_dir() -> Path:
    return resource_path("styles")


def style_names() -> list[str]:
    """The names of the bundled presets, sorted; these are what `load_style` accepts."""
    folder = _styles_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if _NAME_RE.match(p.stem))


def load_style(name: str) -> Style:
    """The preset called `name` (case and surrounding spaces ignored).

    Raises BadInputError naming the valid presets when there is no such style.
    """
    key = name.strip().lower() if isinstance(name, str) else ""
    names = style_names()
    if key not in names:
        valid = ", ".join(names) if names else "(none installed)"
        shown = " ".join(str(name).split())  # a pasted name may hold line breaks; the message stays one line
        raise BadInputError(f"Unknown style '{shown}': use one of {valid}.")
    return _load_style_file(key)


@cache
def _load_style_file(key: str) -> Style:
    path = _styles_dir() / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise Hear2SeeError(f"The style preset {path} cannot be read: {error}.") from error
    if not isinstance(data, dict):
        raise Hear2SeeError(f"The style preset {path} is broken: it must hold a JSON object.")
    if data.get("name", key) != key:
        raise Hear2SeeError(f"The style preset {path} is broken: its name must be '{key}'.")
    lists: dict[str, tuple[str, ...]] = {}
    for field_name in _LIST_FIELDS:
        value = data.get(field_name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise Hear2SeeError(
                f"The style preset {path} is broken: '{field_name}' must be a list of non-empty strings."
            )
        lists[field_name] = tuple(" ".join(v.split()) for v in value)
    label = data.get("label", key)
    return Style(name=key, label=str(label), **lists)
