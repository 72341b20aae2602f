"""QApplication start-up: the main window appears before any model library is imported."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop import __version__
from hear2see_desktop.core import paths
from hear2see_desktop.logging_setup import install_crash_log, setup_logging
from hear2see_desktop.qt_start import NoWindowError, create_application

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication

DESKTOP_ID = "io.github.hear2see.Hear2See"
QUIT_AFTER_ENV_VAR = "HEAR2SEE_QUIT_AFTER_S"
"""Seconds after which the window closes itself with exit code 0: a start-up smoke test for packaged builds."""


def run_app(argv: Sequence[str] | None = None, open_path: Path | None = None) -> int:
    """Show the main window (optionally opening a project or audio file) and run the event loop."""
    from PySide6.QtGui import QIcon

    from hear2see_desktop.ui.error_dialog import install_error_dialog
    from hear2see_desktop.ui.main_window import MainWindow

    setup_logging()
    install_crash_log()
    try:
        app = create_application(argv or sys.argv[:1])
    except NoWindowError as error:
        print(f"hear2see: {error}", file=sys.stderr)
        return error.exit_code
    install_error_dialog()  # an exception in a slot: a dialog naming the crash log, not only the terminal
    app.setApplicationName("HEAR2SEE")
    app.setOrganizationName("hear2see")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_ID)  # Wayland's app id: the dock finds packaging/linux's icon and name
    icon = paths.resource_path("icons", "hear2see.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    quit_after_s = _quit_after_s()
    # An unattended smoke test has nobody to answer "Save changes?": its close drops the work, as intended.
    window = MainWindow(ask_to_save=None if quit_after_s is None else _discard_unattended)
    window.show()
    if open_path is not None:
        if open_path.suffix.lower() == ".h2s":
            window.open_project(open_path)
        else:
            window.import_audio(open_path)
    if quit_after_s is not None:
        _quit_after(app, quit_after_s)
    return app.exec()


def _quit_after_s() -> float | None:
    """$HEAR2SEE_QUIT_AFTER_S as seconds, or None when it is not set (packaging smoke tests set it)."""
    text = os.environ.get(QUIT_AFTER_ENV_VAR, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise SystemExit(f"{QUIT_AFTER_ENV_VAR} must be a number of seconds, not {text!r}.") from None


def _discard_unattended(*_args: object) -> Any:
    """The answer to "Save changes?" when the app runs unattended."""
    from PySide6.QtWidgets import QMessageBox

    return QMessageBox.StandardButton.Discard


def _quit_after(app: QCoreApplication, seconds: float) -> None:
    """Close the app after `seconds`."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(int(seconds * 1000), app.quit)
