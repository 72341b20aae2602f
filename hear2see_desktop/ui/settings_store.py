"""Typed access to the app's QSettings (window layout, recent projects, last render settings, where renders run)."""

from __future__ import annotations

import enum
import json

from PySide6.QtCore import QByteArray, QSettings

from hear2see_desktop.core.settings import RenderSettings

MAX_RECENT = 8


class Key(str, enum.Enum):
    """Settings keys as "group/key" strings."""

    GEOMETRY = "window/geometry"
    STATE = "window/state"
    SPLITTER = "window/splitter"
    RECENT = "projects/recent"
    RENDER = "render/settings"
    STYLE = "prompt/style"
    HEAR_SOUNDS = "sounds/hear"  # "Hear sound events" was on
    LAST_FOLDER = "files/last_folder"
    SPEECH_MODEL = "speech/model"
    RENDER_ON = "render/on"  # RenderOn's value
    CLUSTER_ADDRESS = "render/cluster_address"  # kept while renders run on this computer, for the next switch


class RenderOn(str, enum.Enum):
    """Where the app's renders run (Render > Render on…)."""

    THIS_COMPUTER = "this_computer"
    CLUSTER = "cluster"


class SettingsStore:
    """One place that knows how each setting is stored."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self.qsettings = settings or QSettings("hear2see", "HEAR2SEE Desktop")

    def bytes(self, key: Key) -> QByteArray | None:
        value = self.qsettings.value(key.value)
        return value if isinstance(value, QByteArray) else None

    def set(self, key: Key, value: object) -> None:
        self.qsettings.setValue(key.value, value)

    def text(self, key: Key, default: str = "") -> str:
        value = self.qsettings.value(key.value, default)
        return str(value) if value is not None else default

    def recent_projects(self) -> list[str]:
        try:
            value = json.loads(self.text(Key.RECENT, "[]"))
        except ValueError:
            return []
        return [str(v) for v in value][:MAX_RECENT] if isinstance(value, list) else []

    def add_recent_project(self, path: str) -> list[str]:
        recent = [path] + [p for p in self.recent_projects() if p != path]
        self.set(Key.RECENT, json.dumps(recent[:MAX_RECENT]))
        return recent[:MAX_RECENT]

    def render_on_choice(self) -> RenderOn:
        try:
            return RenderOn(self.text(Key.RENDER_ON, RenderOn.THIS_COMPUTER.value))
        except ValueError:
            return RenderOn.THIS_COMPUTER

    def cluster_address(self) -> str:
        """The cluster address last entered (also while renders run on this computer)."""
        return self.text(Key.CLUSTER_ADDRESS, "").strip()

    def set_render_on(self, choice: RenderOn, cluster_address: str) -> None:
        self.set(Key.RENDER_ON, choice.value)
        self.set(Key.CLUSTER_ADDRESS, cluster_address.strip())

    def render_on(self) -> str | None:
        """The cluster address renders go to (`RenderRequest.cluster`), or None to render on this computer."""
        if self.render_on_choice() is RenderOn.CLUSTER and self.cluster_address():
            return self.cluster_address()
        return None

    def has_render_settings(self) -> bool:
        """Whether the user has saved render settings (else the app starts with defaults for the machine)."""
        return self.qsettings.contains(Key.RENDER.value)

    def render_settings(self) -> RenderSettings:
        try:
            return RenderSettings.from_dict(json.loads(self.text(Key.RENDER, "{}")))
        except (ValueError, TypeError, KeyError):
            return RenderSettings()

    def set_render_settings(self, settings: RenderSettings) -> None:
        data = settings.to_dict()
        data["prompt"] = data["negative_prompt"] = ""  # prompts belong to projects, not preferences
        data["music_path"] = None  # and so does the music
        self.set(Key.RENDER, json.dumps(data))
