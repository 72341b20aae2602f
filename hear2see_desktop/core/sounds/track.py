"""The sound-event track: the take in short overlapping windows, each with its top AudioSet classes and loudness.

Windows last `WINDOW_S` and start every `HOP_S`; they cover the take exactly: the first starts at 0, the
last ends at the take's end (its samples padded with zeros up to the window length, its `end_s` the take's
end), and a take shorter than one window is one window. Loudness is the RMS of the window's own samples in
dBFS (padding not counted). The track is plain data (to_dict/from_dict), so the storyboard, the run record
and the project keep it and a replay needs no tagger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, never_cancelled, no_progress, raise_if_cancelled
from hear2see_desktop.core.sounds.tagger import SoundTagger

WINDOW_S = 1.0
"""How long one tagged window is: about one sound event."""
HOP_S = 0.5
"""Time between window starts: windows overlap by half."""
TOP_K = 5
"""Classes kept per window, best first."""
SILENT_DBFS = -120.0
"""The loudness of an all-zero window (a floor instead of minus infinity)."""
_BATCH = 8


@dataclass(frozen=True)
class SoundEvent:
    """One AudioSet class heard in a window, with the tagger's score for it in [0, 1]."""

    label: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SoundEvent:
        return cls(str(data["label"]), float(data["score"]))


@dataclass(frozen=True)
class SoundWindow:
    """One window of the take: its times in seconds, its top events (best first) and its RMS loudness in dBFS."""

    start_s: float
    end_s: float
    events: tuple[SoundEvent, ...]
    loudness_dbfs: float

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4),
                "events": [event.to_dict() for event in self.events], "loudness_dbfs": round(self.loudness_dbfs, 2)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SoundWindow:
        return cls(float(data["start_s"]), float(data["end_s"]),
                   tuple(SoundEvent.from_dict(e) for e in data["events"]), float(data["loudness_dbfs"]))


@dataclass(frozen=True)
class SoundTrack:
    """The take's windows in time order, and the tagger that heard them (its folder name)."""

    windows: tuple[SoundWindow, ...]
    duration_s: float
    model: str = ""
    window_s: float = WINDOW_S
    hop_s: float = HOP_S

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "duration_s": self.duration_s, "window_s": self.window_s, "hop_s": self.hop_s,
                "windows": [window.to_dict() for window in self.windows]}

    @classmethod
    def from_dict(cls, data: Any) -> SoundTrack:
        """Read the `to_dict` shape; KeyError, TypeError or ValueError on a wrong one."""
        if not isinstance(data, dict):
            raise TypeError("a sound track is a JSON object")
        return cls(tuple(SoundWindow.from_dict(w) for w in data["windows"]), float(data["duration_s"]),
                   str(data.get("model", "")), float(data.get("window_s", WINDOW_S)),
                   float(data.get("hop_s", HOP_S)))

    def inside(self, start_s: float, end_s: float) -> list[SoundWindow]:
        """The windows whose middle lies in [start_s, end_s) (the last scene's end included)."""
        last = end_s >= self.duration_s - 1e-9
        return [w for w in self.windows
                if start_s <= (w.start_s + w.end_s) / 2 < end_s or (last and (w.start_s + w.end_s) / 2 >= start_s)]


def window_spans(duration_s: float, window_s: float = WINDOW_S, hop_s: float = HOP_S) -> list[tuple[float, float]]:
    """(start_s, end_s) of each window over a take of `duration_s`: from 0, every `hop_s`, the last ending at
    the end."""
    if duration_s <= window_s:
        return [(0.0, float(duration_s))]
    count = math.ceil((duration_s - window_s) / hop_s - 1e-9) + 1
    return [(k * hop_s, min(k * hop_s + window_s, float(duration_s))) for k in range(count)]


def loudness_dbfs(samples: np.ndarray) -> float:
    """The RMS of `samples` in dBFS, `SILENT_DBFS` for silence."""
    x = np.asarray(samples, dtype=np.float64)
    mean_square = float(np.mean(x * x)) if x.size else 0.0
    return max(10.0 * math.log10(mean_square), SILENT_DBFS) if mean_square > 0 else SILENT_DBFS


def tag_audio(audio: Audio, tagger: SoundTagger, progress: ProgressFn = no_progress,
              cancelled: CancelledFn = never_cancelled, top_k: int = TOP_K) -> SoundTrack:
    """The sound-event track of `audio` (any rate: resampled to the tagger's), windows tagged a batch at a time."""
    from hear2see_desktop.core.analysis.onsets import resample

    samples = np.asarray(audio.samples, dtype=np.float32)
    rate = tagger.sample_rate_hz
    if audio.sample_rate_hz != rate:
        samples = resample(samples, audio.sample_rate_hz, rate)
    duration_s = audio.duration_s
    spans = window_spans(duration_s)
    length = int(round(WINDOW_S * rate))
    windows: list[SoundWindow] = []
    for first in range(0, len(spans), _BATCH):
        raise_if_cancelled(cancelled)
        progress(first, len(spans), "Hearing sound events", None)
        batch = spans[first:first + _BATCH]
        pieces = [samples[int(round(s * rate)):int(round(e * rate))] for s, e in batch]
        padded = np.stack([np.pad(p, (0, max(0, length - p.size)))[:length] for p in pieces])
        scores = tagger.scores(padded)
        for (start_s, end_s), piece, row in zip(batch, pieces, scores, strict=True):
            best = np.argsort(-row, kind="stable")[:top_k]
            # Rounded as the JSON keeps them, so the track a render used and the one its record holds are equal.
            events = tuple(SoundEvent(tagger.labels[i], round(float(row[i]), 4)) for i in best)
            windows.append(SoundWindow(round(start_s, 4), round(end_s, 4), events, round(loudness_dbfs(piece), 2)))
    progress(len(spans), len(spans), "Hearing sound events", None)
    return SoundTrack(tuple(windows), duration_s, tagger.name)
