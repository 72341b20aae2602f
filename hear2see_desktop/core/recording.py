"""Recording narration from a microphone into a 16 kHz take, with live level and live transcription.

The PortAudio callback runs on a real-time audio thread, so it only copies each block into a queue.
Resampling and the level meter happen in `Recorder.process_pending`, which ONE worker thread calls in
a loop (`start`, `process_pending` and `stop` must all be called from it). Speech recognition runs on
a thread of its own: a Whisper re-decode takes a second or more on a laptop CPU, and the level meter
and the take must not stall while it does.

The input stream is injected (`stream_factory`, default `sounddevice.InputStream`) so tests and
headless machines can replay a file through the very same callback path. `sounddevice` is imported
inside functions: importing this module never loads PortAudio.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from hear2see_desktop.core.asr.base import SAMPLE_RATE_HZ, StreamingRecognizer
from hear2see_desktop.core.audio import Audio, write_wav
from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.transcript import Transcript, Word

log = logging.getLogger(__name__)

# Rates tried after the device's own, most common first; 16 kHz last because many USB mics refuse it.
FALLBACK_RATES_HZ = (48000, 44100, 32000, 16000)
# Reported level for digital silence, so signals always carry a finite number.
MIN_LEVEL_DBFS = -100.0
NO_MICROPHONE = "No microphone was found: connect one, or import an audio file."
NO_PORTAUDIO = (
    "Recording needs the PortAudio sound library, which could not be loaded: reinstall the app, "
    "or import an audio file."
)
DEVICE_LOST = "The microphone stopped delivering sound (was it unplugged?); the take up to that point is kept."


@dataclass
class InputDevice:
    """A PortAudio device that can record; `index` is what `Recorder(device=...)` takes."""

    index: int
    name: str
    default_samplerate_hz: float
    max_input_channels: int
    is_default: bool


@dataclass
class RecorderUpdate:
    """What one `process_pending` call saw: level of the newest block, time recorded, text so far."""

    level_dbfs: float
    peak_dbfs: float
    elapsed_s: float
    partial_text: str = ""
    new_final_words: list[Word] = field(default_factory=list)
    device_lost: bool = False


@dataclass
class Take:
    """One recording: mono float32 samples at 16 kHz and, when a recogniser ran, what it heard.

    `device_lost` says the microphone vanished mid-take (the samples up to then are all here);
    `transcript_error` is a sentence when live recognition failed while the recording went on.
    """

    samples: np.ndarray
    transcript: Transcript | None = None
    sample_rate_hz: int = SAMPLE_RATE_HZ
    device_lost: bool = False
    native_rate_hz: float = 0.0
    transcript_error: str | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate_hz)

    def to_audio(self) -> Audio:
        """The take in the shape the rest of the pipeline reads (what `load_audio` returns)."""
        return Audio(samples=self.samples, sample_rate_hz=self.sample_rate_hz)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the take as a 16-bit WAV, atomically, so a crash never leaves half a narration."""
        return write_wav(path, self.samples, self.sample_rate_hz)


