"""Driving the app as a person does: keys into the active window, menu items found by their text, dialogs
answered through their own widgets.

Dialogs opened through static calls (`QFileDialog.getOpenFileName`, `QMessageBox.question`) run an event
loop of their own, so the click that opens one returns only once it is answered: `Modals` answers them
from a timer, in the order the test queued its answers, and closes (and records) any it did not expect,
so a surprise question fails the test instead of hanging it. The tests run with Qt's own file dialog
(conftest turns native ones off), which is typed into like any other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QDialog,
    QFileDialog,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

W = TypeVar("W", bound=QWidget)
UNEXPECTED_GRACE_S = 3.0
"""How long a question nobody expected may stay open before `Modals` closes it and records it."""


def clean(text: str) -> str:
    """A menu or button text as shown (mnemonic ampersands removed)."""
    return text.replace("&", "")


def menu_action(window: QMainWindow, *path: str) -> QAction:
    """The menu bar's action at `path` ("File", "Export…"), asserted to be enabled as a person would see it."""
    actions = window.menuBar().actions()
    found: QAction | None = None
    for depth, name in enumerate(path):
        found = next((a for a in actions if clean(a.text()) == name), None)
        shown = [clean(a.text()) for a in actions]
        assert found is not None, f"no {' > '.join(path[:depth + 1])} in the menus, only {shown}"
        if depth < len(path) - 1:
            menu = found.menu()
            assert menu is not None, f"{name} is not a menu"
            actions = menu.actions()
    assert found is not None
    assert found.isEnabled(), f"{' > '.join(path)} is greyed out"
    return found


def choose(window: QMainWindow, *path: str) -> None:
    """Choose a menu item (what a click on it does: the action's own `triggered(bool)`)."""
    menu_action(window, *path).trigger()


def press(qtbot: QtBot, window: QWidget, keys: str) -> None:
    """Press a key sequence ("Ctrl+E", "R", "Esc") in `window`, made the active window first as a click on it would."""
    window.activateWindow()
    window.raise_()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    QTest.keySequence(window, QKeySequence(keys))


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    """A left click in the middle of `button`, which must be visible and enabled (as it must be for a person)."""
    assert button.isVisible(), f"the {clean(button.text())!r} button is not shown"
    assert button.isEnabled(), f"the {clean(button.text())!r} button is greyed out"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def button_named(parent: QWidget, text: str) -> QAbstractButton:
    """The visible button under `parent` whose text (ampersands removed) is `text`."""
    buttons = [b for b in parent.findChildren(QAbstractButton) if b.isVisible() and clean(b.text()) == text]
    assert buttons, f"no {text!r} button in {parent.windowTitle()!r}: " \
                    f"{[clean(b.text()) for b in parent.findChildren(QAbstractButton) if b.isVisible()]}"
    return buttons[0]


def button_for(parent: QWidget, accessible_name: str) -> QAbstractButton:
    """The button under `parent` that a screen reader calls `accessible_name` (for icon and "…" buttons)."""
    buttons = [b for b in parent.findChildren(QAbstractButton) if b.accessibleName() == accessible_name]
    assert buttons, f"no button called {accessible_name!r} in {parent.windowTitle()!r}"
    return buttons[0]


def windows_of(kind: type[W]) -> list[W]:
    """The visible top-level windows of `kind` (dialogs included)."""
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def wait_for_window(qtbot: QtBot, kind: type[W], title: str | None = None, timeout_ms: int = 10_000) -> W:
    """The visible window of `kind` (titled `title`) once it has appeared."""
    found: list[W] = []

    def shown() -> bool:
        found[:] = [w for w in windows_of(kind) if title is None or w.windowTitle() == title]
        return bool(found)

    qtbot.waitUntil(shown, timeout=timeout_ms)
    return found[0]


def type_text(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    """Select all of a line edit's text and type `text` over it."""
    edit.setFocus()
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def set_check(qtbot: QtBot, check: QCheckBox, checked: bool) -> None:
    """Click a check box's tick box until it is `checked`."""
    if check.isChecked() != checked:
        assert check.isEnabled(), f"{check.text()!r} is greyed out"
        qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))
    assert check.isChecked() == checked, f"clicking {check.text()!r} did not change it"


EXPORT_ROWS = ("mp4", "frames", "txt", "srt", "vtt", "ass")


def export_through_dialog(qtbot: QtBot, window: QMainWindow, open_dialog: Callable[[], object],
                          timeout_ms: int = 120_000, **targets: Path) -> None:
    """Open the Export dialog with `open_dialog` (the button, the menu item, Ctrl+E), tick exactly the outputs
    named in `targets` (mp4=, frames=, txt=, srt=, vtt=, ass=) with their paths typed in, press Export, and wait
    until it is done (the "Exported" box, closed with its Close button, when the window shows one)."""
    from hear2see_desktop.ui.export_dialog import ExportDialog

    assert set(targets) <= set(EXPORT_ROWS), targets
    open_dialog()
    dialog = wait_for_window(qtbot, ExportDialog, "Export")
    for row in EXPORT_ROWS:
        check: QCheckBox = getattr(dialog, f"{row}_check")
        set_check(qtbot, check, row in targets)
        if row in targets:
            type_text(qtbot, getattr(dialog, f"{row}_path"), str(targets[row]))
    click(qtbot, button_named(dialog, "Export"))
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    if getattr(window, "show_export_done", True):
        done = wait_for_window(qtbot, QMessageBox, "Exported", timeout_ms=timeout_ms)
        click(qtbot, button_named(done, "Close"))
    qtbot.waitUntil(lambda: "export" not in window.workers, timeout=timeout_ms)  # type: ignore[attr-defined]


