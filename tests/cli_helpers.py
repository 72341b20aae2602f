"""Running the hear2see command line in-process, as the CLI tests do: its exit code, stdout and stderr."""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import pytest

from hear2see_desktop.cli import main

FAST = ["--width", "64", "--height", "64", "--steps", "2", "--fps", "4", "--device", "cpu"]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's --help / --version / usage errors
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert "Traceback" not in err
    return lines[0]


def start_cli_as_from_a_terminal(args: list[str], **popen: Any) -> subprocess.Popen[str]:
    """The CLI in a child process that takes Ctrl-C (SIGINT) as it does when started from a terminal.

    A child inherits an ignored SIGINT, and Python then never raises KeyboardInterrupt: suites started in the
    background of a script (`pytest ... &`) ignore it, which would make the Ctrl-C tests pass or fail by how the
    suite was launched.
    """
    return subprocess.Popen(args, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            **popen)
