"""Playing a take back through a fake speaker: non-blocking, position, end, pause/resume, seek, rate fallback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sounddevice as sd

from hear2see_desktop.core import playback
from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.playback import TakePlayer, output_device_available

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


def ramp(seconds: float, rate_hz: int = RATE_HZ) -> np.ndarray:
    """A take whose every sample is distinct, so any skipped or repeated block shows."""
    n = int(seconds * rate_hz)
    return (np.arange(n, dtype=np.float32) / n) * 0.9


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the player"
        time.sleep(0.005)


def test_play_returns_at_once_and_plays_to_the_end() -> None:
    take = ramp(4.0)  # a second of sound at 4x
    factory = FakeFactory(speed=4.0)
    finished = threading.Event()
    player = TakePlayer(take, stream_factory=factory, on_finished=finished.set)

    player.play()
    assert player.is_playing and not finished.is_set(), "play() must not wait for the sound"

    wait_until(lambda: player.position_s > 0.1)
    assert player.position_s < player.duration_s
    assert finished.wait(WAIT_S)
    assert not player.is_playing
    assert player.position_s == pytest.approx(4.0)
    played = factory.played()
    assert np.array_equal(played[: len(take)], take)
    assert not np.any(played[len(take) :])  # the last block is padded with silence, not garbage
    assert factory.streams[0].callback_stopped  # the end is told with CallbackStop


def test_position_advances_while_playing() -> None:
    player = TakePlayer(ramp(2.0), stream_factory=FakeFactory(speed=4.0))
    player.play()
    seen = []
    deadline = time.monotonic() + WAIT_S
    while player.is_playing and time.monotonic() < deadline:
        seen.append(player.position_s)
        time.sleep(0.02)
    assert len(set(seen)) > 3
    assert seen == sorted(seen)


def test_pause_holds_the_position_and_play_resumes_seamlessly() -> None:
    take = ramp(1.0)
    factory = FakeFactory(speed=2.0)
    finished = threading.Event()
    player = TakePlayer(take, stream_factory=factory, on_finished=finished.set)
    player.play()
    wait_until(lambda: player.position_s >= 0.2)

    player.pause()
    paused_at = player.position_s
    assert not player.is_playing
    assert 0.2 <= paused_at < 1.0
    time.sleep(0.05)
    assert player.position_s == paused_at
    assert not finished.is_set()  # pausing is not finishing

    player.play()
    assert finished.wait(WAIT_S)
    assert len(factory.streams) == 2
    assert factory.streams[0].closed
    played = factory.played()
    assert np.array_equal(played[: len(take)], take)  # nothing skipped, nothing repeated


def test_stop_goes_back_to_the_start_without_finishing() -> None:
    finished = threading.Event()
    factory = FakeFactory(speed=1.0)
    player = TakePlayer(ramp(2.0), stream_factory=factory, on_finished=finished.set)
    player.play()
    wait_until(lambda: player.position_s > 0.05)
    player.stop()
    assert player.position_s == 0.0 and not player.is_playing
    time.sleep(0.05)
    assert not finished.is_set()
    assert factory.streams[0].closed


def test_play_from_a_time_and_again_after_the_end() -> None:
    take = ramp(1.0)
    factory = FakeFactory(speed=8.0)
    finished = threading.Event()
    player = TakePlayer(take, stream_factory=factory, on_finished=finished.set)

    player.play(start_s=0.5)
    assert finished.wait(WAIT_S)
    assert np.array_equal(factory.streams[0].played[: len(take) // 2, 0], take[len(take) // 2 :])

    finished.clear()
    player.play()  # after the end, play starts over
    assert finished.wait(WAIT_S)
    assert np.array_equal(factory.streams[1].played[: len(take), 0], take)


def test_seek_while_paused_and_while_playing() -> None:
    take = ramp(2.0)
    factory = FakeFactory(speed=1.0)
    player = TakePlayer(take, stream_factory=factory)
    player.seek(1.5)
    assert player.position_s == pytest.approx(1.5) and not factory.streams

    player.play()
    player.seek(0.25)
    assert player.is_playing and len(factory.streams) == 2 and factory.streams[0].closed
    wait_until(lambda: len(factory.streams[1].blocks) > 0)
    assert factory.streams[1].blocks[0][0, 0] == take[int(0.25 * RATE_HZ)]
    player.stop()


def test_a_device_that_refuses_16k_gets_the_take_resampled() -> None:
    take = ramp(1.0)
    factory = FakeFactory(speed=8.0, refuse_rates=(16000,))
    finished = threading.Event()
    player = TakePlayer(take, stream_factory=factory, on_finished=finished.set)
    player.play(start_s=0.5)
    assert player.stream_rate_hz == 48000
    assert factory.requests[:3] == [(16000, 1), (16000, 2), (48000, 1)]
    assert finished.wait(WAIT_S)
    assert player.position_s == pytest.approx(1.0)
    played = factory.streams[0].played[:, 0]
    assert played.size >= 24000  # half a second at 48 kHz, started at 0.5 s
    assert abs(float(played[0]) - float(take[8000])) < 0.01
    assert abs(float(played[:24000].mean()) - float(take[8000:].mean())) < 0.01


def test_no_usable_output_is_one_sentence() -> None:
    factory = FakeFactory(refuse_rates=(16000, 48000, 44100))
    player = TakePlayer(ramp(0.5), stream_factory=factory)
    with pytest.raises(Hear2SeeError, match="could not be opened") as error:
        player.play()
    assert str(error.value).endswith(".") and not player.is_playing


def test_an_empty_take_plays_nothing() -> None:
    factory = FakeFactory()
    player = TakePlayer(np.zeros(0, np.float32), stream_factory=factory)
    player.play()
    assert not player.is_playing and not factory.streams


def test_output_device_available_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(output_device_available(), bool)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise sd.PortAudioError("Error querying device -1")

    monkeypatch.setattr(sd, "query_devices", broken)
    assert output_device_available() is False
    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [{"name": "mic", "max_output_channels": 0}])
    assert output_device_available() is False
    monkeypatch.setattr(sd, "query_devices", lambda *a, **k: [{"name": "speakers", "max_output_channels": 2}])
    assert output_device_available() is True


def test_importing_playback_does_not_need_portaudio() -> None:
    assert "sounddevice" not in playback.__dict__
