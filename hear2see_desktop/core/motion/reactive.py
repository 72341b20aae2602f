"""Audio-reactive timing: the narration's emphasis decides how fast the picture moves between keyframes.

Each output frame gets an envelope value in [0, 1] from the audio under it (onset strength for
emphasis, loudness for speech versus pause). Inside a segment between two keyframes the envelope sets
the speed of the transition, so it advances on stressed syllables and holds in pauses; the strongest
onsets also get a short visual pulse.
"""

from __future__ import annotations

import math

import numpy as np

from hear2see_desktop.core.analysis.spectral_flux import HOP_LENGTH, normalise, spectral_flux
from hear2see_desktop.core.errors import BadInputError

ONSET_WEIGHT = 0.6
"""Share of onset strength in the envelope (the rest is loudness): emphasis should move more than mere volume."""
LOUDNESS_RANGE_DB = 40.0
"""Loudness maps to [0, 1] over this many dB below the clip's loudest frame; quieter frames count as pauses."""
SILENCE_RMS = 1e-5
"""RMS (-100 dBFS) below which a frame is silent whatever the rest of the clip does."""
MIN_SPEED = 1e-3
"""Speed floor added to every frame, so a segment that is silent at full reactivity still advances (linearly)."""


def audio_envelope(samples: np.ndarray, sample_rate_hz: int, fps: float, n_frames: int) -> np.ndarray:
    """One value in [0, 1] per output frame: ONSET_WEIGHT * onset strength + (1 - ONSET_WEIGHT) * loudness.

    Onset strength is `spectral_flux.spectral_flux` (one value per 32 ms hop at 16 kHz),
    normalised to the clip's strongest onset and max-pooled over the hops each frame's span
    [i / fps, (i + 1) / fps) overlaps, so a click is never lost between two frames. Loudness is the RMS
    of the frame's samples in dB, mapped to [0, 1] over LOUDNESS_RANGE_DB below the clip's loudest
    frame. Digital silence gives zeros.

    Args:
        samples: mono waveform in [-1, 1] (16 kHz from `load_audio`; any rate works).
        sample_rate_hz: rate of `samples`.
        fps: output frame rate; frame i covers [i / fps, (i + 1) / fps) seconds.
        n_frames: length of the result (the video's frame count; audio past the end is ignored,
            frames past the audio's end are silent).
    """
    if sample_rate_hz <= 0 or not fps > 0 or not math.isfinite(fps) or n_frames < 0:
        raise BadInputError("The audio envelope needs a positive sample rate and frame rate and a frame count.")
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    if n_frames == 0:
        return np.zeros(0)
    onset = _onset_per_frame(x, sample_rate_hz, fps, n_frames)
    loudness = _loudness_per_frame(x, sample_rate_hz, fps, n_frames)
    return np.clip(ONSET_WEIGHT * onset + (1.0 - ONSET_WEIGHT) * loudness, 0.0, 1.0)


def _onset_per_frame(x: np.ndarray, sample_rate_hz: int, fps: float, n_frames: int) -> np.ndarray:
    """Normalised onset strength, max-pooled over the hops each output frame overlaps.

    `spectral_flux` reports a sound starting in ((k - 1) * hop, k * hop] at hop k (up to one hop late),
    so hop k counts for every frame that interval touches; the loudness term then marks which of two
    such frames actually holds the sound.
    """
    strength = normalise(spectral_flux(x, sample_rate_hz))
    out = np.zeros(n_frames)
    if strength.size == 0 or strength.max() <= 0:
        return out
    hop_s = HOP_LENGTH / sample_rate_hz
    for i in range(n_frames):
        # hops whose interval ends at or after the frame's start and starts before its end
        lo = math.ceil(i / fps / hop_s - 1e-9)
        hi = min(math.ceil((i + 1) / fps / hop_s - 1e-9) + 1, strength.size)
        if lo < hi:
            out[i] = strength[lo:hi].max()
    return out


