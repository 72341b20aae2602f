"""Playing a take back through the speakers, without blocking the caller.

PortAudio pulls audio from `_callback` on its own real-time thread; `play`, `pause`, `stop` and
`seek` only open and close streams, so they return at once. The position is counted from the
frames the callback has handed over, so it is what the timeline should show (ahead of what is
audible by the output latency, a few tens of milliseconds).

The output stream is injected (`stream_factory`, default `sounddevice.OutputStream`) so tests and
machines without speakers can run the same callback path. `sounddevice` is imported inside
functions: importing this module never loads PortAudio.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import Hear2SeeError

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16000
# Rates tried after the take's own when a device refuses it (many refuse 16 kHz), most common first.
FALLBACK_RATES_HZ = (48000, 44100)
NO_OUTPUT = "The sound output could not be opened ({reason}); connect speakers or choose another output device."
NO_PORTAUDIO = "Playback needs the PortAudio sound library, which could not be loaded; reinstall the app."


def output_device_available() -> bool:
    """True when PortAudio loads and lists at least one device that can play sound; never raises."""
    try:
        import sounddevice

        devices = list(sounddevice.query_devices())
        return any(int(device.get("max_output_channels", 0)) > 0 for device in devices)
    except Exception as error:  # OSError (no PortAudio), PortAudioError, anything a broken driver throws
        log.info("No audio output available: %s", error)
        return False


class TakePlayer:
    """Plays mono float32 samples; one instance per take, driven from the GUI thread.

    `on_finished()` is called when playback reaches the end (not on pause or stop), on the audio
    thread: a GUI must hand it over to its own thread (e.g. by emitting a signal).
    """

    def __init__(
        self,
        samples: np.ndarray,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
        stream_factory: Callable[..., Any] | None = None,
        device: int | str | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        mono = np.asarray(samples, dtype=np.float32)
        if mono.ndim == 2:
            mono = mono.mean(axis=1, dtype=np.float32)
        if mono.ndim != 1:
            raise ValueError(f"samples must be 1-D (or frames x channels), got shape {mono.shape}")
        if sample_rate_hz <= 0:
            raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
        self._samples = np.ascontiguousarray(mono)
        self._source_rate_hz = int(sample_rate_hz)
        self._buffer = self._samples  # what the callback reads, at `_rate_hz`
        self._rate_hz = self._source_rate_hz
        self._frame = 0  # the next frame of `_buffer` the callback will hand over
        self._stream_factory = stream_factory
        self._device = device
        self.on_finished = on_finished
        self._stream: Any = None
        self._generation = 0  # bumped whenever a stream is retired, so its late callbacks do nothing
        self._playing = False

    @property
    def duration_s(self) -> float:
        return len(self._samples) / float(self._source_rate_hz)

    @property
    def position_s(self) -> float:
        """Seconds of the take handed to the output so far (the end once finished)."""
        return min(self._frame / float(self._rate_hz), self.duration_s)

    @property
    def is_playing(self) -> bool:
        return self._playing

    @property
    def stream_rate_hz(self) -> int:
        """The rate the output stream runs at (the take's own unless the device refused it)."""
        return self._rate_hz

    def play(self, start_s: float | None = None) -> None:
        """Start playing at `start_s`, or, when None, where it was paused (the start after stop or the end)."""
        position_s = self.position_s if start_s is None else float(start_s)
        if start_s is None and self._frame >= len(self._buffer):
            position_s = 0.0
        self._retire_stream()
        position_s = min(max(0.0, position_s), self.duration_s)
        if len(self._samples) == 0 or position_s >= self.duration_s:
            self._frame = len(self._buffer)
            return
        stream_stop = _callback_stop_class()
        self._generation += 1
        generation = self._generation
        stream = self._open_stream(generation, stream_stop)
        self._frame = min(int(round(position_s * self._rate_hz)), len(self._buffer))
        self._stream = stream
        self._playing = True
        try:
            stream.start()
        except Exception as error:
            self._retire_stream()
            raise Hear2SeeError(NO_OUTPUT.format(reason=error)) from error

    def pause(self) -> None:
        """Stop the sound and keep the position, so `play()` goes on from here."""
        self._retire_stream()

    def stop(self) -> None:
        """Stop the sound and go back to the start."""
        self._retire_stream()
        self._frame = 0

    def seek(self, position_s: float) -> None:
        """Move to `position_s`; keeps playing from there when it was playing."""
        if self._playing:
            self.play(position_s)
        else:
            position_s = min(max(0.0, float(position_s)), self.duration_s)
            self._frame = min(int(round(position_s * self._rate_hz)), len(self._buffer))

    # ------------------------------------------------------------------------------------------

    def _open_stream(self, generation: int, stream_stop: type[BaseException]) -> Any:
        """Open an output stream, trying the take's rate first, then common device rates, mono then stereo."""
        factory = self._stream_factory or _default_factory()
        rates = [self._source_rate_hz] + [r for r in FALLBACK_RATES_HZ if r != self._source_rate_hz]
        last_error: Exception | None = None
        for rate_hz in rates:
            for channels in (1, 2):
                try:
                    stream = factory(
                        samplerate=rate_hz,
                        channels=channels,
                        dtype="float32",
                        device=self._device,
                        callback=self._make_callback(generation, stream_stop),
                        finished_callback=self._make_finished(generation),
                    )
                except Exception as error:  # PortAudioError, ValueError for an invalid device, ...
                    log.info("Output at %d Hz, %d channel(s) refused: %s", rate_hz, channels, error)
                    last_error = error
                    continue
                self._use_rate(rate_hz)
                return stream
        raise Hear2SeeError(NO_OUTPUT.format(reason=last_error))

    def _use_rate(self, rate_hz: int) -> None:
        if rate_hz == self._rate_hz:
            return
        if rate_hz == self._source_rate_hz:
            self._buffer = self._samples
        else:
            import soxr

            self._buffer = np.ascontiguousarray(
                soxr.resample(self._samples, self._source_rate_hz, rate_hz, quality="HQ"), dtype=np.float32
            )
        self._rate_hz = rate_hz

    def _make_callback(self, generation: int, stream_stop: type[BaseException]) -> Callable[..., None]:
        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if generation != self._generation:  # a retired stream that PortAudio still calls
                outdata.fill(0)
                raise stream_stop
            buffer = self._buffer  # read at call time: `_use_rate` may swap it before the start
            start = self._frame
            chunk = buffer[start : start + frames]
            count = len(chunk)
            outdata[:count] = chunk[:, None]
            outdata[count:] = 0
            self._frame = start + count
            if start + count >= len(buffer):
                raise stream_stop

        return callback

    def _make_finished(self, generation: int) -> Callable[[], None]:
        def finished() -> None:
            if generation != self._generation:
                return  # a stream we retired ourselves (pause, stop, seek)
            self._playing = False
            if self._frame >= len(self._buffer) and self.on_finished is not None:
                try:
                    self.on_finished()
                except Exception:  # never let a GUI hook kill PortAudio's thread
                    log.exception("on_finished failed")

        return finished

    def _retire_stream(self) -> None:
        """Close the current stream (if any) so that nothing it does later touches this player."""
        self._generation += 1
        self._playing = False
        stream, self._stream = self._stream, None
        if stream is None:
            return
        for method in ("abort", "close"):
            try:
                getattr(stream, method)()
            except Exception as error:
                log.info("Closing the output stream (%s) failed: %s", method, error)


def _default_factory() -> Callable[..., Any]:
    try:
        import sounddevice
    except OSError as error:
        raise Hear2SeeError(NO_PORTAUDIO) from error
    return sounddevice.OutputStream


def _callback_stop_class() -> type[BaseException]:
    """`sounddevice.CallbackStop` (how a callback says "that was the last block")."""
    try:
        import sounddevice
    except OSError as error:
        raise Hear2SeeError(NO_PORTAUDIO) from error
    return sounddevice.CallbackStop


__all__ = ["TakePlayer", "output_device_available", "SAMPLE_RATE_HZ"]
