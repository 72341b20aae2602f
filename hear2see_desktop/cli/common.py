"""Helpers the commands share: files that must exist, transcripts read from JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hear2see_desktop.cli_progress import TerminalProgress
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import Job
from hear2see_desktop.core.transcript import Transcript

if TYPE_CHECKING:
    from hear2see_desktop.core.transcript import Transcript

T = TypeVar("T")


def existing_file(text: str, what: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise BadInputError(f"The {what} {path} does not exist: check the path.")
    if path.is_dir():
        raise BadInputError(f"The {what} {path} is a folder: give a file.")
    return path


def read_transcript(text: str) -> Transcript:

    path = existing_file(text, "transcript")
    try:
        return Transcript.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(
            f"{path.name} is not a transcript JSON file (as written by `hear2see transcribe --json`)."
        ) from error


def run_in_terminal(job: Job[T]) -> T:
    """Run a core job with a progress line on the terminal (closed whatever happens); Ctrl-C reaches the caller."""
    progress = TerminalProgress()
    try:
        return job.run(progress, lambda: False)
    finally:
        progress.close()
