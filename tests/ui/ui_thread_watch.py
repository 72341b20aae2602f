"""Watching the UI thread for model, ASR, optical-flow or ffmpeg work (the window tests run renders under it)."""

from __future__ import annotations

import sys
from typing import Any

HEAVY_LIBRARIES = ("/torch/", "/diffusers/", "/transformers/", "/faster_whisper/", "/ctranslate2/", "/vosk/",
                   "/onnxruntime/", "/cv2/", "/imageio_ffmpeg/")
# torch replaces inspect.getfile for every caller once imported (shiboken's import hook calls it on the UI thread).
NOT_MODEL_WORK = ("torch/package/package_importer.py",)


class UIThreadWatch:
    """Records every call into a model, ASR, optical-flow or ffmpeg library made on the UI thread.

    A profile function on the UI thread only (workers are not watched) sees each Python call there; a model
    run or a decode in a slot shows up as calls into those libraries' files, whatever the machine's speed.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _profile(self, frame: Any, event: str, _arg: object) -> None:
        if event == "call" and any(lib in frame.f_code.co_filename for lib in HEAVY_LIBRARIES):
            if not frame.f_code.co_filename.endswith(NOT_MODEL_WORK):
                self.calls.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")

    def __enter__(self) -> UIThreadWatch:
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *_exc: object) -> None:
        sys.setprofile(None)
