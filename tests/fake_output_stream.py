"""A fake sounddevice output stream that plays on its own thread in real time, for playback tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sounddevice as sd

RATE_HZ = 16000


WAIT_S = 10.0  # generous: a busy 2-core machine may be slow to schedule the fake's thread


class FakeOutputStream:
    """Pulls audio from the callback on its own thread, as PortAudio does, paced at `speed` x real time.

    Everything the callback writes is kept in `played` (frames x channels), so a test can hear
    exactly what would have come out of the speaker.
    """

    def __init__(
        self,
        samplerate: float,
        channels: int,
        dtype: str,
        callback: Callable[..., None],
        finished_callback: Callable[[], None] | None = None,
        device: Any = None,
        blocksize: int = 400,
        speed: float = 1.0,
    ) -> None:
        assert dtype == "float32"
        self.samplerate = samplerate
        self.channels = channels
        self.device = device
        self.blocksize = blocksize
        self.speed = speed
        self._callback = callback
        self._finished_callback = finished_callback
        self.blocks: list[np.ndarray] = []
        self.active = False
        self.closed = False
        self.callback_stopped = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def played(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros((0, self.channels), np.float32)

    def start(self) -> None:
        self.active = True
        self._thread = threading.Thread(target=self._run, name="fake-output-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.monotonic()
        frames_done = 0
        while not self._stop.is_set():
            outdata = np.full((self.blocksize, self.channels), np.nan, dtype=np.float32)
            try:
                self._callback(outdata, self.blocksize, None, sd.CallbackFlags())
            except sd.CallbackStop:
                self.blocks.append(outdata)
                self.callback_stopped = True
                break
            self.blocks.append(outdata)
            frames_done += self.blocksize
            self._stop.wait(max(0.0, t0 + frames_done / self.samplerate / self.speed - time.monotonic()))
        self.active = False
        if self._finished_callback is not None:
            self._finished_callback()

    def abort(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=WAIT_S)
        self.active = False

    stop = abort

    def close(self) -> None:
        self.abort()
        self.closed = True


class FakeFactory:
    """Callable like `sounddevice.OutputStream`; can refuse rates; remembers every stream it opened."""

    def __init__(self, speed: float = 1.0, refuse_rates: tuple[float, ...] = (), blocksize: int = 384) -> None:
        self.speed = speed
        self.refuse_rates = refuse_rates
        self.blocksize = blocksize
        self.requests: list[tuple[float, int]] = []
        self.streams: list[FakeOutputStream] = []

    def __call__(self, **kwargs: Any) -> FakeOutputStream:
        self.requests.append((kwargs["samplerate"], kwargs["channels"]))
        if kwargs["samplerate"] in self.refuse_rates:
            raise sd.PortAudioError("Invalid sample rate", -9997)
        stream = FakeOutputStream(**kwargs, speed=self.speed, blocksize=self.blocksize)
        self.streams.append(stream)
        return stream

    def played(self) -> np.ndarray:
        """Mono audio of every stream, in order (what the listener heard, pauses cut out)."""
        return np.concatenate([s.played[:, 0] for s in self.streams])
