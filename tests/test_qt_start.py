"""The window opens on a real X display, or the app says in one sentence why it cannot (never Qt's abort text).

Real processes with Qt's real xcb platform: a display that does not exist, no display at all, and an
Xvfb screen that does. The library table is checked against the machine's own dynamic loader.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hear2see_desktop import qt_libraries, qt_start

ROOT = Path(__file__).resolve().parent.parent
QT_ABORT_TEXT = ("Qt platform plugin", "This application failed to start", "Aborted", "Traceback")


def _gui(home: Path, timeout_s: float = 120, **env: str | None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HEAR2SEE_HOME": str(home), "QT_QPA_PLATFORM": "xcb", "OMP_NUM_THREADS": "1"}
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run([sys.executable, "-m", "hear2see_desktop", "gui"], capture_output=True, text=True,
                          timeout=timeout_s, env=environment, stdin=subprocess.DEVNULL, check=False)


def _free_display() -> str:
    """An X display number with no server behind it on this machine."""
    for number in range(180, 260):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
    raise AssertionError("no free X display number between :180 and :259")


def _assert_one_sentence(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == qt_start.NO_WINDOW_EXIT_CODE, output
    for text in QT_ABORT_TEXT:
        assert text not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hear2see: No window can open: "), output
    for text in expected:
        assert text in lines[0], output
    return lines[0]


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Qt's xcb platform is Linux's")


def test_a_display_that_does_not_exist_is_one_sentence_and_exit_3(tmp_path: Path) -> None:
    display = _free_display()
    result = _gui(tmp_path, DISPLAY=display, WAYLAND_DISPLAY=None)
    missing = qt_libraries.missing(qt_libraries.QT_XCB_LIBRARIES)
    if missing:  # the libraries are what stops Qt first: they are named with the command that installs them
        _assert_one_sentence(result, *missing, "apt-get install" if shutil.which("apt-get") else "install")
    else:
        _assert_one_sentence(result, f"the display {display} cannot be reached", "hear2see --help")
    log = (tmp_path / "logs" / "hear2see.log").read_text(encoding="utf-8")
    assert "Qt could not start" in log and "platform plugin" in log, log  # Qt's own words go to the log


def test_no_display_at_all_is_said_before_qt_starts(tmp_path: Path) -> None:
    result = _gui(tmp_path, DISPLAY=None, WAYLAND_DISPLAY=None)
    _assert_one_sentence(result, "there is no display (DISPLAY is not set)", "ssh -X")


@pytest.fixture()
def xvfb_display() -> Iterator[str]:
    """A real X server on a free display number, for as long as the test runs."""
    if shutil.which("Xvfb") is None:
        raise AssertionError("Xvfb is missing: `bash scripts/setup.sh --test` installs it")
    display = _free_display()
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    try:
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_window_opens_on_a_real_x_display(tmp_path: Path, xvfb_display: str) -> None:
    result = _gui(tmp_path, 180, DISPLAY=xvfb_display, WAYLAND_DISPLAY=None, HEAR2SEE_QUIT_AFTER_S="1")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for text in QT_ABORT_TEXT:
        assert text not in output, output


def test_missing_libraries_are_named_with_the_command_that_installs_them() -> None:
    sentence = qt_start.diagnose(["Could not load the Qt platform plugin \"xcb\""], "xcb", ":0",
                                 ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in sentence
    if shutil.which("apt-get"):
        assert "`sudo apt-get install libxcb-icccm4 libxcb-keysyms1`" in sentence
    assert "platform plugin" not in sentence


def test_an_unknown_qt_failure_names_the_window_system_and_the_way_out() -> None:
    sentence = qt_start.diagnose(["", "something odd happened\nmore"], "wayland", None, [])
    assert sentence == ("No window can open: Qt could not start its 'wayland' window system (something odd happened)."
                        " Try another with QT_QPA_PLATFORM (e.g. xcb or wayland); the command line works without a "
                        "window (hear2see --help).")


def test_the_platform_qt_will_use_follows_the_session() -> None:
    assert qt_start.platform_name({"QT_QPA_PLATFORM": "offscreen"}) == "offscreen"
    assert qt_start.platform_name({"QT_QPA_PLATFORM": "wayland;xcb"}) == "wayland"
    assert qt_start.platform_name({"DISPLAY": ":0"}) == "xcb"
    assert qt_start.platform_name({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}) == "wayland"
    assert qt_start.display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert qt_start.display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert "WAYLAND_DISPLAY is not set" in (qt_start.display_problem({"QT_QPA_PLATFORM": "wayland"}) or "")


def test_the_library_check_asks_the_dynamic_loader() -> None:
    assert qt_libraries.missing(["libc.so.6", "libhear2see-not-a-library.so.7"]) == ["libhear2see-not-a-library.so.7"]
    assert qt_libraries.packages_for(["libxcb-cursor.so.0", "libportaudio.so.2", "libxcb-cursor.so.0"]) == [
        "libxcb-cursor0", "libportaudio2"]


def test_setup_can_ask_for_the_missing_packages_with_the_system_python() -> None:
    """scripts/setup.sh runs the table with the system Python before any package is installed (-I: no venv paths)."""
    result = subprocess.run([sys.executable, "-I", str(ROOT / "hear2see_desktop" / "qt_libraries.py"), "--names"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == qt_libraries.missing(qt_libraries.APP_LIBRARIES)
