"""Runs a microphone take on a QThread and turns the recorder's updates into signals for the UI.

Wiring (or call `start_recording_thread(worker)`, which does exactly this):

    thread = QThread(); worker.moveToThread(thread)
    thread.started.connect(worker.start)
    worker.finished.connect(thread.quit); worker.failed.connect(thread.quit)
    thread.start()            # ... later, from the UI thread: worker.request_stop()

`start()` is a loop that owns the worker thread until the take ends, so `request_stop()` is a plain
thread-safe method the UI calls directly (a queued slot would never run). The loop sleeps inside
`Recorder.process_pending`, waiting for audio, so it never spins.

Connect the signals to slots of QObjects that live in the UI thread (widgets): PySide6 runs a
lambda or a plain function in the thread that emits, here the recording thread, where touching a
widget is not allowed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from hear2see_desktop.core.asr.base import StreamingRecognizer
from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.recording import DEVICE_LOST, Recorder
from hear2see_desktop.ui.fix_words import sentence

log = logging.getLogger(__name__)

POLL_S = 0.05


class _RecognizerLoader:
    """Loads the speech model on a helper thread, so the level meter moves while a model loads for seconds."""

    def __init__(self, engine: str, model_path: str | os.PathLike[str] | None) -> None:
        self.done = threading.Event()
        self.recognizer: StreamingRecognizer | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._load, args=(engine, model_path), name="hear2see-asr-load")
        self._thread.daemon = True
        self._thread.start()

    def _load(self, engine: str, model_path: str | os.PathLike[str] | None) -> None:
        try:
            from hear2see_desktop.core.asr.select import open_engine

            self.recognizer = open_engine(engine, model_path).stream()
        except Hear2SeeError as error:
            self.error = sentence(error)
        except Exception as error:
            log.exception("Loading the speech model for live transcription failed")
            self.error = f"The speech model could not be loaded ({error}); the log file has the details."
        finally:
            self.done.set()


class RecordingWorker(QObject):
    """One take: `start()` (on its thread) records until `request_stop()`, then `finished(Take)`."""

    amplitude_changed = Signal(float)  # RMS level of the newest block, dBFS (MIN_LEVEL_DBFS for silence)
    elapsed_changed = Signal(float)  # seconds recorded
    partial_text = Signal(str)  # everything heard so far, the unfinished utterance included
    device_lost = Signal(str)  # one sentence; `finished` follows with the take up to the loss
    finished = Signal(object)  # the Take
    failed = Signal(str)  # one sentence for a dialog; nothing was recorded

    def __init__(
        self,
        engine: str | None = "auto",
        model_path: str | os.PathLike[str] | None = None,
        device: int | None = None,
        stream_factory: Callable[..., Any] | None = None,
        block_s: float = 0.1,
        samplerate_hz: float | None = None,
    ) -> None:
        """`engine` is "auto", "vosk" or "whisper" (as `open_engine` takes), or None for no live text."""
        super().__init__()
        self.engine = engine
        self.model_path = model_path
        self.recorder = Recorder(
            device=device, stream_factory=stream_factory, block_s=block_s, samplerate_hz=samplerate_hz
        )
        self._stop = threading.Event()
        self.thread: QThread | None = None

    # --- called from the UI thread ---------------------------------------------------------
    def request_stop(self) -> None:
        """Ask the take to end; `finished` follows once the last words are recognised. Never blocks."""
        self._stop.set()

    def is_stop_requested(self) -> bool:
        return self._stop.is_set()

    # --- runs in the worker thread -----------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Record until asked to stop or the device is lost; always ends with `finished` or `failed`."""
        try:
            self.recorder.start()
        except Hear2SeeError as error:
            self.failed.emit(sentence(error))
            return
        except Exception as error:
            log.exception("Opening the microphone failed")
            self.failed.emit(f"The microphone could not be opened ({error}); the log file has the details.")
            return
        try:
            self._record()
        except Exception as error:
            log.exception("Recording failed")
            try:
                self.recorder.stop()  # closes the stream; the error below is what the user needs
            except Exception:
                log.exception("Closing the recorder after a failure failed too")
            self.failed.emit(f"Recording stopped because of an unexpected error ({error}); the log has the details.")

    def _record(self) -> None:
        loader = _RecognizerLoader(self.engine, self.model_path) if self.engine else None
        shown_text = ""
        while not self._stop.is_set():
            if loader is not None and loader.done.is_set():
                if not self._attach(loader):
                    return
                loader = None
            update = self.recorder.process_pending(POLL_S)
            self.amplitude_changed.emit(update.level_dbfs)
            self.elapsed_changed.emit(update.elapsed_s)
            if update.partial_text != shown_text:
                shown_text = update.partial_text
                self.partial_text.emit(shown_text)
            if update.device_lost:
                self.device_lost.emit(DEVICE_LOST)
                break
        if loader is not None:  # stopped before the model was ready: it still transcribes the take
            loader.done.wait()
            if not self._attach(loader):
                return
        self.finished.emit(self.recorder.stop())

    def _attach(self, loader: _RecognizerLoader) -> bool:
        """Hand the loaded recogniser to the recorder; on a load failure end the take with `failed`."""
        if loader.recognizer is None:
            self.recorder.stop()
            self.failed.emit(loader.error or "The speech model could not be loaded.")
            return False
        self.recorder.set_recognizer(loader.recognizer)
        return True


def start_recording_thread(worker: RecordingWorker) -> QThread:
    """Move `worker` to a fresh QThread and start recording; the thread quits and deletes itself after."""
    # Owned by the application, not by this Python object: a QThread destroyed while still running
    # aborts the process, and the worker may be dropped the moment its last signal is handled.
    thread = QThread(QCoreApplication.instance())
    thread.setObjectName("hear2see-recording")
    worker.moveToThread(thread)
    thread.started.connect(worker.start)
    # Direct: quit() is thread-safe, and the thread then ends even while the UI's event loop is busy.
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    worker.failed.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(thread.deleteLater)
    worker.thread = thread
    thread.start()
    return thread