def _sounddevice() -> Any:
    """The sounddevice module; raises OSError when the PortAudio library itself is missing."""
    import sounddevice

    return sounddevice


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel; an empty list (never an error) without PortAudio."""
    try:
        sd = _sounddevice()
        devices = list(sd.query_devices())
    except Exception as error:  # OSError (no PortAudio), PortAudioError, anything a broken driver throws
        log.info("Could not list audio input devices: %s", error)
        return []
    try:
        default_index = int(sd.query_devices(kind="input")["index"])
    except Exception:  # no default input device
        default_index = -1
    found = []
    for position, info in enumerate(devices):
        try:
            channels = int(info.get("max_input_channels", 0))
            if channels < 1:
                continue
            index = int(info.get("index", position))
            found.append(
                InputDevice(
                    index=index,
                    name=str(info.get("name", f"Input {index}")),
                    default_samplerate_hz=float(info.get("default_samplerate", 0.0) or 0.0),
                    max_input_channels=channels,
                    is_default=index == default_index,
                )
            )
        except (TypeError, ValueError, AttributeError) as error:
            log.info("Skipping an audio device with odd details (%r): %s", info, error)
    return found


def no_microphone_reason() -> str | None:
    """Why recording is impossible right now (a tooltip for a disabled Record button), or None."""
    try:
        _sounddevice()
    except Exception as error:
        log.info("PortAudio is not available: %s", error)
        return NO_PORTAUDIO
    if not list_input_devices():
        return NO_MICROPHONE
    return None


def level_dbfs(block: np.ndarray) -> tuple[float, float]:
    """(RMS, peak) of a block in dBFS, floored at MIN_LEVEL_DBFS so silence is a number, not -inf."""
    if block.size == 0:
        return MIN_LEVEL_DBFS, MIN_LEVEL_DBFS
    values = block.astype(np.float64, copy=False)
    rms = float(np.sqrt(np.mean(values * values)))
    peak = float(np.max(np.abs(values)))
    floor = 10.0 ** (MIN_LEVEL_DBFS / 20.0)
    return 20.0 * math.log10(max(rms, floor)), 20.0 * math.log10(max(peak, floor))


def _unique(values: Iterable[float]) -> list[float]:
    result: list[float] = []
    for value in values:
        if value and value > 0 and value not in result:
            result.append(value)
    return result


class _LiveRecognition:
    """Feeds a recogniser on its own thread; audio that piles up during a slow decode goes in as one piece.

    A recogniser that raises is dropped (`error` says why): the recording matters more than live text.
    """

    def __init__(self, recognizer: StreamingRecognizer) -> None:
        self._recognizer = recognizer
        self._inbox: queue.SimpleQueue[np.ndarray | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._partial_text = ""
        self._new_words: list[Word] = []
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="hear2see-live-asr", daemon=True)
        self._thread.start()

    def put(self, samples16k: np.ndarray) -> None:
        if samples16k.size:
            self._inbox.put(samples16k)

    def _run(self) -> None:
        ended = False
        while not ended:
            pieces = [self._inbox.get()]
            try:
                while True:
                    pieces.append(self._inbox.get_nowait())
            except queue.Empty:
                pass
            ended = pieces[-1] is None
            audio = [piece for piece in pieces if piece is not None]
            if not audio or self.error is not None:
                continue
            try:
                update = self._recognizer.feed(np.concatenate(audio) if len(audio) > 1 else audio[0])
            except Exception as error:
                log.exception("Live speech recognition failed; recording goes on without it")
                self.error = f"Live speech recognition stopped ({error}); transcribe the saved take instead."
                continue
            with self._lock:
                self._partial_text = update.partial_text
                self._new_words.extend(update.new_final_words)

    def latest(self) -> tuple[str, list[Word]]:
        """The text so far and the words made final since the last call."""
        with self._lock:
            words, self._new_words = self._new_words, []
            return self._partial_text, words

    def finish(self) -> Transcript | None:
        """Wait for the queued audio to be recognised, then end the take (None when recognition failed)."""
        self._inbox.put(None)
        self._thread.join()
        if self.error is not None:
            return None
        try:
            return self._recognizer.finish()
        except Exception as error:
            log.exception("Finishing live speech recognition failed")
            self.error = f"Speech recognition failed ({error}); transcribe the saved take instead."
            return None


class Recorder:
    """One microphone take at a time: `start()`, `process_pending()` in a loop, `stop() -> Take`.

    The stream is opened at the device's own rate (resampling with soxr is better than most drivers'),
    mono when the device allows it, else with more channels averaged down to mono.
    """

    def __init__(
        self,
        device: int | None = None,
        stream_factory: Callable[..., Any] | None = None,
        recognizer: StreamingRecognizer | None = None,
        block_s: float = 0.1,
        samplerate_hz: float | None = None,
        stall_timeout_s: float = 2.0,
    ) -> None:
        """`samplerate_hz` is the first rate to try (None: the device's default rate from PortAudio);
        `stall_timeout_s` without a single block from a running stream counts as a lost device.
        """
        self.device = device
        self._stream_factory = stream_factory
        self._recognizer = recognizer
        self._live: _LiveRecognition | None = None
        self.block_s = block_s
        self._first_rate_hz = samplerate_hz
        self.stall_timeout_s = stall_timeout_s
        self.native_rate_hz = 0.0
        self.channels = 0
        self._stream: Any = None
        self._blocks: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._resampler: Any = None
        self._chunks: list[np.ndarray] = []
        self._frames_in = 0
        self._last_callback_s = 0.0
        self._overflows = 0
        self._level = (MIN_LEVEL_DBFS, MIN_LEVEL_DBFS)
        self._device_lost = False
        self._stopping = threading.Event()
        self._take: Take | None = None

    # --- opening -----------------------------------------------------------------------------
    def _device_info(self) -> InputDevice | None:
        devices = list_input_devices()
        if self.device is None:
            return next((d for d in devices if d.is_default), devices[0] if devices else None)
        return next((d for d in devices if d.index == self.device), None)

    def _open(self) -> None:
        """Try the native rate, then the usual ones, mono first; raise a sentence when none opens."""
        info = None
        factory = self._stream_factory
        if factory is None:
            try:
                factory = _sounddevice().InputStream
            except Exception as error:
                raise Hear2SeeError(NO_PORTAUDIO) from error
            info = self._device_info()
            if info is None:
                raise Hear2SeeError(NO_MICROPHONE)
        # The rate asked for, then the device's own (a device that refuses it usually takes its default,
        # which may be none of the usual rates: 22.05 or 96 kHz), then the usual ones.
        default_hz = info.default_samplerate_hz if info else 0.0
        rates = _unique([self._first_rate_hz or 0.0, default_hz, *FALLBACK_RATES_HZ])
        max_channels = info.max_input_channels if info else 2
        channel_choices = [1] if max_channels <= 1 else [1, min(max_channels, 2)]
        if max_channels > 2:
            channel_choices.append(max_channels)
        # With no device chosen, name the one found: PortAudio's "default" fails when none is marked default.
        device = self.device if self.device is not None or info is None else info.index
        last_error: Exception | None = None
        for rate in rates:
            for channels in channel_choices:
                try:
                    stream = factory(
                        samplerate=rate,
                        channels=channels,
                        dtype="float32",
                        callback=self._callback,
                        device=device,
                        blocksize=max(1, int(round(rate * self.block_s))),
                    )
                except Exception as error:  # sounddevice.PortAudioError, or ValueError for odd settings
                    log.info("Microphone refused %g Hz x %d channel(s): %s", rate, channels, error)
                    last_error = error
                    continue
                self._stream, self.native_rate_hz, self.channels = stream, float(rate), channels
                return
        tried = ", ".join(f"{rate:g}" for rate in rates)
        raise Hear2SeeError(
            f"The microphone could not be opened at any usual sample rate ({tried} Hz): {last_error}. "
            "Check that it is connected and not used by another app, or import an audio file."
        )

    def start(self) -> None:
        """Open and start the input stream; raises Hear2SeeError with a sentence when it cannot."""
        if self._stream is not None:
            raise RuntimeError("This recorder is already recording; make a new Recorder for the next take.")
        self._open()
        if self.native_rate_hz != SAMPLE_RATE_HZ:
            self._resampler = soxr.ResampleStream(self.native_rate_hz, SAMPLE_RATE_HZ, 1, dtype="float32", quality="HQ")
        self._last_callback_s = time.monotonic()
        try:
            self._stream.start()
        except Exception as error:
            self._close_stream()
            raise Hear2SeeError(
                f"The microphone could not be started ({error}); check that no other app holds it, "
                "or import an audio file."
            ) from error
        log.info("Recording at %g Hz, %d channel(s)", self.native_rate_hz, self.channels)
        if self._recognizer is not None:
            self._live = _LiveRecognition(self._recognizer)

    # --- the audio thread --------------------------------------------------------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's callback: copy and queue, nothing else (it must never block or allocate much)."""
        if status:
            self._overflows += 1  # dropped samples (a busy machine), not a lost device: note and go on
        self._blocks.put(indata.copy())
        self._last_callback_s = time.monotonic()

    # --- the worker thread -------------------------------------------------------------------
    def set_recognizer(self, recognizer: StreamingRecognizer) -> None:
        """Attach a recogniser that finished loading after the take began; it first hears the take so far."""
        if self._recognizer is not None:
            raise RuntimeError("This recorder already has a recogniser.")
        self._recognizer = recognizer
        if self._stream is not None:  # already recording (else `start` sets it going)
            self._live = _LiveRecognition(recognizer)
            if self._chunks:
                self._live.put(np.concatenate(self._chunks))

    def _drain(self, timeout_s: float) -> list[np.ndarray]:
        """Wait up to `timeout_s` for the first block (so the caller's loop sleeps), then take them all."""
        blocks: list[np.ndarray] = []
        try:
            blocks.append(self._blocks.get(timeout=timeout_s) if timeout_s > 0 else self._blocks.get_nowait())
            while True:
                blocks.append(self._blocks.get_nowait())
        except queue.Empty:
            pass
        return blocks

    def _take_in(self, blocks: list[np.ndarray]) -> np.ndarray:
        """Downmix, resample to 16 kHz and keep; returns the new 16 kHz samples."""
        native = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
        mono = native[:, 0] if native.shape[1] == 1 else native.mean(axis=1, dtype=np.float32)
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        self._frames_in += len(mono)
        last = blocks[-1]
        self._level = level_dbfs(last[:, 0] if last.shape[1] == 1 else last.mean(axis=1))
        new = self._resampler.resample_chunk(mono) if self._resampler is not None else mono.copy()
        if new.size:
            self._chunks.append(new)
        return new

    def _check_device(self) -> None:
        """Notice a device that is gone: the stream says it stopped, raises, or has gone quiet too long."""
        if self._device_lost or self._stream is None or self._stopping.is_set():
            return
        try:
            active = bool(self._stream.active)
        except Exception as error:
            log.warning("The input stream failed: %s", error)
            active = False
        silent_for_s = time.monotonic() - self._last_callback_s
        if not active or silent_for_s > self.stall_timeout_s:
            log.warning("Input device lost (active=%s, no audio for %.1f s)", active, silent_for_s)
            self._device_lost = True

    def process_pending(self, timeout_s: float = 0.05) -> RecorderUpdate:
        """Take in what the microphone delivered (waiting up to `timeout_s` for it) and report."""
        blocks = self._drain(timeout_s)
        if blocks:
            new = self._take_in(blocks)
            if self._live is not None:
                self._live.put(new)
        else:
            self._check_device()
        partial_text, new_words = self._live.latest() if self._live is not None else ("", [])
        return RecorderUpdate(
            level_dbfs=self._level[0],
            peak_dbfs=self._level[1],
            elapsed_s=self.elapsed_s,
            partial_text=partial_text,
            new_final_words=new_words,
            device_lost=self._device_lost,
        )

    @property
    def elapsed_s(self) -> float:
        """Seconds of audio taken in so far (counted at the device's rate, so it does not lag the resampler)."""
        return self._frames_in / self.native_rate_hz if self.native_rate_hz else 0.0

    @property
    def device_lost(self) -> bool:
        return self._device_lost

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        for method in ("stop", "close"):
            try:
                getattr(stream, method)()
            except Exception as error:  # a vanished device often fails here too; the take is what matters
                log.info("Closing the input stream (%s) failed: %s", method, error)

    def stop(self) -> Take:
        """Close the stream, take in the last blocks, flush resampler and recogniser; calling again is harmless."""
        if self._take is not None:
            return self._take
        self._stopping.set()
        self._close_stream()
        blocks = self._drain(0)
        new = [self._take_in(blocks)] if blocks else []
        if self._resampler is not None:
            new.append(self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
            self._chunks.append(new[-1])
            self._resampler = None  # the C object goes with it, not at interpreter exit
        transcript = None
        if self._live is not None:
            for piece in new:
                self._live.put(piece)
            transcript = self._live.finish()
        if self._overflows:
            log.warning("The input overflowed %d time(s) during the take (samples were dropped)", self._overflows)
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)
        self._take = Take(
            samples=np.clip(samples, -1.0, 1.0).astype(np.float32, copy=False),
            transcript=transcript,
            device_lost=self._device_lost,
            native_rate_hz=self.native_rate_hz,
            transcript_error=self._live.error if self._live is not None else None,
        )
        return self._take
