"""Loading narration: every common file decodes to 16 kHz mono float32; every bad file gets one sentence."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.audio import Audio, is_silent, load_audio, write_wav
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.hashing import sha256_file
from tests.speech import ffmpeg_encode, speak, tone

ROOT = Path(__file__).resolve().parents[2]

SENTENCE = "A red fox runs across the snowy field at dawn."


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One spoken sentence in every container and shape the app must accept."""
    d = tmp_path_factory.mktemp("speech")
    native = speak(SENTENCE, d / "native.wav", rate_hz=22050)
    made = {
        "reference": speak(SENTENCE, d / "reference.wav", rate_hz=16000),
        "wav_8k": speak(SENTENCE, d / "speech_8k.wav", rate_hz=8000),
        "wav_48k_stereo_24bit": speak(SENTENCE, d / "speech_48k.wav", rate_hz=48000, channels=2, bits=24),
        "flac": speak(SENTENCE, d / "speech.flac", rate_hz=44100),
        "ogg": speak(SENTENCE, d / "speech.ogg", rate_hz=22050),
        "mp3": ffmpeg_encode(native, d / "speech.mp3", "-c:a", "libmp3lame", "-b:a", "128k"),
        "m4a": ffmpeg_encode(native, d / "speech.m4a", "-c:a", "aac", "-b:a", "96k"),
    }
    made["wav_named_mp3"] = Path(shutil.copyfile(made["reference"], d / "really_a_wav.mp3"))
    made["mp3_named_wav"] = Path(shutil.copyfile(made["mp3"], d / "really_an_mp3.wav"))
    made["ogg_named_wav"] = Path(shutil.copyfile(made["ogg"], d / "really_an_ogg.wav"))
    made["m4a_named_wav"] = Path(shutil.copyfile(made["m4a"], d / "really_an_m4a.wav"))
    made["six_channels"] = speak(SENTENCE, d / "speech_6ch.wav", rate_hz=48000, channels=6)
    return made


def similarity(a: np.ndarray, b: np.ndarray, max_lag: int = 1600) -> float:
    """Peak normalised cross-correlation within ±max_lag samples (codecs shift audio a little)."""
    n = max(len(a), len(b)) + max_lag
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(a, size) * np.conj(np.fft.rfft(b, size))
    corr = np.fft.irfft(spectrum, size)
    window = np.concatenate([corr[: max_lag + 1], corr[-max_lag:]])
    return float(window.max() / (np.linalg.norm(a) * np.linalg.norm(b)))


def assert_one_sentence(message: str, path: Path) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    assert message.endswith("."), message
    assert not re.search(r"[.;!?]\s+[A-Z]", message), f"more than one sentence: {message}"
    assert path.name in message, f"the message should name the file: {message}"


@pytest.mark.parametrize(
    ("kind", "min_similarity"),
    [
        ("wav_8k", 0.95),  # 8 kHz keeps only what is below 4 kHz
        ("wav_48k_stereo_24bit", 0.999),
        ("flac", 0.999),
        ("ogg", 0.97),
        ("mp3", 0.97),
        ("m4a", 0.97),
        ("wav_named_mp3", 0.999),
        ("mp3_named_wav", 0.97),
        ("ogg_named_wav", 0.97),
        ("m4a_named_wav", 0.97),
        ("six_channels", 0.999),  # the same speech in all six: their mean is the speech
    ],
)
def test_every_format_loads_as_16k_mono_float32_with_the_same_speech(
    files: dict[str, Path], kind: str, min_similarity: float
) -> None:
    reference = load_audio(files["reference"])
    audio = load_audio(files[kind])

    assert audio.sample_rate_hz == 16000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert -1.0 <= audio.samples.min() and audio.samples.max() <= 1.0
    assert audio.source_path == files[kind]
    assert audio.duration_s == pytest.approx(reference.duration_s, abs=0.02)
    assert not is_silent(audio)
    assert similarity(reference.samples, audio.samples) >= min_similarity


@pytest.mark.parametrize(("kind", "rate_hz"), [("wav_48k_stereo_24bit", 48000), ("flac", 44100), ("m4a", 22050),
                                              ("six_channels", 48000)])
