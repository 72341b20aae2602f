"""Launch to first paint of the main window, and what the start-up path imports.

Each run is a fresh interpreter (as a user's launch is): the parent notes the wall clock just
before starting it, the child builds the window like `hear2see gui` does and reports the wall
clock at the window's first Paint event. The median of several runs is reported with min/max,
since a 2-core machine is noisy. Target (issue 6): under 2 s on this machine.

    python bench/startup.py [--runs 7] [--platform offscreen|xcb] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import common

HEAVY = ("torch", "diffusers", "transformers", "vosk", "faster_whisper", "ctranslate2", "cv2", "scipy")

CHILD = """
import json, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
from hear2see_desktop.logging_setup import setup_logging
setup_logging()
app = QApplication([])
from hear2see_desktop.ui.main_window import MainWindow
window = MainWindow()
marks = {}
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and "paint" not in marks:
            marks["paint"] = time.time()
            QTimer.singleShot(0, app.quit)
        return False
spy = FirstPaint()
window.installEventFilter(spy)
window.show()
QTimer.singleShot(30000, app.quit)
app.exec()
print(json.dumps({"paint": marks.get("paint"), "loaded": sorted(m for m in HEAVY_MODULES if m in sys.modules)}))
""".replace("HEAVY_MODULES", repr(HEAVY))


def one_launch(platform: str) -> tuple[float, list[str]]:
    """Seconds from starting the interpreter to the first paint, and the heavy modules it imported."""
    env = {**os.environ, "QT_QPA_PLATFORM": platform, "HEAR2SEE_HOME": str(common.CACHE_DIR / "startup-home")}
    started = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"the app did not start: {done.stderr.strip()[-500:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["paint"] is None:
        raise SystemExit("the window never painted within 30 s")
    return result["paint"] - started, result["loaded"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--platform", default="offscreen", help="Qt platform plugin (xcb needs a display/Xvfb)")
    parser.add_argument("--out", default=str(common.DEFAULT_OUT))
    args = parser.parse_args()

    machine = common.machine_description("cpu")
    one_launch(args.platform)  # warm the OS file cache once, as a second launch of an installed app would be
    times, loaded = [], []
    for _ in range(args.runs):
        seconds, loaded = one_launch(args.platform)
        times.append(seconds)
    table = common.Table(
        f"Launch to first paint ({args.platform}), {args.runs} runs",
        ["median (s)", "min (s)", "max (s)", "target (s)", "heavy modules imported before the first paint"],
        [[common.fmt(common.median(times), 2), common.fmt(min(times), 2), common.fmt(max(times), 2), "2.00",
          ", ".join(loaded) or "none"]],
    )
    notes = ["A fresh interpreter per run (after one unmeasured warm-up launch), measured from just before the "
             "process starts to the main window's first Paint event; ratios and medians from this one run."]
    common.write_results(Path(args.out), "startup", "Start-up: launch to first paint of the main window", notes,
                         [table], {"times_s": times, "heavy_modules": loaded}, machine)


if __name__ == "__main__":
    main()
