"""A stand-in for `sounddevice.InputStream` that "records" a WAV file, for machines without a microphone.

It calls the recorder's callback exactly as PortAudio does (`callback(indata, frames, time_info,
status)`, indata float32 shaped (frames, channels)) from its own thread, paced in real time divided
by `speed`, and after the file keeps delivering silence until stopped, like a mic in a quiet room.
It can refuse sample rates or channel counts, and can "lose" the device part-way through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import sounddevice as sd
import soundfile as sf
import soxr

# How a lost device shows itself: "inactive" (PortAudio stops the stream), "stalled" (callbacks just
# stop while the stream claims to run, as some ALSA drivers do) or "error" (asking the stream raises).
FAIL_MODES = ("inactive", "stalled", "error")
_PA_INVALID_SAMPLE_RATE = -9997
_PA_INVALID_CHANNEL_COUNT = -9998
_PA_UNANTICIPATED_HOST_ERROR = -9999


class FakeInputStream:
    """Replays `source` (mono float32 at `source_rate_hz`) as if a microphone were hearing it."""

    def __init__(
        self,
        samplerate: float | None = None,
        blocksize: int | None = None,
        device: int | str | None = None,
        channels: int | None = None,
        dtype: str | None = None,
        latency: Any = None,
        extra_settings: Any = None,
        callback: Callable[..., None] | None = None,
        finished_callback: Callable[[], None] | None = None,
        *,
        source: np.ndarray,
        source_rate_hz: int,
        speed: float = 1.0,
        unsupported_rates: Iterable[float] = (),
        only_channels: int | None = None,
        fail_after_s: float | None = None,
        fail_mode: str = "inactive",
    ) -> None:
        rate = float(samplerate or 48000)
        if rate in {float(r) for r in unsupported_rates}:
            raise sd.PortAudioError("Invalid sample rate", _PA_INVALID_SAMPLE_RATE)
        channels = int(channels or 1)
        if only_channels is not None and channels != only_channels:
            raise sd.PortAudioError("Invalid number of channels", _PA_INVALID_CHANNEL_COUNT)
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"FakeInputStream only delivers float32, not {dtype!r}")
        if fail_mode not in FAIL_MODES:
            raise ValueError(f"fail_mode must be one of {FAIL_MODES}")
        if callback is None:
            raise ValueError("FakeInputStream needs a callback (the blocking read API is not faked)")
        self.samplerate = rate
        self.blocksize = int(blocksize) if blocksize else 512
        self.device = device
        self.channels = channels
        self.dtype = "float32"
        self.latency = latency
        self._callback = callback
        self._finished_callback = finished_callback
        mono = np.asarray(source, dtype=np.float32)
        self.source = mono if source_rate_hz == rate else soxr.resample(mono, source_rate_hz, rate, quality="HQ")
        self.speed = speed
        self.fail_after_frames = None if fail_after_s is None else int(round(fail_after_s * rate))
        self.fail_mode = fail_mode
        self.frames_delivered = 0
        self.source_done = threading.Event()  # every source frame has gone through the callback
        self.failed = threading.Event()  # the simulated unplug happened
        self.closed = False
        self._active = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        if self.failed.is_set() and self.fail_mode == "error":
            raise sd.PortAudioError("Unanticipated host error", _PA_UNANTICIPATED_HOST_ERROR)
        return self._active

    @property
    def stopped(self) -> bool:
        return not self._active

    def start(self) -> None:
        if self.closed:
            raise sd.PortAudioError("Stream is closed")
        if self._thread is not None:
            return
        self._active = True
        self._thread = threading.Thread(target=self._run, name="fake-input-stream", daemon=True)
        self._thread.start()

    def _block(self, start: int) -> np.ndarray:
        piece = self.source[start : start + self.blocksize]
        if len(piece) < self.blocksize:
            piece = np.concatenate([piece, np.zeros(self.blocksize - len(piece), dtype=np.float32)])
        return np.ascontiguousarray(np.repeat(piece[:, None], self.channels, axis=1))

    def _run(self) -> None:
        t0 = time.monotonic()
        status = sd.CallbackFlags()
        while not self._stop.is_set():
            if self.fail_after_frames is not None and self.frames_delivered >= self.fail_after_frames:
                self.failed.set()
                if self.fail_mode == "inactive":
                    self._active = False
                return  # no more callbacks: the device is gone
            indata = self._block(self.frames_delivered)
            now = time.monotonic() - t0
            time_info = SimpleNamespace(inputBufferAdcTime=now, currentTime=now, outputBufferDacTime=0.0)
            try:
                self._callback(indata, self.blocksize, time_info, status)
            except sd.CallbackStop:
                break
            except sd.CallbackAbort:
                break
            self.frames_delivered += self.blocksize
            if self.frames_delivered >= len(self.source):
                self.source_done.set()
            due = t0 + self.frames_delivered / self.samplerate / self.speed
            self._stop.wait(max(0.0, due - time.monotonic()))
        self._active = False
        if self._finished_callback is not None:
            self._finished_callback()

    def stop(self, ignore_errors: bool = True) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._active = False

    abort = stop

    def close(self, ignore_errors: bool = True) -> None:
        self.stop()
        self.closed = True

    def __enter__(self) -> FakeInputStream:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeStreamFactory:
    """Callable like `sounddevice.InputStream`; remembers every rate asked for and every stream made."""

    def __init__(self, source: np.ndarray, source_rate_hz: int, **options: Any) -> None:
        self.source = np.asarray(source, dtype=np.float32)
        self.source_rate_hz = source_rate_hz
        self.options = options
        self.requested: list[tuple[float, int]] = []  # (samplerate, channels) of every attempt
        self.devices: list[Any] = []  # the `device` argument of every attempt
        self.streams: list[FakeInputStream] = []

    def __call__(self, **kwargs: Any) -> FakeInputStream:
        self.requested.append((float(kwargs.get("samplerate") or 0), int(kwargs.get("channels") or 1)))
        self.devices.append(kwargs.get("device"))
        stream = FakeInputStream(**kwargs, source=self.source, source_rate_hz=self.source_rate_hz, **self.options)
        self.streams.append(stream)
        return stream

    @property
    def stream(self) -> FakeInputStream:
        """The stream that opened (the last one made)."""
        assert self.streams, "no stream was opened"
        return self.streams[-1]


def make_fake_factory(wav_path: str | Path, **options: Any) -> FakeStreamFactory:
    """A factory replaying `wav_path` (downmixed to mono); options go to FakeInputStream
    (speed, unsupported_rates, only_channels, fail_after_s, fail_mode)."""
    samples, rate_hz = sf.read(str(wav_path), dtype="float32", always_2d=True)
    return FakeStreamFactory(samples.mean(axis=1), int(rate_hz), **options)