def file_dialog_answer(path: Path | str) -> Callable[[QWidget], None]:
    """An answer for Qt's file dialog: type `path` as the file name and press Enter."""

    def answer(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        edit = dialog.findChild(QLineEdit, "fileNameEdit")
        assert edit is not None, "the file dialog has no file name box"
        edit.setText(str(path))
        QTest.keyClick(edit, Qt.Key.Key_Return)

    return answer


def button_answer(which: QMessageBox.StandardButton | str) -> Callable[[QWidget], None]:
    """An answer for a message box: click its standard button `which` (Yes, No, Discard: labelled as the
    platform labels them, "Don't Save" on a Mac), or the button labelled `which`."""

    def answer(box: QWidget) -> None:
        assert isinstance(box, QMessageBox)
        if isinstance(which, str):
            button = next((b for b in box.buttons() if clean(b.text()) == which), None)
        else:
            button = box.button(which)
        assert button is not None, f"the box {box.text()!r} has no {which!r} button, only " \
                                   f"{[clean(b.text()) for b in box.buttons()]}"
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)

    return answer


class Modals:
    """Answers the modal dialogs a test expects, in order; closes and records any other question or file dialog.

    An expectation is `(kind, title or None, answer)`; `answered` lists the titles answered. Only message
    boxes and file dialogs count as unexpected: window-modal dialogs the test drives itself (Models,
    Export) are left alone.
    """

    def __init__(self) -> None:
        self.expected: list[tuple[type[QWidget], str | None, Callable[[QWidget], None]]] = []
        self.answered: list[str] = []
        self.unexpected: list[str] = []
        self._first_seen: dict[int, float] = {}
        self._busy = False
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def expect(self, kind: type[QWidget], answer: Callable[[QWidget], None], title: str | None = None) -> None:
        """The next modal dialog of `kind` (titled `title`) is answered with `answer`."""
        self.expected.append((kind, title, answer))

    def expect_file(self, path: Path | str) -> None:
        self.expect(QFileDialog, file_dialog_answer(path))

    def expect_question(self, title: str, button: QMessageBox.StandardButton | str) -> None:
        """The next message box titled `title` is answered by clicking `button` (see `button_answer`)."""
        self.expect(QMessageBox, button_answer(button), title)

    def wait_answered(self, qtbot: QtBot, timeout_ms: int = 10_000) -> None:
        """Wait until every queued answer was given (a dialog the test expected has come)."""
        qtbot.waitUntil(lambda: not self.expected, timeout=timeout_ms)

    def _poll(self) -> None:
        widget = QApplication.activeModalWidget()
        if widget is None or self._busy or not widget.isVisible():
            return
        self._busy = True
        try:
            if self.expected:
                kind, title, answer = self.expected[0]
                if isinstance(widget, kind) and (title is None or widget.windowTitle() == title):
                    self.expected.pop(0)
                    self.answered.append(widget.windowTitle())
                    try:
                        answer(widget)
                    except Exception as error:  # fail the test, not hang it: close what could not be answered
                        self.unexpected.append(f"could not answer {widget.windowTitle()!r}: {error}")
                        if isinstance(widget, QDialog):
                            widget.reject()
                    return
            if isinstance(widget, (QMessageBox, QFileDialog)):
                seen = self._first_seen.setdefault(id(widget), time.monotonic())
                if time.monotonic() - seen > UNEXPECTED_GRACE_S:
                    text = widget.text() if isinstance(widget, QMessageBox) else ""
                    self.unexpected.append(f"{type(widget).__name__} {widget.windowTitle()!r}: {text}")
                    widget.reject()
        finally:
            self._busy = False

    def stop(self) -> None:
        self.timer.stop()


class ModalCloser:
    """Closes every modal dialog as soon as it shows (for walking all controls: only their slots matter)."""

    def __init__(self, keep: Callable[[], list[QWidget]] = list) -> None:
        self.closed: list[str] = []
        self.keep = keep
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        widget = QApplication.activeModalWidget()
        if isinstance(widget, QDialog) and widget.isVisible() and widget not in self.keep():
            self.closed.append(widget.windowTitle())
            widget.reject()

    def stop(self) -> None:
        self.timer.stop()


def modal_fixture() -> Iterator[Modals]:
    """Body of the `modals` fixture: fails the test when a question came that it did not expect or answer."""
    modals = Modals()
    yield modals
    modals.stop()
    assert not modals.unexpected, f"dialogs nobody expected were closed: {modals.unexpected}"
    assert not modals.expected, f"dialogs the test waited to answer never came: {[e[:2] for e in modals.expected]}"
