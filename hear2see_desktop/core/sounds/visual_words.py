"""What the sound events inside a scene add to its prompt: visual phrases, and distance and size from loudness.

The mapping is data (`resources/sounds/visual_words.json`): AudioSet class -> phrase ("Rain" -> "rain, wet
streets"), the classes that never become pictures (speech, silence, room tone), how strong an event must be,
and the loudness words. Loudness is relative to the take (halfway between its quiet and loud windows), since
a recording's level says little on its own: a scene clearly louder than the take is near and large, clearly
quieter far and small.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.sounds.track import SoundTrack, SoundWindow

QUIET_FLOOR_DBFS = -70.0
"""Quieter windows count as this loud for the take's reference level."""


@dataclass(frozen=True)
class VisualWords:
    """The mapping from sound events to prompt words (see the module docstring)."""

    phrases: dict[str, str]
    ignored: frozenset[str]
    strong_score: float
    max_events: int
    near_db: float
    far_db: float
    near: str
    far: str

    def phrase(self, label: str) -> str | None:
        """The visual phrase of AudioSet class `label`, or None when it adds no picture."""
        return None if label in self.ignored else self.phrases.get(label)


@lru_cache(maxsize=4)
def load_visual_words(path: Path | None = None) -> VisualWords:
    """The mapping in `path` (default: the bundled one); BadInputError naming the file when it is unusable."""
    source = path or paths.resource_path("sounds", "visual_words.json")
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
        loudness = data["loudness"]
        words = VisualWords(
            phrases={str(k): " ".join(str(v).split()) for k, v in data["phrases"].items()},
            ignored=frozenset(str(label) for label in data["ignored"]),
            strong_score=float(data["strong_score"]), max_events=int(data["max_events"]),
            near_db=float(loudness["near_db"]), far_db=float(loudness["far_db"]),
            near=str(loudness["near"]), far=str(loudness["far"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadInputError(f"The sound words file {source} cannot be used ({type(error).__name__}): "
                            "reinstall the app.") from error
    return words


def strong_labels(window: SoundWindow, words: VisualWords) -> list[str]:
    """The classes of `window` strong enough to picture, best first (ignored and unmapped ones left out)."""
    return [e.label for e in window.events if e.score >= words.strong_score and words.phrase(e.label)]


def take_loudness_dbfs(track: SoundTrack) -> float:
    """The take's reference loudness: halfway (in dB) between its quiet and its loud windows (10th and 90th
    percentiles, each level floored at `QUIET_FLOOR_DBFS` so a moment of digital silence does not count as
    the take's quiet level)."""
    if not track.windows:
        return 0.0
    levels = np.maximum([w.loudness_dbfs for w in track.windows], QUIET_FLOOR_DBFS)
    return float((np.percentile(levels, 10) + np.percentile(levels, 90)) / 2)


def scene_sound_words(track: SoundTrack, start_s: float, end_s: float, words: VisualWords | None = None) -> str:
    """The words the sounds of [start_s, end_s) add: the phrases of its strongest events (by summed score over
    its windows, at most `max_events`), then the loudness words; "" when no strong event is there."""
    words = words or load_visual_words()
    windows = track.inside(start_s, end_s)
    totals: dict[str, float] = {}
    for window in windows:
        for event in window.events:
            if event.score >= words.strong_score and words.phrase(event.label):
                totals[event.label] = totals.get(event.label, 0.0) + event.score
    if not totals:
        return ""
    best = sorted(totals, key=lambda label: -totals[label])[: words.max_events]
    parts = [part.strip() for label in best for part in (words.phrase(label) or "").split(",")]
    level = statistics.fmean(w.loudness_dbfs for w in windows)
    reference = take_loudness_dbfs(track)
    if level >= reference + words.near_db:
        parts += [p.strip() for p in words.near.split(",")]
    elif level <= reference - words.far_db:
        parts += [p.strip() for p in words.far.split(",")]
    return ", ".join(dict.fromkeys(p for p in parts if p))
