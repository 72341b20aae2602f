"""Progress on the command line: a redrawn bar on a terminal, plain lines when piped.

Progress goes to stderr so stdout carries only the result (the MP4 path, the transcript).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np


class TerminalProgress:
    """A job progress callback (core/jobs.py) that draws on stderr."""

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.bar = bar if bar is not None else (sys.stdout.isatty() and self.stream.isatty())
        self.width = width
        self._last_message = ""
        self._last_percent = -1
        self._started = time.monotonic()
        self._drawn = False

    def __call__(self, done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        total = max(1, total)
        percent = int(100 * min(done, total) / total)
        if self.bar:
            filled = int(self.width * percent / 100)
            elapsed = time.monotonic() - self._started
            line = f"\r{message[:48]:<48} [{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {elapsed:6.1f}s"
            self.stream.write(line)
            self.stream.flush()
            self._drawn = True
            return
        # Plain lines: one when the stage changes, then every 10%.
        stage = message.split(",")[0]
        if stage != self._last_message or percent >= self._last_percent + 10 or (percent == 100 != self._last_percent):
            self.stream.write(f"{message} ({percent}%)\n")
            self.stream.flush()
            self._last_message = stage
            self._last_percent = percent

    def say(self, line: str) -> None:
        """A line of its own between progress updates (the bar goes on below it)."""
        if self.bar and self._drawn:
            self.stream.write("\n")
            self._drawn = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line so later output starts on a fresh one."""
        if self.bar and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
