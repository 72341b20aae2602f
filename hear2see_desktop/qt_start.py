"""Create Qt's application object, or end with one sentence that says why no window can open.

When Qt's platform plugin cannot start (no display, a display that cannot be reached, missing system
libraries) Qt aborts the process with text that names neither the cause nor the fix. This module
checks what it can before Qt starts (is there a display at all?) and watches QApplication's
construction with a message handler: on Qt's fatal message it prints our sentence, logs Qt's own
text, and ends the process with NO_WINDOW_EXIT_CODE (Qt would abort right after the handler returns,
so the handler cannot raise; it exits).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hear2see_desktop import qt_libraries

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

NO_WINDOW_EXIT_CODE = 3
"""Exit code when no window can open: something the app needs is not on this machine (as for models)."""
CLI_HINT = "the command line works without a window (hear2see --help)"


class NoWindowError(Exception):
    """No window can open; `str(error)` is the sentence for the user."""

    exit_code = NO_WINDOW_EXIT_CODE


def platform_name(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The Qt platform plugin the app will ask for on this machine ('xcb', 'wayland', 'cocoa', ...)."""
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if sys.platform == "darwin":
        return "cocoa"
    if sys.platform == "win32":
        return "windows"
    wayland = environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland"
    return "wayland" if wayland else "xcb"


def display_problem(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """A sentence when there is plainly no display to open a window on, else None (Qt decides)."""
    platform = platform_name(environ)
    if platform == "xcb" and not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return ("No window can open: there is no display (DISPLAY is not set). Start HEAR2SEE from a desktop "
                f"session, or over SSH with `ssh -X`; {CLI_HINT}.")
    if platform == "wayland" and not environ.get("WAYLAND_DISPLAY"):
        return ("No window can open: QT_QPA_PLATFORM asks for Wayland but WAYLAND_DISPLAY is not set. Start "
                f"HEAR2SEE from a Wayland session or unset QT_QPA_PLATFORM; {CLI_HINT}.")
    return None


def diagnose(qt_messages: Sequence[str], platform: str, display: str | None,
             missing_libraries: Sequence[str]) -> str:
    """The sentence for a Qt start that failed with `qt_messages` (Qt's own text, in order)."""
    if platform == "xcb" and missing_libraries:
        return ("No window can open: system libraries that Qt needs to draw windows are missing ("
                f"{', '.join(missing_libraries)}). Install them with `{qt_libraries.install_hint(missing_libraries)}`"
                ", then start HEAR2SEE again.")
    text = "\n".join(qt_messages).lower()
    if "could not connect to display" in text or "failed to create wl_display" in text:
        return (f"No window can open: the display {display or '(none)'} cannot be reached. Start HEAR2SEE from "
                f"a desktop session (or check DISPLAY; over SSH use `ssh -X`); {CLI_HINT}.")
    first = next((m.strip().splitlines()[0] for m in qt_messages if m.strip()), "no reason given")
    return (f"No window can open: Qt could not start its '{platform}' window system ({first}). Try another with "
            f"QT_QPA_PLATFORM (e.g. xcb or wayland); {CLI_HINT}.")


def create_application(argv: Sequence[str]) -> QApplication:
    """The process's QApplication (the existing one if any); on a failed start, print why and exit.

    Raises NoWindowError before touching Qt when there is plainly no display.
    """
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    if existing is not None:
        return existing  # type: ignore[return-value]
    problem = display_problem()
    if problem is not None:
        raise NoWindowError(problem)
    seen: list[str] = []

    def watch(mode: Any, _context: Any, message: str) -> None:
        seen.append(message)
        if mode != QtMsgType.QtFatalMsg:
            log.info("Qt: %s", message)
            return
        platform = platform_name()
        missing = qt_libraries.missing(qt_libraries.QT_XCB_LIBRARIES) if platform == "xcb" else []
        sentence = diagnose(seen, platform, os.environ.get("DISPLAY"), missing)
        log.error("Qt could not start (%s): %s", sentence, " | ".join(seen))
        logging.shutdown()
        sys.stderr.write(f"hear2see: {sentence}\n")
        sys.stderr.flush()
        os._exit(NO_WINDOW_EXIT_CODE)

    previous = qInstallMessageHandler(watch)
    try:
        app = QApplication(list(argv))
    finally:
        qInstallMessageHandler(previous)
    return app
