"""Audio onsets exactly as librosa finds them at its defaults, in numpy/scipy/soxr: AV-Align's audio events.

The TempoTokens AV-Align reference takes its audio peaks from `librosa.load` (22,050 Hz mono),
`librosa.onset.onset_strength` and `librosa.onset.onset_detect`, all at their defaults. The app does
not ship librosa (numba, llvmlite and scikit-learn would grow the bundle), so this module reproduces
those steps: the same soxr resampler, the same mel filterbank, the same float32 arithmetic in the same
order, so the onset frames come out identical (tests/core/analysis/test_onsets.py checks it against librosa).

The steps, with librosa's defaults:
1. `resample`: mono float32 to 22,050 Hz with soxr at its "HQ" quality (librosa's `res_type="soxr_hq"`),
   length fixed to ceil(n * 22050 / rate) samples.
2. `mel_power`: centred STFT (zero padding of n_fft // 2 each side), periodic Hann window, n_fft 2048,
   hop 512, power |X|^2, then 128 Slaney-normalised Slaney-scale mel bands from 0 Hz to sr / 2.
3. `onset_strength`: dB (10 log10 with amin 1e-10, ref 1.0, floored 80 dB below the loudest bin), the
   positive difference to the previous frame (lag 1, no max filter), averaged over the bands, shifted
   right by lag + n_fft // (2 * hop) = 3 frames and cut to the frame count.
4. `onset_detect`: the envelope scaled to [0, 1], then `peak_pick` with the windows librosa derives
   from sr and hop (at 22,050 Hz: pre_max 1, post_max 1, pre_avg 4, post_avg 5, wait 1) and delta 0.07.
   Frame k is at k * 512 / 22050 seconds (23.2 ms per frame).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import soxr
from scipy.signal import get_window

from hear2see_desktop.core.errors import BadInputError

SAMPLE_RATE_HZ = 22050
"""Rate the audio is analysed at: `librosa.load`'s default, whatever the file's own rate."""
N_FFT = 2048
"""STFT window length in samples (93 ms at 22,050 Hz)."""
HOP_LENGTH = 512
"""Samples between STFT frames (23.2 ms at 22,050 Hz): onset times are multiples of it."""
N_MELS = 128
"""Mel bands the spectral flux is averaged over."""
AMIN = 1e-10
"""Power floor before the log (-100 dB)."""
TOP_DB = 80.0
"""Dynamic range kept below the loudest mel bin, in dB."""
DELTA = np.float32(0.07)
"""Height an onset must clear above its local mean on the [0, 1] envelope (float32, as librosa's picker takes it)."""
_BLOCK_FRAMES = 256
"""STFT frames transformed at a time, so a long narration never holds all its windows in float64 at once."""


def resample(samples: np.ndarray, sample_rate_hz: float, target_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Mono float32 at `target_hz`, as `librosa.resample(res_type="soxr_hq")` makes it.

    soxr's one-shot HQ resampler (the library librosa calls), then the length fixed to
    ceil(n * target / rate) samples: cut, or padded with zeros.
    """
    x = np.ascontiguousarray(np.asarray(samples, dtype=np.float32).reshape(-1))
    if sample_rate_hz <= 0:
        raise BadInputError(f"Onset detection needs a positive sample rate, got {sample_rate_hz!r}.")
    if sample_rate_hz == target_hz or x.size == 0:
        return x
    n_out = int(math.ceil(x.size * (float(target_hz) / sample_rate_hz)))
    y = np.asarray(soxr.resample(x, sample_rate_hz, target_hz, quality="soxr_hq"), dtype=np.float32)
    if y.size >= n_out:
        return y[:n_out]
    return np.concatenate([y, np.zeros(n_out - y.size, dtype=np.float32)])


_MEL_HZ_PER_BAND = 200.0 / 3
"""Below 1 kHz Slaney's mel scale is linear: one mel per 66.7 Hz."""
_LOG_FROM_HZ = 1000.0
_LOG_FROM_MEL = _LOG_FROM_HZ / _MEL_HZ_PER_BAND
_LOG_STEP = np.log(6.4) / 27.0
"""Above 1 kHz each mel is a constant ratio: 27 mels per factor 6.4."""


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default, not HTK's): linear below 1 kHz, logarithmic above."""
    hz = np.atleast_1d(np.asarray(hz, dtype=np.float64))
    mel = hz / _MEL_HZ_PER_BAND
    above = hz >= _LOG_FROM_HZ
    mel[above] = _LOG_FROM_MEL + np.log(hz[above] / _LOG_FROM_HZ) / _LOG_STEP
    return mel


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    mel = np.atleast_1d(np.asarray(mel, dtype=np.float64))
    hz = _MEL_HZ_PER_BAND * mel
    above = mel >= _LOG_FROM_MEL
    hz[above] = _LOG_FROM_HZ * np.exp(_LOG_STEP * (mel[above] - _LOG_FROM_MEL))
    return hz


@lru_cache(maxsize=4)
def mel_filterbank(sample_rate_hz: int = SAMPLE_RATE_HZ, n_fft: int = N_FFT, n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32 triangles on the Slaney mel scale from 0 Hz to sr / 2, each
    scaled by 2 / its width in Hz (Slaney's constant-energy norm), as `librosa.filters.mel` builds them.
    """
    fft_hz = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate_hz)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0)[0], hz_to_mel(0.5 * sample_rate_hz)[0], n_mels + 2))
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, fft_hz)
    weights = np.zeros((n_mels, n_fft // 2 + 1), dtype=np.float32)
    for i in range(n_mels):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(rising, falling))
    weights *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[:, np.newaxis]
    weights.setflags(write=False)
    return weights


def mel_power(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """(N_MELS, 1 + len // HOP_LENGTH) float32 mel power spectrogram of float32 `samples`, frame t centred
    at sample t * HOP_LENGTH (zero padding beyond the ends).

    Each window is taken in float64 times the periodic Hann window, transformed, and the spectrum kept
    as complex64, as librosa's STFT does; the mel projection is one float32 matrix product per block.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    n_frames = 1 + x.size // HOP_LENGTH
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2))
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:n_frames]
    hann = get_window("hann", N_FFT, fftbins=True)
    mel_t = mel_filterbank(sample_rate_hz, N_FFT, N_MELS).T
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    for start in range(0, n_frames, _BLOCK_FRAMES):
        block = windows[start : start + _BLOCK_FRAMES]
        spectrum = np.fft.rfft(hann * block, axis=-1).astype(np.complex64)
        out[start : start + len(block)] = np.dot(np.abs(spectrum) ** 2, mel_t)
    return np.ascontiguousarray(out.T)  # bands x frames in C order, so the band mean sums as librosa's does


def onset_strength(samples: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """float32 onset envelope of `samples` (already at `sample_rate_hz`, 22,050 Hz for the reference),
    one value per STFT frame; the same numbers as `librosa.onset.onset_strength(y=samples, sr=...)`.

    Why mel dB flux: the rise of log energy in any band responds to any new sound (a click, a plosive,
    a drum hit) whatever its loudness; the 3-frame shift puts a peak on the onset, not a window before.
    """
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if x.size == 0:
        return np.zeros(0, dtype=np.float32)
    db = 10.0 * np.log10(np.maximum(AMIN, mel_power(x, sample_rate_hz)))
    db = np.maximum(db, db.max() - TOP_DB)
    flux = np.maximum(0.0, db[:, 1:] - db[:, :-1]).mean(axis=0)
    shift = 1 + N_FFT // (2 * HOP_LENGTH)
    return np.concatenate([np.zeros(shift, dtype=np.float32), flux])[: db.shape[1]]


def peak_pick(
    envelope: np.ndarray, pre_max: int, post_max: int, pre_avg: int, post_avg: int, delta: float, wait: int
) -> np.ndarray:
    """Indices of peaks, by `librosa.util.peak_pick`'s rule (windows end exclusive, clipped at the ends).

    Frame n is a peak when
    - `x[n] == max(x[n - pre_max : n + post_max])` (frame 0: `max(x[:post_max])`),
    - `x[n] >= mean(x[n - pre_avg : n + post_avg]) + delta` (frame 0: `mean(x[:post_avg])`),
    - and no peak was taken in the `wait` frames before it.
    The arithmetic is the compiled picker's: the mean summed left to right in the envelope's precision,
    divided in float64 and cast back, then `delta` (as float32) added in that precision.
    """
    if min(pre_max, pre_avg, wait) < 0 or min(post_max, post_avg) < 1 or delta < 0:
        raise BadInputError("Peak picking needs non-negative windows and delta, and post windows of at least 1.")
    x = np.asarray(envelope).reshape(-1)
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    # Padding with the minimum clips the max windows at the ends without changing any maximum.
    padded = np.concatenate([np.full(pre_max, x.min(), x.dtype), x, np.full(post_max - 1, x.min(), x.dtype)])
    window_max = np.lib.stride_tricks.sliding_window_view(padded, pre_max + post_max).max(axis=1)
    candidates = np.flatnonzero(x == window_max)
    as_type = x.dtype.type
    margin = np.float32(delta)  # librosa's compiled picker takes delta as float32
    peaks: list[int] = []
    next_allowed = 0
    for i in candidates:
        if i < next_allowed:
            continue
        window = x[max(0, i - pre_avg) : min(i + post_avg, n)]
        total = as_type(0)
        for value in window:
            total += value
        if x[i] >= as_type(float(total) / window.size) + margin:
            peaks.append(int(i))
            next_allowed = i + wait + 1
    return np.asarray(peaks, dtype=np.int64)


def detect_windows(sample_rate_hz: int = SAMPLE_RATE_HZ, hop_length: int = HOP_LENGTH) -> dict[str, int]:
    """`onset_detect`'s default peak-picking windows in frames: 30 ms before, 100 ms of mean, 30 ms apart.

    librosa computes them as `seconds * sr // hop` (+1 for the post windows) and rounds up.
    """
    return {
        "pre_max": math.ceil(0.03 * sample_rate_hz // hop_length),
        "post_max": math.ceil(0.00 * sample_rate_hz // hop_length + 1),
        "pre_avg": math.ceil(0.10 * sample_rate_hz // hop_length),
        "post_avg": math.ceil(0.10 * sample_rate_hz // hop_length + 1),
        "wait": math.ceil(0.03 * sample_rate_hz // hop_length),
    }


def onset_detect(envelope: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Onset frames of an `onset_strength` envelope, as `librosa.onset.onset_detect(onset_envelope=...)`.

    The envelope is scaled to [0, 1] (minus its minimum, over its maximum) so `DELTA` means the same
    for quiet and loud clips; a flat or empty envelope has no onsets.
    """
    env = np.asarray(envelope).reshape(-1)
    if env.size == 0:
        return np.zeros(0, dtype=np.int64)
    env = env - env.min()
    env = env / (env.max() + np.finfo(env.dtype).tiny)
    if not env.any() or not np.all(np.isfinite(env)):
        return np.zeros(0, dtype=np.int64)
    return peak_pick(env, delta=DELTA, **detect_windows(sample_rate_hz))


def onset_times(samples: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """Onset times in seconds of mono `samples` at any rate, as the TempoTokens reference finds them:
    `resample` to 22,050 Hz, `onset_strength`, `onset_detect`, frame k at k * HOP_LENGTH / 22050 s.

    Returns float64 ascending times; empty for silence, a flat signal or no samples.
    """
    x = resample(samples, sample_rate_hz)
    frames = onset_detect(onset_strength(x))
    return frames * HOP_LENGTH / float(SAMPLE_RATE_HZ)
