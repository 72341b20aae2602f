"""A fast spectral-flux onset detector on a linear spectrogram, and its peak picker.

The audio-reactive motion (`core.motion.reactive`) paces transitions with `spectral_flux`, and the
one-to-one AV-Align variant (`av_align_one_to_one`) detects its audio and motion events with
`flux_onset_times` and `pick_peaks`. It resembles librosa's detector without reproducing it: the
headline AV-Align uses `onsets`, which does.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import get_window

from hear2see_desktop.core.errors import BadInputError

N_FFT = 1024
"""STFT window length in samples: 64 ms at 16 kHz, near librosa's 93 ms default at 22.05 kHz."""
HOP_LENGTH = 512
"""STFT hop in samples: 32 ms at 16 kHz, librosa's default hop; onset times are quantised to it."""
AMIN = 1e-10
"""Power floor before the log (-100 dB), so digital silence gives a flat, peak-free envelope."""
TOP_DB = 80.0
"""Dynamic range kept below the loudest bin, as librosa's `power_to_db(top_db=80)`."""
DELTA = 0.07
"""Height a peak must clear above its local mean, in units of the [0, 1]-normalised envelope (librosa)."""


def spectral_flux(
    samples: np.ndarray,
    sample_rate_hz: int,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    lag: int = 1,
) -> np.ndarray:
    """Spectral-flux envelope: one value per STFT frame, frame `t` centred at `t * hop_length` samples.

    Why this form: the positive increase of log power over frequency responds to any new sound
    (clicks, plosives, drum hits) independent of loudness, which is what AV-Align calls an audio event.

    Steps (librosa's `onset_strength` on a linear instead of mel spectrogram):
    1. centred STFT (reflect-free zero padding of `n_fft // 2`), Hann window, power |X|^2;
    2. dB: `10 * log10(max(power, AMIN))`, clipped to `max - TOP_DB`;
    3. flux: `max(0, S[:, t] - S[:, t - lag])`, averaged over frequency (a sum up to the constant bin count);
    4. shift right by `lag + n_fft // (2 * hop_length)` frames so a peak lands at the onset, not
       half a window before it (librosa's `center=True` compensation), and keep one value per frame.

    Args:
        samples: mono waveform, float in [-1, 1] (any float/int dtype is cast to float64).
        sample_rate_hz: sampling rate of `samples`; only validated here, the result is in frames.
        n_fft: STFT window length in samples (power of two is fastest).
        hop_length: samples between frames; sets the time resolution `hop_length / sample_rate_hz`.
        lag: frame distance of the difference; 1 compares each frame with the one just before it.

    Returns:
        float64 array of length `1 + len(samples) // hop_length` (0 for empty input), all >= 0.
    """
    if sample_rate_hz <= 0 or n_fft <= 0 or hop_length <= 0 or lag < 1:
        raise BadInputError("Onset detection needs a positive sample rate, n_fft, hop length and lag.")
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if x.size == 0:
        return np.zeros(0)
    n_frames = 1 + x.size // hop_length
    padded = np.pad(x, (n_fft // 2, n_fft // 2 + n_fft))
    starts = np.arange(n_frames) * hop_length
    window = get_window("hann", n_fft, fftbins=True)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[starts] * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (n_frames, n_fft // 2 + 1)
    db = 10.0 * np.log10(np.maximum(power, AMIN))
    db = np.maximum(db, db.max() - TOP_DB)
    flux = np.maximum(0.0, db[lag:] - db[:-lag]).mean(axis=1) if n_frames > lag else np.zeros(0)
    shift = lag + n_fft // (2 * hop_length)
    return np.concatenate([np.zeros(shift), flux])[:n_frames]


def normalise(envelope: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (subtract min, divide by max) so `delta` means the same for any loudness; flat -> zeros."""
    env = np.asarray(envelope, dtype=np.float64).reshape(-1)
    if env.size == 0:
        return env
    env = env - env.min()
    top = env.max()
    return env / top if top > 0 else np.zeros_like(env)


def pick_peaks(
    envelope: np.ndarray,
    pre_max: int,
    post_max: int,
    pre_avg: int,
    post_avg: int,
    delta: float,
    wait: int,
) -> np.ndarray:
    """Indices of events in `envelope`: local maxima that stand `delta` above their local mean.

    Why: a fixed global threshold misses quiet events next to loud ones; a moving mean adapts, and
    `wait` stops one event (a click's ringing, a two-frame motion) from being counted twice.
    Same rule as `librosa.util.peak_pick`, but with inclusive windows on both sides.

    Index `n` is a peak when all hold:
    - `envelope[n] == max(envelope[n - pre_max : n + post_max + 1])` (a local maximum);
    - `envelope[n] >= mean(envelope[n - pre_avg : n + post_avg + 1]) + delta` (windows clipped at the ends);
    - `envelope[n] > 0` and `n > previous_peak + wait` (the minimum distance).

    Args:
        envelope: 1-D strength curve (usually `normalise`d first so `delta` is relative).
        pre_max: frames before `n` it must be the maximum of.
        post_max: frames after `n` it must be the maximum of.
        pre_avg: frames before `n` in the local mean.
        post_avg: frames after `n` in the local mean.
        delta: margin over the local mean, in envelope units.
        wait: frames that must pass after a peak before the next one; 0 allows neighbours.

    Returns:
        int64 array of ascending indices.
    """
    if min(pre_max, post_max, pre_avg, post_avg, wait) < 0:
        raise BadInputError("Peak-picking windows and the minimum distance must not be negative.")
    env = np.asarray(envelope, dtype=np.float64).reshape(-1)
    n = env.size
    peaks: list[int] = []
    last = -wait - 1
    for i in range(n):
        value = env[i]
        if value <= 0 or i <= last + wait:
            continue
        if value < env[max(0, i - pre_max) : i + post_max + 1].max():
            continue
        if value < env[max(0, i - pre_avg) : i + post_avg + 1].mean() + delta:
            continue
        peaks.append(i)
        last = i
    return np.asarray(peaks, dtype=np.int64)


def seconds_to_frames(seconds: float, rate_hz: float, at_least: int = 0) -> int:
    """Window length in frames for a duration, rounded, never below `at_least`."""
    return max(at_least, int(round(seconds * rate_hz)))


def flux_onset_times(
    samples: np.ndarray,
    sample_rate_hz: int,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    pre_max_s: float = 0.03,
    post_max_s: float = 0.03,
    pre_avg_s: float = 0.10,
    post_avg_s: float = 0.10,
    delta: float = DELTA,
    wait_s: float = 0.03,
) -> np.ndarray:
    """Onset times in seconds: `spectral_flux` -> `normalise` -> `pick_peaks`, frames -> `t * hop / sr`.

    Why seconds: the windows then mean the same at any hop; each converts with `round(s * frame_rate)`
    where `frame_rate = sample_rate_hz / hop_length` (31.25 Hz at the defaults). The max windows are
    at least one frame (a true local maximum) and the minimum distance at least one frame, so a
    two-frame plateau is one onset.

    Args:
        samples: mono waveform in [-1, 1].
        sample_rate_hz: its rate (16000 from `load_audio`).
        n_fft: STFT window length in samples.
        hop_length: STFT hop in samples; the time resolution of the result.
        pre_max_s: seconds before a peak it must be the maximum of (default 1 frame).
        post_max_s: seconds after a peak it must be the maximum of (default 1 frame).
        pre_avg_s: seconds before a peak in its local mean (default 3 frames, librosa's 0.1 s).
        post_avg_s: seconds after a peak in its local mean (default 3 frames).
        delta: margin over the local mean on the [0, 1] envelope (librosa's 0.07).
        wait_s: minimum seconds between onsets (default 1 frame).

    Returns:
        float64 array of ascending onset times in seconds; empty for silence or a flat signal.
    """
    env = normalise(spectral_flux(samples, sample_rate_hz, n_fft=n_fft, hop_length=hop_length))
    rate = sample_rate_hz / hop_length
    idx = pick_peaks(
        env,
        pre_max=seconds_to_frames(pre_max_s, rate, 1),
        post_max=seconds_to_frames(post_max_s, rate, 1),
        pre_avg=seconds_to_frames(pre_avg_s, rate),
        post_avg=seconds_to_frames(post_avg_s, rate),
        delta=delta,
        wait=seconds_to_frames(wait_s, rate, 1),
    )
    return idx.astype(np.float64) * hop_length / sample_rate_hz
