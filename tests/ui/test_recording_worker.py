"""The recording worker on its QThread: live Whisper text while speaking, a level meter, a clean end.

PySide6 calls a lambda (or any non-QObject callable, pytest-qt's signal blockers included) in the
thread that emits, so signals are collected by a QObject living in the UI thread, as a widget
would receive them, and the test waits by polling with `qtbot.waitUntil`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThread, Slot
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.recording import MIN_LEVEL_DBFS, Take
from hear2see_desktop.ui.recording_worker import RecordingWorker, start_recording_thread
from tests.fake_input_stream import make_fake_factory
from tests.speech import speak

# Long enough (about 5 s) that Whisper's first 2 s re-decode happens well before the end.
ENGLISH_TEXT = "The quick brown fox jumps over the lazy dog near the quiet river at sunset."
TIMEOUT_MS = 30_000  # generous: a busy 2-core machine may run far slower than real time


class SignalLog(QObject):
    """Receives a worker's signals in the UI thread (queued, like a widget) as (name, value, time)."""

    def __init__(self, worker: RecordingWorker) -> None:
        super().__init__()
        self.events: list[tuple[str, object, float]] = []
        worker.amplitude_changed.connect(self.on_amplitude)
        worker.elapsed_changed.connect(self.on_elapsed)
        worker.partial_text.connect(self.on_partial_text)
        worker.device_lost.connect(self.on_device_lost)
        worker.finished.connect(self.on_finished)
        worker.failed.connect(self.on_failed)

    def _add(self, name: str, value: object) -> None:
        self.events.append((name, value, time.monotonic()))

    @Slot(float)
    def on_amplitude(self, value: float) -> None:
        self._add("amplitude_changed", value)

    @Slot(float)
    def on_elapsed(self, value: float) -> None:
        self._add("elapsed_changed", value)

    @Slot(str)
    def on_partial_text(self, value: str) -> None:
        self._add("partial_text", value)

    @Slot(str)
    def on_device_lost(self, value: str) -> None:
        self._add("device_lost", value)

    @Slot(object)
    def on_finished(self, value: object) -> None:
        self._add("finished", value)

    @Slot(str)
    def on_failed(self, value: str) -> None:
        self._add("failed", value)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]

    def value(self, name: str) -> object:
        return next(value for n, value, _ in self.events if n == name)

    def ended(self) -> bool:
        return any(name in ("finished", "failed") for name in self.names())


def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the QThread deleted itself after finishing
        return False


def wait_until_thread_ends(qtbot: QtBot, log: SignalLog, thread: QThread) -> None:
    qtbot.waitUntil(log.ended, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not _running(thread), timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def english_44k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speak(ENGLISH_TEXT, tmp_path_factory.mktemp("rec-ui") / "en44k.wav", rate_hz=44100)


def test_worker_shows_live_text_then_hands_over_the_take(qtbot: QtBot, english_44k: Path) -> None:
    factory = make_fake_factory(english_44k, speed=2.0)
    duration_s = len(factory.source) / factory.source_rate_hz
    worker = RecordingWorker(engine="whisper", stream_factory=factory, samplerate_hz=44100)
    log = SignalLog(worker)
    events = log.events

    started = time.monotonic()
    thread = start_recording_thread(worker)
    qtbot.waitUntil(lambda: any(name == "partial_text" and value for name, value, _ in events), timeout=TIMEOUT_MS)
    # Stop half a second into the silence after the speech, as a speaker pausing before the click.
    stop_at_s = duration_s + 0.5
    qtbot.waitUntil(
        lambda: any(name == "elapsed_changed" and float(value) >= stop_at_s for name, value, _ in events),  # type: ignore[arg-type]
        timeout=TIMEOUT_MS,
    )
    worker.request_stop()
    wait_until_thread_ends(qtbot, log, thread)

    names = log.names()
    assert "failed" not in names and "device_lost" not in names, events
    first_text = next(i for i, (name, value, _) in enumerate(events) if name == "partial_text" and value)
    assert first_text < names.index("finished"), "live text must appear before the take ends"
    elapsed_then = max(value for name, value, _ in events[:first_text] if name == "elapsed_changed")
    print(
        f"first Whisper partial after {elapsed_then:.2f} s of audio, "
        f"{events[first_text][2] - started:.2f} s wall at 2x: {events[first_text][1]!r}"
    )

    levels = [value for name, value, _ in events if name == "amplitude_changed"]
    assert all(isinstance(v, float) and MIN_LEVEL_DBFS <= v <= 0.0 for v in levels)
    assert max(levels) > -30.0, "speech should move the level meter"
    assert levels[-1] < -60.0, "the silence after the speech should bring the meter down"

    take = log.value("finished")
    assert isinstance(take, Take) and take.duration_s >= 4.0 and not take.device_lost
    assert take.transcript is not None and "fox" in take.transcript.text.lower(), take.transcript
    assert factory.stream.closed, "the microphone must be released when the take ends"


def test_a_device_that_cannot_open_fails_with_a_sentence(qtbot: QtBot, english_44k: Path) -> None:
    factory = make_fake_factory(english_44k, unsupported_rates={48000, 44100, 32000, 16000})
    worker = RecordingWorker(engine=None, stream_factory=factory)
    log = SignalLog(worker)
    thread = start_recording_thread(worker)
    wait_until_thread_ends(qtbot, log, thread)

    assert log.names() == ["failed"]
    assert "could not be opened" in str(log.value("failed"))


def test_an_unplugged_device_ends_the_take_and_keeps_it(qtbot: QtBot, english_44k: Path) -> None:
    factory = make_fake_factory(english_44k, speed=4.0, fail_after_s=1.0)
    worker = RecordingWorker(engine=None, stream_factory=factory, samplerate_hz=48000)
    log = SignalLog(worker)
    thread = start_recording_thread(worker)
    wait_until_thread_ends(qtbot, log, thread)

    ends = [name for name in log.names() if name in ("device_lost", "finished", "failed")]
    assert ends == ["device_lost", "finished"]
    assert "unplugged" in str(log.value("device_lost"))
    take = log.value("finished")
    assert isinstance(take, Take) and take.device_lost and take.duration_s == pytest.approx(1.0, abs=0.1)


def test_a_missing_speech_model_fails_with_the_model_sentence(qtbot: QtBot, english_44k: Path, tmp_path: Path) -> None:
    factory = make_fake_factory(english_44k, speed=4.0)
    worker = RecordingWorker(engine="vosk", model_path=tmp_path, stream_factory=factory, samplerate_hz=44100)
    log = SignalLog(worker)
    thread = start_recording_thread(worker)
    wait_until_thread_ends(qtbot, log, thread)

    assert "finished" not in log.names()
    assert "does not hold a Vosk model" in str(log.value("failed"))
    assert factory.stream.closed, "the microphone must be released when the take fails"
