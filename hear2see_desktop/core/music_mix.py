"""Background music under the narration: set to the user's level, ducked while the voice speaks.

The narration is the timing source: the mix has exactly the narration's length, the music is looped
(with a crossfade at each seam) or cut to fit, and faded in and out. Its level is relative to the voice:
`level_db` is how far the music's RMS sits below the narration's speech RMS in the pauses, and while the
narration speaks (core/analysis/speech_activity.py) it goes `DUCK_DB` further down. The mix is offline,
so the duck looks ahead: the music is already down when the first word starts, and it comes back up
over `RELEASE_S` after the last. The narration's samples are added unchanged; only when voice plus music
would pass `CEILING` is the whole mix scaled down, so nothing clips and the balance stays as set.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import soxr

from hear2see_desktop.core.analysis.speech_activity import HOP_S, frame_levels_dbfs, speech_frames, speech_level_dbfs
from hear2see_desktop.core.audio import Audio, load_audio
from hear2see_desktop.core.errors import BadInputError

log = logging.getLogger(__name__)

DUCK_DB = 12.0
"""How much further down the music goes while the narration speaks."""
ATTACK_S = 0.2
"""How long the music takes to go down; it starts this long before the voice, so it is down when the voice is."""
RELEASE_S = 0.6
"""How long the music takes to come back up after the voice stops."""
FADE_IN_S = 0.5
FADE_OUT_S = 1.5
LOOP_CROSSFADE_S = 0.5
"""Overlap of the end of the music with its start again, where it loops under a longer narration."""
MIN_MIX_RATE_HZ = 44100
"""The mix runs at the narration's own rate, but not below this, so music keeps its treble beside a 16 kHz take."""
CEILING = 0.98
"""Highest sample the mix may reach (about -0.2 dBFS)."""
NO_SPEECH_REFERENCE_DBFS = -20.0
"""What `level_db` is relative to when the narration never speaks (a silent take with a typed prompt)."""
MIN_MUSIC_S = 0.5
SILENT_DBFS = -60.0
"""Music frames quieter than this (silence before and after the track) do not count towards its level."""


def load_music(path: str | os.PathLike[str], rate_hz: int) -> Audio:
    """Decode a music file to mono float32 at `rate_hz`; a file that cannot be used raises one sentence."""
    path = Path(path).expanduser()
    if not path.exists():
        raise BadInputError(f"There is no music file at {path}; choose another file or leave the music out.")
    if path.is_dir():
        raise BadInputError(f"{path} is a folder, not a music file; choose an audio file inside it.")
    try:
        music = load_audio(path, rate_hz, min_duration_s=0.0)
    except BadInputError as error:
        log.info("music %s unusable: %s", path, error)
        raise BadInputError(f"The music file {path.name} is not audio we can read, or is damaged; "
                            "use a WAV, FLAC, OGG, MP3 or M4A file.") from error
    if music.duration_s < MIN_MUSIC_S:
        raise BadInputError(f"The music file {path.name} is too short ({music.duration_s:.2f} s) to play under "
                            f"the narration; choose one at least {MIN_MUSIC_S:g} s long.")
    if music_level_dbfs(music) is None:
        raise BadInputError(f"The music file {path.name} is silent; choose a file with music in it.")
    return music


def music_level_dbfs(music: Audio) -> float | None:
    """RMS in dBFS of the music's sounding frames (its silent lead-in and tail left out); None if all silent."""
    levels = frame_levels_dbfs(music.samples, music.sample_rate_hz)
    sounding = levels[levels > SILENT_DBFS]
    if sounding.size == 0:
        return None
    return float(10.0 * np.log10(np.mean(10.0 ** (sounding / 10.0))))


