"""Where the sound of a take without speech changes: its events and its strong onsets, as scene cuts.

A cut goes between two windows whose strongest picturable event differs (rain gives way to thunder), and at
an onset whose strength is at least `STRONG_ONSET` of the take's strongest (a door slam, a thunder clap).
"""

from __future__ import annotations

import numpy as np

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.sounds.track import SoundTrack
from hear2see_desktop.core.sounds.visual_words import VisualWords, strong_labels

EVENT_CHANGE = 3.0
"""A change of the leading sound event: as strong a cut as a sentence end."""
STRONG_ONSET = 0.5
"""An onset counts when its strength is at least this share of the take's strongest."""
ONSET_CUT = 1.5
"""A strong onset: as strong a cut as a pause between sentences."""


def leading_event(track: SoundTrack, index: int, words: VisualWords) -> str | None:
    """The strongest event of window `index` that adds a picture, or None."""
    labels = strong_labels(track.windows[index], words)
    return labels[0] if labels else None


def event_changes(track: SoundTrack, words: VisualWords) -> dict[float, float]:
    """Cut time -> strength where the leading event changes, halfway between the two windows' middles."""
    cuts: dict[float, float] = {}
    for k in range(1, len(track.windows)):
        if leading_event(track, k - 1, words) != leading_event(track, k, words):
            before, after = track.windows[k - 1], track.windows[k]
            cut_s = ((before.start_s + before.end_s) / 2 + (after.start_s + after.end_s) / 2) / 2
            cuts[round(cut_s, 3)] = EVENT_CHANGE
    return cuts


def strong_onsets(audio: Audio) -> list[float]:
    """The times in seconds of the take's strong onsets (see the module docstring)."""
    from hear2see_desktop.core.analysis.onsets import (
        HOP_LENGTH,
        SAMPLE_RATE_HZ,
        onset_detect,
        onset_strength,
        resample,
    )

    envelope = onset_strength(resample(audio.samples, audio.sample_rate_hz))
    frames = onset_detect(envelope)
    if frames.size == 0:
        return []
    heights = envelope[frames]
    keep = frames[heights >= STRONG_ONSET * float(np.max(heights))]
    return [round(float(f) * HOP_LENGTH / SAMPLE_RATE_HZ, 3) for f in keep]


def sound_cuts(track: SoundTrack, onsets_s: list[float], words: VisualWords) -> dict[float, float]:
    """All the cut candidates of a take without speech: event changes, and strong onsets where no change is."""
    cuts = event_changes(track, words)
    for onset_s in onsets_s:
        cuts[onset_s] = max(cuts.get(onset_s, 0.0), ONSET_CUT)
    return cuts


def event_spans(track: SoundTrack, words: VisualWords) -> list[tuple[float, float, str]]:
    """(start_s, end_s, label) of each run of windows led by the same picturable event, for a lane of labels
    under the waveform: a run spans its first window's middle to its last one's (the take's ends at the edges)."""
    spans: list[tuple[float, float, str]] = []
    count = len(track.windows)
    for k in range(count):
        label = leading_event(track, k, words)
        if label is None:
            continue
        window = track.windows[k]
        start_s = 0.0 if k == 0 else (track.windows[k - 1].end_s + window.start_s) / 2
        end_s = track.duration_s if k == count - 1 else (window.end_s + track.windows[k + 1].start_s) / 2
        if spans and spans[-1][2] == label and abs(spans[-1][1] - start_s) < 1e-6:
            spans[-1] = (spans[-1][0], end_s, label)
        else:
            spans.append((start_s, end_s, label))
    return spans
