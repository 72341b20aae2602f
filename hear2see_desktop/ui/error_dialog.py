"""An exception that escapes a Qt slot reaches the user as one sentence in a dialog, and the log as a traceback.

PySide hands such an exception to `sys.excepthook` and carries on, and Python's hook prints it to a
terminal that users of a desktop app never see: a button whose slot fails looks like a button that does
nothing. `install_error_dialog` replaces the hook with one that writes the crash report (the crash log
and hear2see.log, through `logging_setup.write_crash_report`), still prints the traceback for whoever
runs the app from a terminal, and shows a message box naming the log file, never the traceback.

The hook may run on any thread (a slot of an object living on a worker QThread raises there too): the
box is always made on the GUI thread, through a queued signal. Only one box is open at a time; errors
while it is open, or raised while showing it, are logged and never start another round.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from hear2see_desktop.logging_setup import crash_log_path, write_crash_report

log = logging.getLogger(__name__)

DIALOG_OBJECT_NAME = "hear2see-error-dialog"
DIALOG_TITLE = "Something went wrong"
ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def error_sentence(error_name: str, log_file: Path | None) -> str:
    """What the box says: what happened, what to do, and where the details are (never the traceback)."""
    where = (f"the details are in the log file {log_file}" if log_file is not None
             else f"the details could not be written to {crash_log_path().parent}, so they are only in the "
                  "terminal output")
    return (f"HEAR2SEE ran into an unexpected error ({error_name}), so what you just did may not have "
            f"finished: save your work and try again, and if it happens again, report it — {where}.")


class ErrorReporter(QObject):
    """Shows the error box on the GUI thread; `reported` is emitted from any thread and always queued."""

    reported = Signal(str, str)  # the exception's class name, the log file ("" when none was written)

    def __init__(self) -> None:
        super().__init__()
        self.box: QMessageBox | None = None  # the open box, so a second error does not stack another
        self.dropped = 0  # errors that came while a box was open (they are in the log)
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def _show(self, error_name: str, log_file: str) -> None:
        if self.box is not None:
            self.dropped += 1
            log.info("another error while the error box is open (%s); it is in the log only", error_name)
            return
        try:
            # On top of whatever modal dialog is open, so it can be answered (a parentless box would be
            # blocked behind an application-modal dialog).
            parent: QWidget | None = QApplication.activeModalWidget() or QApplication.activeWindow()
            box = QMessageBox(QMessageBox.Icon.Critical, DIALOG_TITLE,
                              error_sentence(error_name, Path(log_file) if log_file else None),
                              QMessageBox.StandardButton.Ok, parent)
            box.setObjectName(DIALOG_OBJECT_NAME)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.setWindowModality(Qt.WindowModality.ApplicationModal)
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the path can be copied
            box.finished.connect(self._closed)
            self.box = box
            box.show()
        except Exception:  # never raise from here: the hook would report it, and this would run again
            self.box = None
            log.exception("could not show the error dialog")

    def _closed(self, _result: int) -> None:
        self.box = None


class _Hook:
    """The `sys.excepthook` of the GUI: crash report, terminal, then the box (queued to the GUI thread)."""

    def __init__(self, reporter: ErrorReporter) -> None:
        self.reporter = reporter
        self._busy = threading.local()  # an error inside this hook must not come back into it

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt) or getattr(self._busy, "active", False):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self._busy.active = True
        try:
            log_file = write_crash_report(exc_type, exc, tb)
            if sys.stderr is not None:
                traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
            self.reporter.reported.emit(exc_type.__name__, str(log_file) if log_file is not None else "")
        except Exception:  # the reporter is gone (the app is quitting), or the log cannot be written
            sys.__excepthook__(exc_type, exc, tb)
        finally:
            self._busy.active = False


def install_error_dialog() -> Callable[[], None]:
    """Route exceptions that escape slots to the crash log and an error box; returns the undo.

    Call on the GUI thread once the QApplication exists. It takes the place of the crash log's own
    `sys.excepthook` (it writes the same report), so a report is written once; Python threads keep
    `threading.excepthook`, which the crash log handles.
    """
    reporter = ErrorReporter()
    previous: ExceptHook = sys.excepthook
    hook = _Hook(reporter)
    sys.excepthook = hook

    def uninstall() -> None:
        if sys.excepthook is hook:
            sys.excepthook = previous
        reporter.deleteLater()

    return uninstall


__all__ = ["DIALOG_OBJECT_NAME", "DIALOG_TITLE", "ErrorReporter", "error_sentence", "install_error_dialog"]
