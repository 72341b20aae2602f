"""Send details (tracebacks, library chatter) to a log file; users see only sentences."""

from __future__ import annotations

import datetime
import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from hear2see_desktop import __version__
from hear2see_desktop.core import paths

CRASH_LOG_NAME = "crash.log"


def setup_logging(verbose: bool = False) -> Path | None:
    """Log to <log dir>/hear2see.log (rotated); with `verbose`, also to stderr. Returns the log file."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    log_file: Path | None = paths.log_dir() / "hear2see.log"
    # Set up once per file: the GUI start after the command line's must not write every line twice.
    if not any(getattr(h, "baseFilename", None) == str(log_file.absolute()) for h in root.handlers):
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(
                log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
            )
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
        except OSError:
            log_file = None
    if verbose:
        root.addHandler(logging.StreamHandler())
    # Library warnings (diffusers, transformers) belong in the log, not on the user's terminal.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.captureWarnings(True)
    return log_file


def ensure_std_streams() -> None:
    """Give a windowed build (no console: sys.stdout/stderr are None) streams that swallow output.

    Libraries print progress and warnings unconditionally; writing to None would crash the app.
    """
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the app


def crash_log_path() -> Path:
    """Where uncaught exceptions (and, in a frozen app, fatal signals) are recorded for a bug report."""
    return paths.log_dir() / CRASH_LOG_NAME


def write_crash_report(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> Path | None:
    """Append one dated traceback to the crash log; returns it, or None when the log folder is unwritable."""

    path = crash_log_path()
    stamp = datetime.datetime.now().isoformat(timespec="seconds")
    frozen = " frozen" if getattr(sys, "frozen", False) else ""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"=== {stamp} hear2see {__version__}{frozen} {sys.platform}\n{text}\n")
    except OSError:
        return None
    logging.getLogger("hear2see.crash").critical("uncaught exception", exc_info=(exc_type, exc, tb))
    return path


_installed = False


def install_crash_log(fatal_signals: bool = False) -> None:
    """Record uncaught exceptions of any thread in the crash log, then let the previous hooks run.

    `fatal_signals` also points faulthandler at the crash log (a segfault in a native library of a
    frozen app leaves no other trace); it keeps the file open, so only the frozen entry point asks.
    """
    global _installed
    if _installed:
        return
    _installed = True
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if not issubclass(exc_type, KeyboardInterrupt):
            write_crash_report(exc_type, exc, tb)
        previous_hook(exc_type, exc, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            write_crash_report(args.exc_type, args.exc_value, args.exc_traceback)
        previous_thread_hook(args)

    sys.excepthook = hook
    threading.excepthook = thread_hook
    if fatal_signals:
        import faulthandler

        try:
            crash_log_path().parent.mkdir(parents=True, exist_ok=True)
            faulthandler.enable(crash_log_path().open("a", encoding="utf-8"))  # noqa: SIM115 - open for the process
        except (OSError, ValueError, RuntimeError):
            pass