def _loudness_per_frame(x: np.ndarray, sample_rate_hz: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS of each frame's samples in dB, mapped to [0, 1] over LOUDNESS_RANGE_DB below the loudest frame."""
    bounds = np.minimum(np.round(np.arange(n_frames + 1) * sample_rate_hz / fps).astype(np.int64), x.size)
    energy = np.concatenate([[0.0], np.cumsum(x * x)])
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    rms = np.sqrt(np.maximum(energy[bounds[1:]] - energy[bounds[:-1]], 0.0) / counts)
    if rms.max() < SILENCE_RMS:
        return np.zeros(n_frames)
    db = 20.0 * np.log10(np.maximum(rms, SILENCE_RMS))
    loudness = np.clip(1.0 + (db - db.max()) / LOUDNESS_RANGE_DB, 0.0, 1.0)
    loudness[rms < SILENCE_RMS] = 0.0
    return loudness


def reactive_positions(weights: np.ndarray, reactivity: float) -> np.ndarray:
    """Positions t in [0, 1) of a segment's frames between two keyframes, paced by the envelope.

    The step from frame i to frame i + 1 is proportional to speed_i = (1 - reactivity) + reactivity * weights_i
    (+ MIN_SPEED), and t_i is the sum of the speeds before frame i over the sum of all n speeds (the last
    one leads into the next keyframe). So t[0] == 0.0, t never decreases, t < 1, and reactivity 0 gives
    exactly i / n; at reactivity 1 the transition stands still where the envelope is 0.

    Args:
        weights: envelope values in [0, 1] (clipped), one per frame of the segment, at least one.
        reactivity: 0 (linear) to 1 (speed follows the audio alone).
    """
    check_reactivity(reactivity)
    w = np.clip(np.asarray(weights, dtype=np.float64).reshape(-1), 0.0, 1.0)
    n = w.size
    if n == 0:
        raise BadInputError("A segment between two keyframes needs at least one frame.")
    if reactivity == 0.0:
        return np.arange(n, dtype=np.float64) / n
    speed = (1.0 - reactivity) + reactivity * w + MIN_SPEED
    before = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    t = before / speed.sum()
    t[0] = 0.0
    return np.minimum(t, np.nextafter(1.0, 0.0))


def check_reactivity(reactivity: float) -> None:
    """BadInputError unless 0 <= reactivity <= 1."""
    if not 0.0 <= reactivity <= 1.0:
        raise BadInputError(f"Audio reactivity must be between 0 and 1, got {reactivity}.")


def pulses(envelope: np.ndarray, threshold: float = 0.6, decay_frames: int = 3) -> np.ndarray:
    """Pulse strength per frame in [0, 1]: 1 on each local peak of the envelope >= threshold, then a linear fade.

    A peak is a frame higher than the frame before and at least as high as the frame after (so a plateau
    pulses once, on its first frame). Frame peak + k gets 1 - k / decay_frames, reaching 0 at k = decay_frames;
    overlapping fades keep the stronger value.
    """
    if not 0.0 <= threshold <= 1.0:
        raise BadInputError(f"The pulse threshold must be between 0 and 1, got {threshold}.")
    if decay_frames < 1:
        raise BadInputError(f"A pulse must fade over at least one frame, got {decay_frames}.")
    env = np.asarray(envelope, dtype=np.float64).reshape(-1)
    out = np.zeros(env.size)
    if env.size == 0:
        return out
    before = np.concatenate([[-np.inf], env[:-1]])
    after = np.concatenate([env[1:], [-np.inf]])
    peaks = np.flatnonzero((env >= threshold) & (env > before) & (env >= after) & (env > 0))
    fade = 1.0 - np.arange(decay_frames) / decay_frames
    for peak in peaks:
        span = min(decay_frames, env.size - peak)
        out[peak : peak + span] = np.maximum(out[peak : peak + span], fade[:span])
    return out
