"""QApplication start-up: the main window appears before any model library is imported."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication

DESKTOP_ID = "io.github.hear2see.Hear2See"
QUIT_AFTER_ENV_VAR = "HEAR2SEE_QUIT_AFTER_S"
"""Seconds after which the window closes itself with exit code 0: a start-up smoke test for packaged builds."""


def run_app(argv: Sequence[str] | None = None, open_path: Path | None = None) -> int:
    """Show the main window (optionally opening a project or audio file) and run the event loop."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from hear2see_desktop import __version__
    from hear2see_desktop.core import paths
    from hear2see_desktop.logging_setup import install_crash_log, setup_logging
    from hear2see_desktop.ui.main_window import MainWindow

    setup_logging()
    install_crash_log()
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("HEAR2SEE")
    app.setOrganizationName("hear2see")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_ID)  # Wayland's app id: the dock finds packaging/linux's icon and name
    icon = paths.resource_path("icons", "hear2see.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow()
    window.show()
    if open_path is not None:
        if open_path.suffix.lower() == ".h2s":
            window.open_project(open_path)
        else:
            window.import_audio(open_path)
    _quit_after_env(app)
    return app.exec()


def _quit_after_env(app: QCoreApplication) -> None:
    """Close the app after $HEAR2SEE_QUIT_AFTER_S seconds, when set (packaging smoke tests)."""
    text = os.environ.get(QUIT_AFTER_ENV_VAR, "").strip()
    if not text:
        return
    from PySide6.QtCore import QTimer

    try:
        seconds = float(text)
    except ValueError:
        raise SystemExit(f"{QUIT_AFTER_ENV_VAR} must be a number of seconds, not {text!r}.") from None
    QTimer.singleShot(int(seconds * 1000), app.quit)
