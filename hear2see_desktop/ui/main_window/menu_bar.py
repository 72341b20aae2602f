"""The window's menus, which only say what the user asked for: each item emits a signal the window connects.

The window also adds `window_actions()` to itself, so every item's keyboard shortcut works wherever the
focus is in the window (and Ctrl+Enter, which has no menu item of its own, renders like Ctrl+Return;
Ctrl+Shift+Enter queues like Ctrl+Shift+Return).
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Signal, SignalInstance
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from hear2see_desktop.ui.wiring import without_arguments

PRESETS = ("Draft", "Balanced", "Final")
"""The render settings presets the Render menu offers, by name."""


class MenuBar(QMenuBar):
    """File, Audio, Render and Help; requests go out as signals, nothing here touches the work."""

    new_requested = Signal()
    open_requested = Signal()
    recent_chosen = Signal(str)  # the project file's path, as the recent list holds it
    save_requested = Signal()
    save_as_requested = Signal()
    import_requested = Signal()
    export_requested = Signal()
    history_requested = Signal()
    models_requested = Signal()
    quit_requested = Signal()
    record_requested = Signal()
    render_requested = Signal()
    cancel_requested = Signal()
    queue_requested = Signal()  # add the render the Render button would start to the render queue
    queue_panel_requested = Signal()
    preset_chosen = Signal(str)  # one of PRESETS
    render_on_requested = Signal()  # where renders run: this computer or a Ray cluster
    train_requested = Signal()
    about_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._window_actions: list[QAction] = []
        files = self.addMenu("&File")
        self._item(files, "&New project", self.new_requested, "Ctrl+N")
        self._item(files, "&Open project…", self.open_requested, "Ctrl+O")
        self.recent_menu = files.addMenu("Open &recent")
        self._item(files, "&Save project", self.save_requested, "Ctrl+S")
        self._item(files, "Save project &as…", self.save_as_requested, "Ctrl+Shift+S")
        files.addSeparator()
        self._item(files, "&Import audio…", self.import_requested, "Ctrl+I")
        self.export_action = self._item(files, "&Export…", self.export_requested, "Ctrl+E")
        self.history_action = self._item(files, "&History…", self.history_requested, "Ctrl+H")
        files.addSeparator()
        self.models_action = self._item(files, "&Models…", self.models_requested)
        files.addSeparator()
        self._item(files, "&Quit", self.quit_requested, "Ctrl+Q")
        audio = self.addMenu("&Audio")
        self.record_action = self._item(audio, "&Record / stop", self.record_requested, "R")
        render = self.addMenu("&Render")
        self.render_action = self._item(render, "&Render", self.render_requested, "Ctrl+Return")
        self._window_actions.append(self._shortcut("Ctrl+Enter", self.render_requested))
        self.queue_action = self._item(render, "Add to &queue", self.queue_requested, "Ctrl+Shift+Return")
        self._window_actions.append(self._shortcut("Ctrl+Shift+Enter", self.queue_requested))
        self._item(render, "Show the render &queue", self.queue_panel_requested)
        self._item(render, "&Cancel", self.cancel_requested, "Esc")
        for name in PRESETS:
            self._item(render, f"{name} preset", self.preset_chosen, argument=name)
        render.addSeparator()
        self.render_on_action = self._item(render, "Render &on…", self.render_on_requested)
        self.train_action = self._item(render, "&Train a style…", self.train_requested)
        help_menu = self.addMenu("&Help")
        self._item(help_menu, "&About HEAR2SEE", self.about_requested)
        self.set_recent_projects([])

    def window_actions(self) -> list[QAction]:
        """Every item with its shortcut, in menu order, for the window to add to itself."""
        return list(self._window_actions)

    def set_recent_projects(self, recent: list[str]) -> None:
        """List these project files under Open recent (greyed out when there are none)."""
        self.recent_menu.clear()
        for entry in recent:
            act = self.recent_menu.addAction(entry)
            act.triggered.connect(without_arguments(partial(self.recent_chosen.emit, entry)))
        self.recent_menu.setEnabled(not self.recent_menu.isEmpty())

    def _item(self, menu: QMenu, text: str, signal: SignalInstance, shortcut: str | None = None,
              argument: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if argument is None:
            act.triggered.connect(signal)
        else:
            act.triggered.connect(without_arguments(partial(signal.emit, argument)))
        menu.addAction(act)
        self._window_actions.append(act)
        return act

    def _shortcut(self, keys: str, signal: SignalInstance) -> QAction:
        act = QAction(self)
        act.setShortcut(QKeySequence(keys))
        act.triggered.connect(signal)
        return act


__all__ = ["PRESETS", "MenuBar"]