def fit_to_length(samples: np.ndarray, n_samples: int, rate_hz: int) -> np.ndarray:
    """`samples` looped (equal-power crossfade at each seam) or cut to `n_samples`, faded in and out."""
    music = np.asarray(samples, dtype=np.float32)
    if len(music) >= n_samples:
        out = music[:n_samples].copy()
    else:
        overlap = min(round(LOOP_CROSSFADE_S * rate_hz), len(music) // 4)
        ramp = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32) if overlap else np.zeros(0, np.float32)
        head, tail = np.sin(ramp), np.cos(ramp)
        period = len(music) - overlap
        out = np.zeros(n_samples + len(music), dtype=np.float32)
        for copy, start in enumerate(range(0, n_samples, period)):
            piece = music.copy()
            if overlap:
                if copy:
                    piece[:overlap] *= head
                piece[-overlap:] *= tail
            out[start : start + len(piece)] += piece
        out = out[:n_samples]
    fade_in, fade_out = (min(round(seconds * rate_hz), n_samples // 4) for seconds in (FADE_IN_S, FADE_OUT_S))
    out[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    if fade_out:
        out[-fade_out:] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
    return out


def duck_db(speaking: np.ndarray, n_samples: int, rate_hz: int) -> np.ndarray:
    """Per-sample gain change in dB (0 or down to -`DUCK_DB`) from per-`HOP_S`-frame speech flags.

    The flags are moved `ATTACK_S` earlier (the mix is offline, so it can look ahead), then the gain
    moves towards its target at a fixed rate in dB: all the way down in `ATTACK_S`, up in `RELEASE_S`.
    """
    hop = max(1, round(HOP_S * rate_hz))
    if speaking.size == 0 or n_samples == 0:
        return np.zeros(n_samples, dtype=np.float32)
    ahead = round(ATTACK_S / HOP_S)
    padded = np.concatenate([speaking, np.zeros(ahead, dtype=bool)])
    window = np.lib.stride_tricks.sliding_window_view(padded, ahead + 1)
    target = np.where(window.any(axis=1), -DUCK_DB, 0.0)
    down, up = DUCK_DB * HOP_S / ATTACK_S, DUCK_DB * HOP_S / RELEASE_S
    gains = np.empty(len(target))
    gain = float(target[0])
    for k, goal in enumerate(target):
        gain = max(goal, gain - down) if goal < gain else min(goal, gain + up)
        gains[k] = gain
    return np.interp(np.arange(n_samples), np.arange(len(gains)) * hop, gains).astype(np.float32)


def mix_music(narration: Audio, music: Audio, level_db: float) -> Audio:
    """The narration with `music` (at the narration's rate) under it: see the module docstring."""
    if music.sample_rate_hz != narration.sample_rate_hz:
        raise ValueError(f"music at {music.sample_rate_hz} Hz, narration at {narration.sample_rate_hz} Hz")
    voice = np.asarray(narration.samples, dtype=np.float32)
    rate, n = narration.sample_rate_hz, len(voice)
    music_db = music_level_dbfs(music)
    if music_db is None:
        raise BadInputError("The music is silent; choose a file with music in it.")
    reference_db = speech_level_dbfs(voice, rate)
    gain_db = (NO_SPEECH_REFERENCE_DBFS if reference_db is None else reference_db) + level_db - music_db
    gain = 10.0 ** ((gain_db + duck_db(speech_frames(voice, rate), n, rate)) / 20.0)
    mixed = voice + fit_to_length(music.samples, n, rate) * gain
    peak = float(np.max(np.abs(mixed))) if n else 0.0
    if peak > CEILING:
        mixed *= CEILING / peak
    return Audio(samples=mixed.astype(np.float32), sample_rate_hz=rate, source_path=narration.source_path)


def narration_with_music(narration_path: str | os.PathLike[str], music_path: str | os.PathLike[str],
                         level_db: float) -> Audio:
    """The soundtrack of a render with music: the narration file decoded at its own rate (at least
    `MIN_MIX_RATE_HZ`), the music file resampled to it and mixed under it."""
    narration = load_audio(narration_path, None)
    rate = max(narration.sample_rate_hz, MIN_MIX_RATE_HZ)
    if rate != narration.sample_rate_hz:
        resampled = soxr.resample(narration.samples, narration.sample_rate_hz, rate, quality="HQ")
        narration = Audio(np.clip(resampled, -1.0, 1.0).astype(np.float32), rate, narration.source_path)
    return mix_music(narration, load_music(music_path, rate), level_db)