def test_the_files_own_rate_on_request(files: dict[str, Path], kind: str, rate_hz: int) -> None:
    """AV-Align resamples as librosa does, so it asks for the file's rate: the same mono, not resampled."""
    audio = load_audio(files[kind], sample_rate_hz=None)
    at_16k = load_audio(files[kind])
    assert audio.sample_rate_hz == rate_hz and audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(at_16k.duration_s, abs=0.01)
    if kind != "m4a":  # PCM and FLAC: the plain mean of the channels, sample for sample
        raw, _ = sf.read(str(files[kind]), dtype="float32", always_2d=True)
        assert np.array_equal(audio.samples, np.clip(raw.mean(axis=1, dtype=np.float32), -1.0, 1.0))


def test_reference_duration_matches_the_file(files: dict[str, Path]) -> None:
    info = sf.info(str(files["reference"]))
    audio = load_audio(str(files["reference"]))  # str paths work too
    assert isinstance(audio, Audio)
    assert len(audio.samples) == info.frames
    assert audio.duration_s == pytest.approx(info.duration)


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_resampling_is_band_limited_not_naive_decimation(tmp_path: Path, suffix: str) -> None:
    # A 10 kHz tone at 48 kHz is above the new 8 kHz Nyquist limit: a proper resampler removes it,
    # naive decimation would fold it down to 6 kHz at full strength.
    above = tone(tmp_path / "above.wav", 1.0, rate_hz=48000, freq_hz=10000, amplitude=0.5)
    below = tone(tmp_path / "below.wav", 1.0, rate_hz=48000, freq_hz=7000, amplitude=0.5)
    if suffix == ".mp3":  # through ffmpeg instead of soundfile + soxr
        above = ffmpeg_encode(above, tmp_path / "above.mp3", "-c:a", "libmp3lame", "-b:a", "320k")
        below = ffmpeg_encode(below, tmp_path / "below.mp3", "-c:a", "libmp3lame", "-b:a", "320k")

    def rms(samples: np.ndarray) -> float:
        middle = samples[1600:-1600]  # skip codec edges
        return float(np.sqrt(np.mean(middle.astype(np.float64) ** 2)))

    assert rms(load_audio(above).samples) < 0.01
    assert rms(load_audio(below).samples) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3"])
def test_stereo_is_downmixed_by_mean(tmp_path: Path, suffix: str) -> None:
    t = np.arange(32000) / 32000
    left = 0.8 * np.sin(2 * np.pi * 300 * t)
    source = tmp_path / "left_only.wav"
    sf.write(str(source), np.stack([left, np.zeros_like(left)], axis=1), 32000, subtype="FLOAT")
    path = source
    if suffix == ".flac":
        path = tmp_path / "left_only.flac"
        sf.write(str(path), np.stack([left, np.zeros_like(left)], axis=1), 32000, subtype="PCM_24")
    elif suffix == ".mp3":
        path = ffmpeg_encode(source, tmp_path / "left_only.mp3", "-c:a", "libmp3lame", "-b:a", "320k")

    peak = float(np.abs(load_audio(path).samples[2000:-2000]).max())
    assert peak == pytest.approx(0.4, abs=0.02)


