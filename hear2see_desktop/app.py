"""QApplication start-up: the main window appears before any model library is imported."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def run_app(argv: Sequence[str] | None = None, open_path: Path | None = None) -> int:
    """Show the main window (optionally opening a project or audio file) and run the event loop."""
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from hear2see_desktop import __version__
    from hear2see_desktop.core import paths
    from hear2see_desktop.logging_setup import setup_logging
    from hear2see_desktop.ui.main_window import MainWindow

    setup_logging()
    app = QApplication.instance() or QApplication(list(argv or sys.argv[:1]))
    app.setApplicationName("HEAR2SEE")
    app.setOrganizationName("hear2see")
    app.setApplicationVersion(__version__)
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
    return app.exec()
