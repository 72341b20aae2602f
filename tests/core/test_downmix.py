"""Surround narration: the same six channels give the same mono whether soundfile or ffmpeg decodes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from hear2see_desktop.core.audio import SAMPLE_RATE_HZ, load_audio

RATE_HZ = 48000
TONES_HZ = (220.0, 330.0, 440.0, 60.0, 550.0, 660.0)  # 5.1 order: FL FR FC LFE BL BR
AMPLITUDE = 0.4


def five_one(seconds: float = 2.0) -> np.ndarray:
    """(frames, 6) float32: a different tone in each channel, the low one in the LFE slot."""
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    return np.stack([AMPLITUDE * np.sin(2 * np.pi * f * t) for f in TONES_HZ], axis=1).astype(np.float32)


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def surround(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 5.1 signal as a float WAV (soundfile decodes it) and, tagged 5.1, in Matroska as 32-bit float
    PCM and as FLAC (ffmpeg decodes those: libsndfile does not read Matroska)."""
    folder = tmp_path_factory.mktemp("surround")
    made = {"wav": folder / "five_one.wav"}
    sf.write(made["wav"], five_one(), RATE_HZ, subtype="FLOAT")
    for name, codec in (("mka-f32", ["-c:a", "pcm_f32le"]), ("mka-flac", ["-c:a", "flac", "-sample_fmt", "s32"])):
        made[name] = folder / f"five_one_{name}.mka"
        ffmpeg("-i", str(made["wav"]), "-ch_layout", "5.1", *codec, str(made[name]))
    return made


def test_the_files_really_are_tagged_five_one(surround: dict[str, Path]) -> None:
    import imageio_ffmpeg

    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(surround["mka-f32"])],
                           capture_output=True, text=True)
    assert "5.1" in probe.stderr  # the layout ffmpeg's own downmix would weight (and drop the LFE of)


@pytest.mark.parametrize("name", ["mka-f32", "mka-flac"])
def test_ffmpeg_and_soundfile_give_the_same_mono(surround: dict[str, Path], name: str) -> None:
    from_soundfile = load_audio(surround["wav"]).samples
    from_ffmpeg = load_audio(surround[name]).samples
    assert len(from_ffmpeg) == len(from_soundfile) == 2 * SAMPLE_RATE_HZ
    tolerance = 1e-6 if name == "mka-f32" else 1e-4  # FLAC keeps 24 bits of each float sample
    assert np.abs(from_ffmpeg - from_soundfile).max() < tolerance


def test_the_mono_is_the_plain_mean_of_all_six_channels(surround: dict[str, Path]) -> None:
    expected = soxr.resample(five_one().mean(axis=1), RATE_HZ, SAMPLE_RATE_HZ, quality="HQ")
    for name in ("wav", "mka-f32"):
        samples = load_audio(surround[name]).samples
        assert np.abs(samples - expected).max() < 1e-4, name
        spectrum = np.abs(np.fft.rfft(samples)) / (len(samples) / 2)
        for tone_hz in TONES_HZ:  # every channel at a sixth of its level, the LFE's included
            level = spectrum[int(round(tone_hz * len(samples) / SAMPLE_RATE_HZ))]
            assert level == pytest.approx(AMPLITUDE / 6, rel=0.02), (name, tone_hz)