def test_opposite_channels_cancel_in_the_mean(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "opposite.wav"
    sf.write(str(path), np.stack([left, -left], axis=1), 16000, subtype="FLOAT")
    assert np.abs(load_audio(path).samples).max() < 1e-6
    assert is_silent(load_audio(path))


def test_full_scale_input_stays_within_minus_one_to_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    square = np.sign(rng.standard_normal(48000)).astype(np.float32)  # worst case for resampler overshoot
    path = tmp_path / "loud.wav"
    sf.write(str(path), square, 48000, subtype="FLOAT")
    samples = load_audio(path).samples
    assert samples.min() >= -1.0 and samples.max() <= 1.0


# --- bad input: one builder per way a file can be unusable -------------------------------------------


def _missing(tmp: Path, files: dict[str, Path]) -> Path:
    return tmp / "no_such_take.wav"


def _directory(tmp: Path, files: dict[str, Path]) -> Path:
    folder = tmp / "takes.wav"
    folder.mkdir()
    return folder


def _empty(tmp: Path, files: dict[str, Path]) -> Path:
    path = tmp / "empty.wav"
    path.write_bytes(b"")
    return path


def _header_only_wav(tmp: Path, files: dict[str, Path]) -> Path:
    path = tmp / "header_only.wav"
    sf.write(str(path), np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    return path


def _cut(source: Path, dest: Path, fraction: float) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def _truncated_wav(tmp: Path, files: dict[str, Path]) -> Path:
    return _cut(files["wav_48k_stereo_24bit"], tmp / "truncated.wav", 0.5)


def _truncated_wav_header(tmp: Path, files: dict[str, Path]) -> Path:
    path = tmp / "truncated_header.wav"
    path.write_bytes(files["reference"].read_bytes()[:20])
    return path


def _truncated_flac(tmp: Path, files: dict[str, Path]) -> Path:
    return _cut(files["flac"], tmp / "truncated.flac", 0.5)


def _truncated_m4a(tmp: Path, files: dict[str, Path]) -> Path:
    return _cut(files["m4a"], tmp / "truncated.m4a", 0.5)  # the index (moov) is at the end


def _random_bytes(suffix: str) -> Callable[[Path, dict[str, Path]], Path]:
    def build(tmp: Path, files: dict[str, Path]) -> Path:
        path = tmp / f"noise{suffix}"
        path.write_bytes(np.random.default_rng(1234).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
        return path

    return build


def _text_named(suffix: str) -> Callable[[Path, dict[str, Path]], Path]:
    def build(tmp: Path, files: dict[str, Path]) -> Path:
        path = tmp / f"notes{suffix}"
        path.write_text("Scene one: a red fox in the snow.\nScene two: dawn over the hills.\n" * 20)
        return path

    return build


def _image_named_wav(tmp: Path, files: dict[str, Path]) -> Path:
    from PIL import Image

    path = tmp / "picture.wav"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(path, format="PNG")
    return path


def _absurd_sample_rate(tmp: Path, files: dict[str, Path]) -> Path:
    data = bytearray(files["reference"].read_bytes())
    data[24:28] = (1).to_bytes(4, "little")  # "1 Hz": would resample one second into four hours
    path = tmp / "one_hertz.wav"
    path.write_bytes(bytes(data))
    return path


def _too_short(tmp: Path, files: dict[str, Path]) -> Path:
    return tone(tmp / "blip.wav", 0.1, rate_hz=44100)


def _too_short_mp3(tmp: Path, files: dict[str, Path]) -> Path:
    blip = tone(tmp / "blip_src.wav", 0.1, rate_hz=44100)
    return ffmpeg_encode(blip, tmp / "blip.mp3", "-c:a", "libmp3lame")


BAD_INPUTS = {
    "missing": (_missing, "no file"),
    "directory": (_directory, "folder"),
    "empty": (_empty, "empty"),
    "header_only_wav": (_header_only_wav, "no audio samples"),
    "truncated_wav": (_truncated_wav, "cut short"),
    "truncated_wav_header": (_truncated_wav_header, "cut short"),
    "truncated_flac": (_truncated_flac, "cut short"),
    "truncated_m4a": (_truncated_m4a, "cut short"),
    "random_bytes_wav": (_random_bytes(".wav"), "not an audio file we can read"),
    "random_bytes_mp3": (_random_bytes(".mp3"), "not an audio file we can read"),
    "random_bytes_no_suffix": (_random_bytes(""), "not an audio file we can read"),
    "text_named_wav": (_text_named(".wav"), "not an audio file we can read"),
    "text_named_mp3": (_text_named(".mp3"), "not an audio file we can read"),
    "image_named_wav": (_image_named_wav, "no audio track"),
    "absurd_sample_rate": (_absurd_sample_rate, "sample rate of only 1 hz"),
    "too_short": (_too_short, "too short"),
    "too_short_mp3": (_too_short_mp3, "too short"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_raises_one_clear_sentence(tmp_path: Path, files: dict[str, Path], case: str) -> None:
    build, expected = BAD_INPUTS[case]
    path = build(tmp_path, files)

    with pytest.raises(BadInputError) as raised:
        load_audio(path)

    message = str(raised.value)
    assert expected in message.lower(), message
    assert_one_sentence(message, path)


def test_too_short_message_says_how_long_to_record(tmp_path: Path, files: dict[str, Path]) -> None:
    with pytest.raises(BadInputError, match=r"record at least 0\.3 s"):
        load_audio(_too_short(tmp_path, files))


def test_just_long_enough_loads(tmp_path: Path) -> None:
    audio = load_audio(tone(tmp_path / "short.wav", 0.35, rate_hz=8000))
    assert audio.duration_s == pytest.approx(0.35, abs=0.002)


# --- long narrations: decoded in blocks into one array, never held whole at the input's rate ------------

_PEAK_SCRIPT = """
import json, resource, sys
from hear2see_desktop.core.audio import load_audio
load_audio(sys.argv[2])  # warm up: libraries and first allocations are not the long file's cost
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
audio = load_audio(sys.argv[1])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_increase_mb": (after - before) / 1024, "output_mb": audio.samples.nbytes / 2**20,
                  "duration_s": audio.duration_s}))
"""


@pytest.fixture(scope="module")
def long_narrations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """25 minutes of 8 kHz tone, as a WAV (soundfile path) and an MP3 (ffmpeg path)."""
    import imageio_ffmpeg

    d = tmp_path_factory.mktemp("long")
    made = {}
    for suffix, codec in ((".wav", ["-c:a", "pcm_s16le"]), (".mp3", ["-c:a", "libmp3lame", "-b:a", "16k"])):
        made[suffix] = d / f"long{suffix}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                        "-i", "sine=frequency=300:sample_rate=8000:duration=1500", *codec, str(made[suffix])],
                       check=True, capture_output=True)
    made["short"] = tone(d / "short.wav", 1.0, rate_hz=8000)
    return made


@pytest.mark.parametrize("suffix", [".wav", ".mp3"])
def test_a_long_narration_needs_little_more_memory_than_its_decoded_samples(
    long_narrations: dict[str, Path], suffix: str
) -> None:
    # Reading 25 minutes whole at the input rate, then joining pieces and cleaning a copy, once took
    # 4.3-4.8 times the output at the peak (2 GB for a two-hour narration); now it is about 1.0-1.2.
    run = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(long_narrations[suffix]),
                          str(long_narrations["short"])], cwd=ROOT, capture_output=True, text=True, check=True)
    measured = json.loads(run.stdout)
    assert measured["duration_s"] == pytest.approx(1500, abs=0.2)
    assert measured["output_mb"] == pytest.approx(1500 * 16000 * 4 / 2**20, rel=0.01)
    assert measured["peak_increase_mb"] < 1.5 * measured["output_mb"] + 20, measured


# --- silence ------------------------------------------------------------------------------------------


def test_digital_silence_is_silent() -> None:
    assert is_silent(Audio(np.zeros(16000, dtype=np.float32)))


def test_quiet_hiss_below_threshold_is_silent() -> None:
    hiss = np.random.default_rng(0).normal(0, 10 ** (-60 / 20), 32000).astype(np.float32)  # about -60 dBFS
    audio = Audio(hiss)
    assert is_silent(audio)
    assert not is_silent(audio, threshold_dbfs=-70.0)


def test_one_short_burst_is_not_silent() -> None:
    samples = np.zeros(48000, dtype=np.float32)
    samples[20000:20480] = 0.1  # one 30 ms frame at -20 dBFS
    assert not is_silent(Audio(samples))


def test_speech_is_not_silent(files: dict[str, Path]) -> None:
    assert not is_silent(load_audio(files["reference"]))


def test_empty_audio_is_silent() -> None:
    assert is_silent(Audio(np.zeros(0, dtype=np.float32)))


# --- writing takes and hashing --------------------------------------------------------------------------


def test_write_wav_round_trips_as_16_bit_and_leaves_no_temp_file(tmp_path: Path) -> None:
    t = np.arange(16000) / 16000
    samples = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    path = write_wav(tmp_path / "take.wav", samples)

    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    back = load_audio(path).samples
    assert np.abs(back - samples).max() < 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_write_wav_clips_instead_of_wrapping(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "loud.wav", np.array([2.0, -2.0, 0.5] * 3000, dtype=np.float32), 8000)
    data, rate = sf.read(str(path), dtype="float32")
    assert rate == 8000
    assert data.max() == pytest.approx(1.0, abs=1e-4) and data.min() == pytest.approx(-1.0, abs=1e-4)


def test_write_wav_replaces_an_existing_take(tmp_path: Path) -> None:
    path = tmp_path / "take.wav"
    write_wav(path, np.zeros(8000, dtype=np.float32))
    write_wav(path, np.full(4000, 0.25, dtype=np.float32))
    assert sf.info(str(path)).frames == 4000


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = np.random.default_rng(7).integers(0, 256, 3_000_001, dtype=np.uint8).tobytes()
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
    assert sha256_file(path, chunk_bytes=4096) == hashlib.sha256(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert sha256_file(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
