"""Metrics on synthetic clips whose answer is known: clicks vs motion jumps, translation vs flicker."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from hear2see_desktop.core.analysis.spectral_flux import HOP_LENGTH, flux_onset_times, pick_peaks
from hear2see_desktop.core.audio import SAMPLE_RATE_HZ, Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.metrics.av_align import av_align, av_align_score, hits, video_peaks
from hear2see_desktop.core.metrics.av_align_one_to_one import match_events, one_to_one_score
from hear2see_desktop.core.metrics.flicker import flicker

FPS = 10.0
N_FRAMES = 40
EVENT_FRAMES = (5, 12, 20, 27, 34)


def _texture(size: int = 96, seed: int = 0) -> np.ndarray:
    """Smooth random gray texture (uint8) that optical flow can track."""
    noise = gaussian_filter(np.random.default_rng(seed).random((size, size)), 2.0)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (noise * 255).astype(np.uint8)


def _rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


def _jumping_video(events: tuple[int, ...] = EVENT_FRAMES, step_px: int = 4) -> list[np.ndarray]:
    """A still texture that jumps `step_px` sideways exactly at the given frames."""
    base = _texture()
    frames, offset = [], 0
    for i in range(N_FRAMES):
        offset += step_px if i in events else 0
        frames.append(_rgb(np.roll(base, offset, axis=1)))
    return frames


def _clicks(times_s: list[float], seconds: float = N_FRAMES / FPS) -> Audio:
    samples = np.zeros(int(seconds * SAMPLE_RATE_HZ), dtype=np.float32)
    for t in times_s:
        samples[int(round(t * SAMPLE_RATE_HZ))] = 0.9
    return Audio(samples)


def test_flux_onsets_of_click_train_within_one_hop() -> None:
    times = [0.25, 0.7, 1.13, 1.6, 2.2, 2.71]
    found = flux_onset_times(_clicks(times, 3.0).samples, SAMPLE_RATE_HZ)
    assert len(found) == len(times)
    assert np.all(np.abs(found - times) <= HOP_LENGTH / SAMPLE_RATE_HZ + 1e-9)


def test_flux_onsets_of_silence_are_empty() -> None:
    assert flux_onset_times(np.zeros(SAMPLE_RATE_HZ, dtype=np.float32), SAMPLE_RATE_HZ).size == 0


def test_pick_peaks_keeps_minimum_distance() -> None:
    env = np.array([0, 1, 1, 0, 0, 0.5, 0, 0, 0, 0], dtype=float)
    assert pick_peaks(env, pre_max=1, post_max=1, pre_avg=2, post_avg=2, delta=0.07, wait=1).tolist() == [1, 5]


def test_aligned_clicks_and_jumps_score_near_one() -> None:
    result = av_align(_clicks([f / FPS for f in EVENT_FRAMES]), _jumping_video(), FPS)
    assert result.score is not None and result.score >= 0.9
    assert result.video_peaks_s == pytest.approx([f / FPS for f in EVENT_FRAMES])
    assert len(result.matched_audio) == len(result.matched_video) == len(EVENT_FRAMES)
    assert result.note == ""
    strict = result.one_to_one
    assert strict.score is not None and strict.score >= 0.9
    assert len(strict.matched_audio) == len(strict.matched_video) == len(EVENT_FRAMES)


def test_clicks_shifted_by_many_frames_score_near_zero() -> None:
    result = av_align(_clicks([(f + 3) / FPS for f in EVENT_FRAMES]), _jumping_video(), FPS)
    assert result.score is not None and result.score <= 0.1
    assert result.one_to_one.score is not None and result.one_to_one.score <= 0.1


def test_accepts_an_iterator_of_frames() -> None:
    result = av_align(_clicks([f / FPS for f in EVENT_FRAMES]), iter(_jumping_video()), FPS)
    assert result.score is not None and result.score >= 0.9


def test_no_events_gives_none() -> None:
    still = [_rgb(_texture())] * 10
    result = av_align(Audio(np.zeros(SAMPLE_RATE_HZ, dtype=np.float32)), still, FPS)
    assert result.score is None and result.one_to_one.score is None
    assert result.note == "no events"


def test_float_noise_in_a_still_clip_s_flow_is_no_motion_peak() -> None:
    still = np.array([0.0013052, 0.00130521, 0.0013052, 0.00130522, 0.0013052])  # OpenCV's thread-order wobble
    assert video_peaks(still, FPS).size == 0
    assert video_peaks(still + np.array([0, 0, 0.01, 0, 0]), FPS).tolist() == [2 / FPS]


def test_one_side_empty_scores_zero() -> None:
    still = [_rgb(_texture())] * N_FRAMES
    result = av_align(_clicks([f / FPS for f in EVENT_FRAMES]), still, FPS)
    assert result.score == 0.0
    assert result.video_peaks_s == ()


def test_reference_score_counts_audio_hits_within_one_frame() -> None:
    assert av_align_score(0, 0, 0) is None
    assert av_align_score(3, 0, 0) == 0.0
    assert av_align_score(4, 2, 2) == pytest.approx(2 / 4)
    audio, video = np.array([0.0, 0.1, 1.0]), np.array([0.05, 2.0])
    hit_audio, hit_video = hits(audio, video, fps=10.0)
    assert hit_audio.tolist() == [0.0, 0.1] and hit_video.tolist() == [0.05]  # two audio peaks share 0.05
    assert hits(np.array([0.2]), np.array([0.1]), fps=10.0)[0].size == 0  # exactly one frame away: open window
    pairs = match_events(audio, video, 0.1)
    assert pairs == [(0.0, 0.05)]  # one-to-one: the second audio event cannot reuse 0.05
    assert one_to_one_score(3, 2, 1) == pytest.approx(1 / 4)


def test_reference_score_exceeds_one_when_audio_peaks_crowd_few_video_peaks() -> None:
    audio = np.array([0.95, 0.98, 1.0, 1.03, 1.06, 2.95, 2.98, 3.0, 3.03, 3.06])
    hit_audio, _ = hits(audio, np.array([1.0, 3.0]), fps=10.0)
    assert len(hit_audio) == 10
    assert av_align_score(10, 2, len(hit_audio)) == pytest.approx(5.0)


def test_a_clip_whose_onsets_crowd_two_jumps_scores_above_one_and_says_why() -> None:
    fps, jumps = 4.0, (4, 12)  # a frame either side is 0.25 s: room for five clicks 0.12 s apart
    clicks = [f / fps + dt for f in jumps for dt in (-0.24, -0.12, 0.0, 0.12, 0.24)]
    result = av_align(_clicks(clicks, N_FRAMES / fps), _jumping_video(jumps), fps)
    assert len(result.video_peaks_s) == 2 and len(result.matched_audio) > 4
    assert result.score is not None and result.score > 1
    assert result.note.startswith("above 1 because several audio onsets hit the same motion peak")
    assert result.one_to_one.score is not None and result.one_to_one.score <= 1


def test_video_peaks_are_every_strict_local_maximum() -> None:
    trajectory = np.array([0.5, 0.5, 0.2, 0.9, 0.1, 0.7, 0.7, 0.3, 0.6, 0.4, 0.8])
    assert video_peaks(trajectory, fps=2.0).tolist() == [3 / 2, 8 / 2]  # no threshold; plateaus and ends never count


def test_bad_fps_is_rejected() -> None:
    with pytest.raises(BadInputError):
        av_align(_clicks([]), [], 0.0)


def test_translation_has_low_warped_but_high_plain_difference() -> None:
    base = _texture()
    frames = [_rgb(np.roll(base, 2 * i, axis=1)) for i in range(8)]
    result = flicker(frames)
    assert result.pairs == 7
    assert result.plain_mad > 5.0
    assert result.warped_mad < 1.0
    assert result.warped_mad < result.plain_mad / 10


def test_flicker_without_motion_is_seen_after_warping() -> None:
    base = _texture().astype(np.int16)
    frames = [_rgb(np.clip(base + (20 if i % 2 else 0), 0, 255).astype(np.uint8)) for i in range(6)]
    result = flicker(frames)
    assert result.warped_mad > 5.0


def test_identical_frames_are_zero() -> None:
    frame = _rgb(_texture())
    result = flicker([frame] * 5)
    assert result.warped_mad == 0.0
    assert result.plain_mad == 0.0
    assert flicker([frame]).pairs == 0
