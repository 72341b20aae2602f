"""Asks "Save changes to <name>?" before the user's work is closed or replaced (quit, New, Open).

The window tells the guard when the work changes and when it was saved or opened; before closing or
replacing the work it calls `go_ahead(then)`. Saving runs in a worker, so "Save" cannot let the action
go on at once: the guard stops it, and runs `then` once the save has finished, or drops it when the
save fails or the user cancels the Save As dialog (so nothing unsaved is lost either way).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox, QWidget

Answer = QMessageBox.StandardButton
AskFn = Callable[[QWidget, str], QMessageBox.StandardButton]


def ask_save_changes(parent: QWidget, name: str) -> QMessageBox.StandardButton:
    """The default question (tests inject their own): Save, Don't Save (Discard) or Cancel."""
    return QMessageBox.question(
        parent, "Unsaved changes", f"Save changes to {name}?\n\nIf you don't save them, your changes are lost.",
        Answer.Save | Answer.Discard | Answer.Cancel, Answer.Save,
    )


class SaveGuard:
    """Whether the work changed since the user last saved or opened it, and the question before it goes.

    `changed` is separate from the window's autosave flag: an autosave keeps a crash from losing the
    work, but only a save to a project file is the user's own copy.
    """

    def __init__(
        self,
        parent: QWidget,
        has_work: Callable[[], bool],
        name: Callable[[], str],
        save: Callable[[], bool],
        ask: AskFn | None = None,
    ) -> None:
        self.changed = False
        self._parent = parent
        self._has_work = has_work
        self._name = name
        self._save = save  # starts the normal save (Save As without a project path); False when none started
        self._ask = ask
        self._after_save: Callable[[], object] | None = None

    def needs_asking(self) -> bool:
        """A narration is loaded and the work changed since the last save or open."""
        return self.changed and self._has_work()

    def go_ahead(self, then: Callable[[], object]) -> bool:
        """True: the work may be closed or replaced now. False: stop; after "Save", `then` follows the save."""
        if not self.needs_asking():
            return True
        answer = (self._ask or ask_save_changes)(self._parent, self._name())
        if answer == Answer.Discard:
            return True
        if answer == Answer.Save:
            waiting, self._after_save = self._after_save, then
            if not self._save():  # the Save As dialog was cancelled, or a save is already running
                self._after_save = waiting
        return False  # Save (for now), Cancel, or the box closed with Escape

    def saved(self) -> None:
        """The work is in a project file now; what waited for the save goes on once the save's worker is let go."""
        self.changed = False
        then, self._after_save = self._after_save, None
        if then is not None:
            QTimer.singleShot(0, then)

    def save_failed(self, *_args: object) -> None:
        """The save failed or was cancelled: the close, New or Open that waited for it does not happen."""
        self._after_save = None


__all__ = ["Answer", "AskFn", "SaveGuard", "ask_save_changes"]
