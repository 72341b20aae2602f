"""The start-up path: the main window is built and painted before any model library is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "vosk", "faster_whisper", "ctranslate2", "cv2", "scipy", "safetensors")

PROBE = """
import json, sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from hear2see_desktop.ui.main_window import MainWindow
window = MainWindow()
painted = []
class FirstPaint(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and not painted:
            painted.append(True)
            QTimer.singleShot(0, app.quit)
        return False
spy = FirstPaint()
window.installEventFilter(spy)
window.show()
QTimer.singleShot(20000, app.quit)
app.exec()
print(json.dumps({"painted": bool(painted), "loaded": sorted(m for m in HEAVY_MODULES if m in sys.modules)}))
""".replace("HEAVY_MODULES", repr(HEAVY))


def test_the_window_paints_before_any_model_library_is_imported(tmp_path: object) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["painted"]
    assert result["loaded"] == [], f"imported on the start-up path: {result['loaded']}"
