"""Send details (tracebacks, library chatter) to a log file; users see only sentences."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from hear2see_desktop.core import paths


def setup_logging(verbose: bool = False) -> Path | None:
    """Log to <log dir>/hear2see.log (rotated); with `verbose`, also to stderr. Returns the log file."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    log_file: Path | None = paths.log_dir() / "hear2see.log"
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
