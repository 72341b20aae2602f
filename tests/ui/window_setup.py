"""A real main window for tests: its settings in a temporary folder, message boxes stood in for, the tiny
model chosen, and a wait until its workers are done."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.settings_store import SettingsStore

TIMEOUT_MS = 120_000


class Dialogs:
    """Stands in for message boxes: records errors, answers questions as told."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.errors: list[tuple[str, str]] = []
        self.questions: list[str] = []

    def confirm(self, _parent: object, title: str, _text: str) -> bool:
        self.questions.append(title)
        return self.answer

    def error(self, _parent: object, title: str, text: str) -> None:
        self.errors.append((title, text))


def make_window(qtbot: QtBot, tmp_path: Path, dialogs: Dialogs | None, **kwargs: object) -> MainWindow:
    """The main window with its settings in `tmp_path`; `dialogs` stands in for its message boxes, or with
    None the real boxes show (answer them with the `modals` fixture). `first_run=True`: no saved render settings
    (the app then picks defaults for `machine_device`, a CPU unless given)."""
    store = SettingsStore(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    if not kwargs.pop("first_run", False) and not store.has_render_settings():
        store.set_render_settings(RenderSettings())  # a returning user's: the defaults these tests were written for
    kwargs.setdefault("machine_device", lambda _requested: "cpu")  # the device a render would run on here
    if dialogs is not None:
        kwargs.update(confirm=dialogs.confirm, show_error=dialogs.error)
    window = MainWindow(store=store, list_devices=kwargs.pop("list_devices", lambda: []),  # type: ignore[arg-type]
                        **kwargs)  # type: ignore[arg-type]
    if dialogs is not None:
        window.show_export_done = False
    qtbot.addWidget(window)
    window.show()
    return window


def use_tiny_model(window: MainWindow, model: Path, frames: int = 3, steps: int = 2) -> None:
    panel = window.settings_panel
    panel.model_edit.setText(str(model))
    panel.width_px.setValue(64)
    panel.height_px.setValue(64)
    panel.steps.setValue(steps)
    panel.fps.setValue(4)
    panel.frames.setValue(frames)
    panel.device.setCurrentText("cpu")


def wait_idle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.workers, timeout=TIMEOUT_MS)
