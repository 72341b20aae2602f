"""The one interface every speech recogniser follows, so the pipeline never cares which engine ran.

Engines take 16 kHz mono float32 samples (not paths): decoding files is `core.audio`'s job, and
the microphone hands over the same samples while recording.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.transcript import Transcript, Word

SAMPLE_RATE_HZ = 16000


@dataclass
class StreamUpdate:
    """What one `feed` changed: the running text (unfinished part included) and newly final words."""

    partial_text: str
    new_final_words: list[Word] = field(default_factory=list)


class StreamingRecognizer(Protocol):
    """Recognition of one take while it is being recorded."""

    def feed(self, samples16k: np.ndarray) -> StreamUpdate:
        """Add the next samples (16 kHz mono float32); returns the text so far."""
        ...

    def finish(self) -> Transcript:
        """End the take; all words, times in seconds from the start of the stream."""
        ...


class AsrEngine(Protocol):
    """A loaded recogniser: `name` is "vosk" or "whisper", `model_name` says which model."""

    name: str
    model_name: str

    def transcribe(self, samples: np.ndarray, progress: ProgressFn, cancelled: CancelledFn) -> Transcript:
        """Recognise a whole take; progress is (seconds done, seconds total); cancel between chunks."""
        ...

    def stream(self) -> StreamingRecognizer:
        """A fresh recogniser for live input."""
        ...


def as_mono_16k(samples: np.ndarray) -> np.ndarray:
    """The samples as a 1-D float32 array; anything else is a caller's mistake worth a clear message."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim != 1:
        raise BadInputError(
            f"Speech recognition needs mono 16 kHz samples, got an array of shape {array.shape}; "
            "load the audio with core.audio first."
        )
    return array


def monotonic_words(words: list[Word], after_s: float = 0.0) -> list[Word]:
    """Words in order with start <= end, times never going back (engines overlap a little), conf in [0, 1].

    `after_s` is where the previous words ended, so words appended while streaming stay in order too.
    """
    result: list[Word] = []
    last_end = after_s
    for word in words:
        start = max(float(word.start), last_end)
        end = max(float(word.end), start)
        conf = min(max(float(word.conf), 0.0), 1.0)
        result.append(Word(word.word, round(start, 3), round(end, 3), round(conf, 4)))
        last_end = end
    return result


def join_words(words: list[Word]) -> str:
    """The text a list of words makes."""
    return " ".join(w.word for w in words)


def report_seconds(progress: ProgressFn, done_s: float, total_s: float) -> None:
    """Progress as whole seconds of audio done out of the take's length (rounded up); done == total at the end."""
    done_s = min(max(done_s, 0.0), total_s)
    total = max(1, math.ceil(total_s))
    done = total if done_s >= total_s else min(total - 1, math.floor(done_s))
    progress(done, total, f"Recognising speech: {done_s:.1f} s of {total_s:.1f} s", None)
