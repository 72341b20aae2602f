"""Real narration files for tests: espeak-ng speech, sox conversions, ffmpeg encodes and pure tones.

Everything is made on the fly from installed tools (no network, no checked-in audio) and is
deterministic, so tests can compare decoded samples.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile as sf

ESPEAK_RATE_HZ = 22050


def speak(
    text: str,
    path: str | Path,
    voice: str = "en-us",
    rate_hz: int = 16000,
    channels: int = 1,
    bits: int = 16,
) -> Path:
    """Say `text` with espeak-ng into `path`; sox converts rate/channels/bits/format when asked.

    The format follows the suffix (`.wav`, `.flac`, `.ogg`, ... as sox knows them); `bits` applies
    to PCM formats only.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(raw), text], check=True, capture_output=True)
        plain = (rate_hz, channels, bits, path.suffix.lower()) == (ESPEAK_RATE_HZ, 1, 16, ".wav")
        if plain:
            shutil.copyfile(raw, path)
        else:
            out_opts = ["-r", str(rate_hz), "-c", str(channels)]
            if path.suffix.lower() in (".wav", ".flac", ".aiff", ".aif"):
                out_opts += ["-b", str(bits)]
            # -R: sox dithers with random numbers seeded from the clock unless told to repeat them, and
            # the same sentence must give the same samples (the ASR's words, and so the tests, follow them)
            subprocess.run(["sox", "-R", str(raw), *out_opts, str(path)], check=True, capture_output=True)
    return path


def tone(
    path: str | Path,
    seconds: float,
    rate_hz: int = 16000,
    freq_hz: float = 440.0,
    amplitude: float = 0.5,
    channels: int = 1,
    subtype: str = "PCM_16",
) -> Path:
    """Write a sine tone (the same in every channel) with soundfile; the suffix picks the format."""
    t = np.arange(int(round(seconds * rate_hz))) / rate_hz
    mono = amplitude * np.sin(2 * np.pi * freq_hz * t)
    data = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    sf.write(str(path), data, rate_hz, subtype=subtype)
    return Path(path)


def ffmpeg_encode(src: str | Path, dst: str | Path, *codec_args: str) -> Path:
    """Re-encode `src` with the bundled ffmpeg (e.g. to MP3 or M4A); the suffix picks the container."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    subprocess.run([*cmd, "-i", str(src), *codec_args, str(dst)], check=True, capture_output=True)
    return Path(dst)
