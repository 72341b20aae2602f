"""The system libraries the app needs from a Linux distribution, and which of them this machine lacks.

PySide6's wheels carry Qt itself, but Qt's X11 window plugin links against the distribution's xcb
libraries, and sounddevice records through the system's PortAudio. Without them Qt aborts with its own
text and recording fails, so one table serves both `scripts/setup.sh` (which installs the Debian
packages) and the app's start-up (which names what is missing and the command that installs it).

Standard library only: setup.sh runs this file with the system Python before the venv exists:
    python3 hear2see_desktop/qt_libraries.py            Debian packages of the missing libraries
    python3 hear2see_desktop/qt_libraries.py --names    the missing libraries themselves
"""

from __future__ import annotations

import ctypes
import shutil
import sys
from collections.abc import Iterable

# Shared library (soname) -> the Debian/Ubuntu package that provides it.
QT_XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
AUDIO_LIBRARIES: dict[str, str] = {"libportaudio.so.2": "libportaudio2"}
APP_LIBRARIES: dict[str, str] = {**QT_XCB_LIBRARIES, **AUDIO_LIBRARIES}


def missing(libraries: Iterable[str]) -> list[str]:
    """The libraries of `libraries` that the dynamic loader cannot open here, in the given order.

    Opening them is the loader's own answer (search path, architecture, ld.so.cache), which a file
    search would only approximate; Qt loads the same libraries moments later anyway.
    """
    absent = []
    for name in libraries:
        try:
            ctypes.CDLL(name)
        except OSError:
            absent.append(name)
    return absent


def packages_for(libraries: Iterable[str], table: dict[str, str] = APP_LIBRARIES) -> list[str]:
    """The Debian packages that provide `libraries`, each once, in order."""
    return list(dict.fromkeys(table[name] for name in libraries if name in table))


def install_hint(libraries: Iterable[str], table: dict[str, str] = APP_LIBRARIES) -> str:
    """The command that installs `libraries` on this machine, or what to install where apt is absent."""
    names = list(libraries)
    if shutil.which("apt-get"):
        return "sudo apt-get install " + " ".join(packages_for(names, table))
    return "install your distribution's packages that provide " + ", ".join(names)


def main(argv: list[str]) -> int:
    """Print the missing app libraries (their Debian packages, or `--names`); exit 0 either way."""
    if not sys.platform.startswith("linux"):
        return 0
    absent = missing(APP_LIBRARIES)
    print(" ".join(absent if "--names" in argv else packages_for(absent)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
