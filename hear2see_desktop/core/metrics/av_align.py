"""AV-Align as the TempoTokens reference (Yariv et al. 2024, `av_align.py`) computes it: do sounds and motion coincide?

The reference, step by step (the same numbers as its script, within float rounding):
- audio peaks: librosa's default onsets of the audio at 22,050 Hz (`onsets.onset_times`);
- motion: the mean Farnebäck flow magnitude between consecutive full-size gray frames, the first pair
  counted twice so the trajectory has one value per frame (`optical_flow.flow_trajectory`);
- video peaks: every strict local maximum of that trajectory (`x[i-1] < x[i] > x[i+1]`), no threshold,
  frame i at i / fps seconds;
- hits: audio peaks with a video peak strictly within one frame (1 / fps seconds) either side, each
  audio peak counted once;
- score = hits / (|A| + |V| - hits).

Quirk, kept because published numbers use it: several audio peaks can hit the same video peak, so
hits can exceed the number of video peaks it touches and the score can exceed 1 when audio peaks far
outnumber video peaks (10 onsets around 2 motion peaks score 10 / 2 = 5). The paper's eq. 9 reads as an
intersection over union in [0, 1]; `av_align_one_to_one` keeps that stricter reading as a second
number. The published script uses an undefined `n` in its local-maximum search; we read it as the
trajectory's length. The score measures timing only, not meaning: read it next to CLIPSIM.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import soxr

from hear2see_desktop.core.analysis.onsets import onset_times
from hear2see_desktop.core.analysis.optical_flow import flow_trajectories
from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.metrics import av_align_one_to_one as strict
from hear2see_desktop.core.metrics.av_align_one_to_one import OneToOneResult


@dataclass(frozen=True)
class AvAlignResult:
    """The reference score, the events behind it (so a UI can draw them) and the one-to-one variant.

    score: hits / (|A| + |V| - hits), >= 0 and usually <= 1 (see the module's quirk); None when neither
        modality has an event (the reference would divide by zero).
    audio_peaks_s / video_peaks_s: all detected event times in seconds, ascending.
    matched_audio: the audio peaks that hit a video peak (len = hits).
    matched_video: the video peaks hit by at least one audio peak.
    note: one sentence on how to read the score ("no events", "no audio onsets", ...); empty when normal.
    one_to_one: the same clip scored by `av_align_one_to_one` (its own events, one-to-one matching).
    """

    score: float | None
    audio_peaks_s: tuple[float, ...]
    video_peaks_s: tuple[float, ...]
    matched_audio: tuple[float, ...]
    matched_video: tuple[float, ...]
    note: str
    one_to_one: OneToOneResult


FLOW_NOISE_PX = 1e-5
"""Mean-flow differences below this are float noise, not motion: OpenCV's threads sum Farneback's flow in a
varying order, so a still clip's trajectory (a constant ~0.001 px) can wobble in its last digits and grow
spurious peaks. Real motion differs between frames by orders of magnitude more, so the reference's scores
are unchanged."""


def video_peaks(trajectory: np.ndarray, fps: float) -> np.ndarray:
    """Times (s) of every strict local maximum of the flow trajectory, frame i at i / fps; the ends never count."""
    x = np.asarray(trajectory, dtype=np.float64)
    if x.size < 3:
        return np.zeros(0)
    idx = np.flatnonzero((x[:-2] + FLOW_NOISE_PX < x[1:-1]) & (x[1:-1] > x[2:] + FLOW_NOISE_PX)) + 1
    return idx / fps


def hits(audio_peaks_s: np.ndarray, video_peaks_s: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(audio peaks that hit, video peaks hit): an audio peak a hits video peak v when v - 1/fps < a < v + 1/fps.

    Each audio peak counts once however many video peaks are near it; a video peak may be hit by many.
    """
    a = np.asarray(audio_peaks_s, dtype=np.float64)
    v = np.asarray(video_peaks_s, dtype=np.float64)
    if a.size == 0 or v.size == 0:
        return np.zeros(0), np.zeros(0)
    near = (v[None, :] - 1 / fps < a[:, None]) & (a[:, None] < v[None, :] + 1 / fps)
    return a[near.any(axis=1)], v[near.any(axis=0)]


def av_align_score(n_audio: int, n_video: int, n_hits: int) -> float | None:
    """hits / (|A| + |V| - hits); None when both sets are empty."""
    union = n_audio + n_video - n_hits
    if union <= 0:
        return None
    return n_hits / union


def av_align(audio: Audio, frames: Iterable[np.ndarray], fps: float) -> AvAlignResult:
    """Score how well motion in `frames` lines up with sound in `audio`, as the TempoTokens reference does,
    with the one-to-one variant alongside (one pass over the frames measures flow at both sizes).

    Args:
        audio: mono narration at any rate; give it at the file's own rate (`load_audio(path, None)`) for
            the reference's numbers, since it resamples once to 22,050 Hz as `librosa.load` does.
        frames: HxWx3 uint8 RGB frames (a list or `read_frames(path)`), in display order, any size.
        fps: frame rate of `frames`; frame i is at i / fps seconds.
    """
    if not fps or fps <= 0:
        raise BadInputError(f"AV-Align needs a positive frame rate, got {fps!r}.")
    full, small = flow_trajectories(frames, (None, strict.MAX_SIDE))
    a_peaks = onset_times(audio.samples, audio.sample_rate_hz)
    v_peaks = video_peaks(full, fps)
    hit_audio, hit_video = hits(a_peaks, v_peaks, fps)
    score = av_align_score(len(a_peaks), len(v_peaks), len(hit_audio))
    if score is None:
        note = "no events"
    elif len(a_peaks) == 0:
        note = "no audio onsets"
    elif len(v_peaks) == 0:
        note = "no motion peaks"
    elif score > 1:
        note = "above 1 because several audio onsets hit the same motion peak, which the reference allows"
    else:
        note = ""
    return AvAlignResult(
        score=score,
        audio_peaks_s=tuple(float(t) for t in a_peaks),
        video_peaks_s=tuple(float(t) for t in v_peaks),
        matched_audio=tuple(float(t) for t in hit_audio),
        matched_video=tuple(float(t) for t in hit_video),
        note=note,
        one_to_one=strict.av_align_one_to_one(_at_16k(audio), small, fps),
    )


def _at_16k(audio: Audio) -> np.ndarray:
    """The narration at the one-to-one variant's 16 kHz, resampled with soxr HQ as `load_audio` does."""
    x = np.asarray(audio.samples, dtype=np.float32).reshape(-1)
    if audio.sample_rate_hz == strict.SAMPLE_RATE_HZ or x.size == 0:
        return x
    return np.asarray(soxr.resample(x, audio.sample_rate_hz, strict.SAMPLE_RATE_HZ, quality="HQ"), dtype=np.float32)
