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
from tests.fake_output_stream import RATE_HZ, WAIT_S, FakeFactory


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
