"""Our numpy onset detection against librosa itself: the same envelope and the same onset frames.

AV-Align's reference takes its audio peaks from librosa at its defaults; the app reproduces them
without shipping librosa (core/analysis/onsets.py). librosa is a test dependency only, so these tests
compare the two on clicks, tones with attacks, noise bursts and espeak-ng speech at several rates.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import librosa
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from hear2see_desktop.core.analysis import onsets
from hear2see_desktop.core.audio import load_audio
from tests.speech import speak

RATES_HZ = (8000, 16000, 22050, 44100, 48000)
ENVELOPE_TOLERANCE = 1e-5
"""Largest difference allowed between our envelope and librosa's (both float32; measured: 0)."""


def _clicks(rate_hz: int, rng: np.random.Generator, seconds: float = 6.0) -> np.ndarray:
    """Single-sample clicks at random times, some closer together than librosa's 30 ms wait."""
    y = np.zeros(int(seconds * rate_hz), dtype=np.float32)
    times = np.concatenate([rng.uniform(0.1, seconds - 0.1, 14), [1.0, 1.02, 3.5, 3.53]])
    y[(times * rate_hz).astype(int)] = rng.uniform(0.2, 0.9, times.size)
    return y


def _tones(rate_hz: int, rng: np.random.Generator, seconds: float = 6.0) -> np.ndarray:
    """Notes with sharp attacks and exponential decays, overlapping, at several pitches and levels."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    y = np.zeros_like(t)
    for start in np.sort(rng.uniform(0.05, seconds - 0.5, 16)):
        on = (t >= start) & (t < start + 0.45)
        pitch = rng.choice([110.0, 220.0, 330.0, 440.0, 880.0, 1760.0])
        y[on] += rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * pitch * t[on]) * np.exp(-(t[on] - start) * 9)
    return y.astype(np.float32)


def _noise_bursts(rate_hz: int, rng: np.random.Generator, seconds: float = 6.0) -> np.ndarray:
    """Quiet hiss with loud 20-80 ms bursts of white noise."""
    y = rng.normal(0.0, 0.005, int(seconds * rate_hz))
    for start in rng.uniform(0.05, seconds - 0.2, 12):
        i, n = int(start * rate_hz), int(rng.uniform(0.02, 0.08) * rate_hz)
        y[i : i + n] += rng.normal(0.0, rng.uniform(0.1, 0.4), n)
    return y.astype(np.float32)


SIGNALS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "clicks": _clicks, "tones": _tones, "noise bursts": _noise_bursts,
}


def _librosa_onsets(y: np.ndarray, rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """(envelope, onset frames) the way the TempoTokens reference gets them, from audio at `rate_hz`."""
    y22 = librosa.resample(y, orig_sr=rate_hz, target_sr=22050)
    envelope = librosa.onset.onset_strength(y=y22, sr=22050)
    return envelope, librosa.onset.onset_detect(onset_envelope=envelope, sr=22050)


@pytest.mark.parametrize("rate_hz", RATES_HZ)
@pytest.mark.parametrize("kind", sorted(SIGNALS))
def test_onsets_equal_librosa_on_synthetic_audio(kind: str, rate_hz: int) -> None:
    y = SIGNALS[kind](rate_hz, np.random.default_rng(rate_hz))
    expected_envelope, expected_frames = _librosa_onsets(y, rate_hz)
    y22 = onsets.resample(y, rate_hz)
    envelope = onsets.onset_strength(y22)
    assert np.array_equal(y22, librosa.resample(y, orig_sr=rate_hz, target_sr=22050))
    assert envelope.shape == expected_envelope.shape
    assert np.abs(envelope - expected_envelope).max() <= ENVELOPE_TOLERANCE
    assert onsets.onset_detect(envelope).tolist() == expected_frames.tolist()
    assert len(expected_frames) >= 5, "the signal should have onsets to compare"
    times = onsets.onset_times(y, rate_hz)
    assert times.tolist() == librosa.frames_to_time(expected_frames, sr=22050).tolist()


SPEECH = [
    ("en-us", 16000, 1, ".wav"),
    ("en-us", 22050, 1, ".wav"),
    ("en-gb", 44100, 2, ".wav"),
    ("ko", 48000, 1, ".flac"),
    ("en-us", 8000, 1, ".ogg"),
]


@pytest.mark.parametrize(("voice", "rate_hz", "channels", "suffix"), SPEECH)
def test_onsets_of_speech_files_equal_librosa_load_and_onset_detect(
    tmp_path: Path, voice: str, rate_hz: int, channels: int, suffix: str
) -> None:
    """The eval path (load at the file's own rate, resample, detect) against librosa.load and onset_detect."""
    text = ("Tap, tap, crack! The drummer counts one, two, three, four and the cymbals crash."
            if voice.startswith("en") else "하나 둘 셋 넷, 북소리가 울립니다.")
    path = speak(text, tmp_path / f"speech{suffix}", voice=voice, rate_hz=rate_hz, channels=channels)
    y, sr = librosa.load(path)
    expected_envelope = librosa.onset.onset_strength(y=y, sr=sr)
    expected = librosa.frames_to_time(librosa.onset.onset_detect(onset_envelope=expected_envelope, sr=sr), sr=sr)
    audio = load_audio(path, sample_rate_hz=None)
    assert audio.sample_rate_hz == rate_hz
    envelope = onsets.onset_strength(onsets.resample(audio.samples, audio.sample_rate_hz))
    assert np.abs(envelope - expected_envelope).max() <= ENVELOPE_TOLERANCE
    found = onsets.onset_times(audio.samples, audio.sample_rate_hz)
    assert len(expected) >= 10
    assert found.tolist() == expected.tolist()


def test_silence_and_empty_audio_have_no_onsets() -> None:
    assert onsets.onset_times(np.zeros(22050, dtype=np.float32), 22050).size == 0
    assert librosa.onset.onset_detect(y=np.zeros(22050, dtype=np.float32), sr=22050).size == 0
    assert onsets.onset_times(np.zeros(0, dtype=np.float32), 16000).size == 0


@pytest.mark.parametrize("samples", [np.full(22050, 0.25), np.zeros(300), np.r_[np.zeros(700), np.ones(300)]],
                         ids=["constant", "shorter than a window", "one step in a short clip"])
def test_edge_cases_match_librosa(samples: np.ndarray) -> None:
    y = samples.astype(np.float32)
    expected = librosa.onset.onset_detect(onset_envelope=librosa.onset.onset_strength(y=y, sr=22050), sr=22050)
    assert onsets.onset_detect(onsets.onset_strength(y)).tolist() == expected.tolist()


def test_mel_filterbank_equals_librosa() -> None:
    for rate_hz in (16000, 22050):
        assert np.array_equal(onsets.mel_filterbank(rate_hz), librosa.filters.mel(sr=rate_hz, n_fft=2048))


def test_default_windows_are_librosas_at_22050_hz() -> None:
    assert onsets.detect_windows() == {"pre_max": 1, "post_max": 1, "pre_avg": 4, "post_avg": 5, "wait": 1}


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]) | st.floats(0, 1, width=32), min_size=1,
                    max_size=40),
    pre_max=st.integers(0, 4), post_max=st.integers(1, 4), pre_avg=st.integers(0, 6), post_avg=st.integers(1, 6),
    wait=st.integers(0, 4), delta=st.sampled_from([0.0, 0.07, 0.3]),
)
# 0.75 against a mean of 0.45 plus 0.3 is a peak only in librosa's float32 arithmetic
@example(values=[0.0, 0.0, 0.75, 0.5, 1.0], pre_max=0, post_max=1, pre_avg=2, post_avg=3, wait=0, delta=0.3)
def test_peak_pick_equals_librosa(values: list[float], pre_max: int, post_max: int, pre_avg: int, post_avg: int,
                                  wait: int, delta: float) -> None:
    """Same peaks as librosa.util.peak_pick on any envelope, ties and plateaus included."""
    x = np.asarray(values, dtype=np.float32)
    windows = {"pre_max": pre_max, "post_max": post_max, "pre_avg": pre_avg, "post_avg": post_avg, "wait": wait}
    expected = librosa.util.peak_pick(x, delta=delta, **windows)
    assert onsets.peak_pick(x, delta=delta, **windows).tolist() == expected.tolist()
