"""Screenshots of each step of the app for docs/ (run under Xvfb: `xvfb-run -a python scripts/take_screenshots.py`).

The render uses the tests' tiny random-weight pipeline (real SD 1.5 weights are not on CI
machines), so the frames in these pictures are noise: they show the layout, not image quality.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from hear2see_desktop.ui.main_window import MainWindow
    from hear2see_desktop.ui.settings_store import SettingsStore
    from tests.tiny_pipeline import save_tiny_diffusers

    work = Path(tempfile.mkdtemp(prefix="h2s-shots-"))
    os.environ["HEAR2SEE_HOME"] = str(work / "home")
    model = save_tiny_diffusers(work / "tiny")
    app = QApplication([])
    window = MainWindow(store=SettingsStore(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat)),
                        list_devices=lambda: [])
    window.show_export_done = False
    window.resize(1360, 860)
    window.show()

    def wait(condition, timeout_s: float = 120.0) -> None:  # noqa: ANN001
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not condition():
            app.processEvents()
            time.sleep(0.01)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)

    out = ROOT / "docs"
    wait(lambda: True)
    window.grab().save(str(out / "1-start.png"))
    window.import_audio(ROOT / "resources" / "examples" / "narration.wav")
    wait(lambda: bool(window.prompt_panel.prompt_text()) and not window.workers)
    window.grab().save(str(out / "2-transcript-and-prompt.png"))
    panel = window.settings_panel
    panel.model_edit.setText(str(model))
    panel.width_px.setValue(64)
    panel.height_px.setValue(64)
    panel.steps.setValue(20)
    panel.mode.setCurrentIndex(panel.mode.findData("smooth"))  # keyframes on the scenes of the strip
    panel.fps.setValue(12)
    panel.keyframe_interval.setValue(1.5)
    panel.device.setCurrentText("cpu")
    window.scene_strip.setFocus()
    window.start_render()
    wait(lambda: window.timeline.frame_count() >= 3)
    window.grab().save(str(out / "3-rendering.png"))
    wait(lambda: not window.workers)
    window.grab().save(str(out / "4-rendered.png"))
    window.open_models_dialog()
    wait(lambda: window.models_dialog is not None and window.models_dialog.isVisible())
    window.models_dialog.grab().save(str(out / "5-models.png"))
    window.models_dialog.close()
    print("screenshots in", out)


if __name__ == "__main__":
    main()
