"""AV-Align (one-to-one): the app's earlier, stricter reading of TempoTokens eq. 9, kept as a second number.

It differs from the reference (`av_align`) in three ways, each making it lower:
- audio events are `spectral_flux.flux_onset_times` on 16 kHz audio (n_fft 1024, its own windows),
  not librosa's mel onsets at 22,050 Hz;
- motion events are peaks of the flow trajectory at <= 256 px that clear their local mean by DELTA
  on the normalised trajectory and MIN_FLOW_PX in pixels, not every strict local maximum;
- audio and motion events are matched one-to-one within +-1 frame (closed window), so the score is a
  true intersection over union in [0, 1]; the reference lets several audio peaks count on one
  video peak and can exceed 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hear2see_desktop.core.analysis.spectral_flux import DELTA, flux_onset_times, normalise, pick_peaks

SAMPLE_RATE_HZ = 16000
"""Rate the audio is analysed at (the narration rate of `load_audio`)."""
MAX_SIDE = 256
"""Frames are downscaled so the longer side is at most this many pixels before optical flow."""
MIN_FLOW_PX = 0.05
"""Mean flow (pixels at the analysis size) a video peak must exceed; keeps encoder noise on a still from counting."""
VIDEO_PEAK = {"pre_max": 1, "post_max": 1, "pre_avg": 2, "post_avg": 2, "wait": 1}
"""Video peak picking in frames: a strict local max over +-1 frame, local mean over +-2 frames, 1 frame apart."""


@dataclass(frozen=True)
class OneToOneResult:
    """The one-to-one score and its events.

    score: matched pairs / (|A| + |V| - matched pairs), in [0, 1]; None when neither side has an event.
    audio_peaks_s / video_peaks_s: all detected event times in seconds, ascending.
    matched_audio / matched_video: the matched pairs, element i of one matched to element i of the other.
    """

    score: float | None
    audio_peaks_s: tuple[float, ...]
    video_peaks_s: tuple[float, ...]
    matched_audio: tuple[float, ...]
    matched_video: tuple[float, ...]


def video_peaks(trajectory: np.ndarray, fps: float, delta: float = DELTA,
                min_flow_px: float = MIN_FLOW_PX) -> np.ndarray:
    """Times (s) of motion events: `pick_peaks` on the normalised trajectory with `VIDEO_PEAK`, frame i at i / fps.

    Peaks whose raw mean flow is below `min_flow_px` are dropped, so a still image gives no events
    even though normalising would blow its sub-pixel noise up to 1.
    """
    traj = np.asarray(trajectory, dtype=np.float64)
    idx = pick_peaks(normalise(traj), delta=delta, **VIDEO_PEAK)
    idx = idx[traj[idx] > min_flow_px] if idx.size else idx
    return idx.astype(np.float64) / fps


def match_events(a: np.ndarray, b: np.ndarray, tolerance_s: float) -> list[tuple[float, float]]:
    """Largest one-to-one matching of two sorted time lists with |a - b| <= tolerance_s.

    A two-pointer sweep over both sorted lists is optimal for this 1-D interval problem: the earliest
    unmatched event can only lose by skipping its earliest reachable partner.
    """
    pairs: list[tuple[float, float]] = []
    i = j = 0
    eps = 1e-9
    while i < len(a) and j < len(b):
        if abs(a[i] - b[j]) <= tolerance_s + eps:
            pairs.append((float(a[i]), float(b[j])))
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return pairs


def one_to_one_score(n_audio: int, n_video: int, n_matched: int) -> float | None:
    """IoU of the event sets with one-to-one matching: matched / (|A| + |V| - matched); None when both are empty.

    Eq. 9's (sum_a 1[a in V] + sum_v 1[v in A]) / (2 |A u V|) with both sums equal to the pair count.
    """
    union = n_audio + n_video - n_matched
    if union <= 0:
        return None
    return n_matched / union


def av_align_one_to_one(samples_16k: np.ndarray, trajectory: np.ndarray, fps: float) -> OneToOneResult:
    """Score 16 kHz narration against a flow trajectory measured at <= MAX_SIDE px (`optical_flow.flow_trajectory`).

    The match window is +-1 frame (1 / fps seconds, inclusive), the paper's "window of three frames".
    """
    a_peaks = flux_onset_times(samples_16k, SAMPLE_RATE_HZ)
    v_peaks = video_peaks(trajectory, fps)
    pairs = match_events(a_peaks, v_peaks, 1.0 / fps)
    return OneToOneResult(
        score=one_to_one_score(len(a_peaks), len(v_peaks), len(pairs)),
        audio_peaks_s=tuple(float(t) for t in a_peaks),
        video_peaks_s=tuple(float(t) for t in v_peaks),
        matched_audio=tuple(p[0] for p in pairs),
        matched_video=tuple(p[1] for p in pairs),
    )
