"""Background music under the narration, measured: the voice stays well above the music while it speaks, the
music comes back to its set level in the pauses, and the narration decides the length."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.analysis.speech_activity import speech_level_dbfs
from hear2see_desktop.core.audio import Audio, load_audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.music_mix import (
    CEILING,
    DUCK_DB,
    MIN_MIX_RATE_HZ,
    fit_to_length,
    load_music,
    mix_music,
    narration_with_music,
)
from tests.speech import speak

RATE_HZ = 44100
PAUSE_S = 3.0


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> tuple[Audio, list[tuple[float, float]], tuple[float, float]]:
    """A narration of two sentences with a 3 s pause between them and 2 s of quiet after (the music's fade-out),
    peaking at 0.5; (audio, the middle half of each sentence in seconds, the middle second of the pause)."""
    folder = tmp_path_factory.mktemp("music-speech")
    sentences = [load_audio(speak(text, folder / f"{i}.wav", rate_hz=RATE_HZ), None).samples
                 for i, text in enumerate(("A red fox runs through the snowy forest at dawn.",
                                           "The river shines under the morning light."))]
    pause = np.zeros(round(PAUSE_S * RATE_HZ), dtype=np.float32)
    samples = np.concatenate([sentences[0], pause, sentences[1], np.zeros(2 * RATE_HZ, dtype=np.float32)])
    samples *= 0.5 / np.max(np.abs(samples))
    first_s, second_start_s = len(sentences[0]) / RATE_HZ, (len(sentences[0]) + len(pause)) / RATE_HZ
    second_s = len(sentences[1]) / RATE_HZ
    speaking = [(0.25 * first_s, 0.75 * first_s),
                (second_start_s + 0.25 * second_s, second_start_s + 0.75 * second_s)]
    middle_of_pause = (first_s + 1.0, first_s + 2.0)
    return Audio(samples, RATE_HZ), speaking, middle_of_pause


def noise(seconds: float, rate_hz: int = RATE_HZ, rms: float = 0.2, seed: int = 1) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(round(seconds * rate_hz)) * rms).astype(np.float32)


def rms_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(samples, dtype=np.float64) ** 2)))


def part(samples: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    return samples[round(span[0] * RATE_HZ) : round(span[1] * RATE_HZ)]


@pytest.mark.parametrize("level_db", [-10.0, -20.0])
def test_the_voice_stays_well_above_the_ducked_music_and_the_music_returns_in_the_pause(
    spoken: tuple[Audio, list[tuple[float, float]], tuple[float, float]], level_db: float
) -> None:
    narration, speaking, pause = spoken
    mixed = mix_music(narration, Audio(noise(30.0), RATE_HZ), level_db)
    assert len(mixed.samples) == len(narration.samples), "the narration is the timing source"
    assert mixed.sample_rate_hz == RATE_HZ
    music = mixed.samples - narration.samples  # the narration is added unchanged (nothing here reaches the ceiling)
    voice_db = speech_level_dbfs(narration.samples, RATE_HZ)
    assert voice_db is not None
    for span in speaking:
        voice_over_music = rms_db(part(narration.samples, span)) - rms_db(part(music, span))
        assert voice_over_music > 20.0, f"while speaking the voice is only {voice_over_music:.1f} dB above the music"
        ducked = rms_db(part(music, span)) - voice_db
        assert ducked == pytest.approx(level_db - DUCK_DB, abs=1.0), "the music goes down by the duck while speaking"
    in_pause = rms_db(part(music, pause)) - voice_db
    assert in_pause == pytest.approx(level_db, abs=0.5), "in the pause the music is back at the level the user set"
    assert np.max(np.abs(mixed.samples)) <= CEILING


def test_the_music_is_down_before_the_first_word_and_up_again_after_the_release(
    spoken: tuple[Audio, list[tuple[float, float]], tuple[float, float]]
) -> None:
    narration, _, _ = spoken
    silence = np.zeros(2 * RATE_HZ, dtype=np.float32)
    late = Audio(np.concatenate([silence, narration.samples]), RATE_HZ)  # the voice starts at 2 s
    music = mix_music(late, Audio(noise(30.0), RATE_HZ), -10.0).samples - late.samples
    voice_db = speech_level_dbfs(late.samples, RATE_HZ)
    assert voice_db is not None
    first_word_s = np.flatnonzero(np.abs(late.samples) > 0.01)[0] / RATE_HZ
    before = rms_db(part(music, (first_word_s - 1.0, first_word_s - 0.5))) - voice_db
    at_first_word = rms_db(part(music, (first_word_s, first_word_s + 0.1))) - voice_db
    assert before == pytest.approx(-10.0, abs=0.5)
    assert at_first_word == pytest.approx(-10.0 - DUCK_DB, abs=1.0), "the duck looks ahead: down as the voice starts"


def test_nothing_clips_when_loud_music_meets_a_full_scale_voice(
    spoken: tuple[Audio, list[tuple[float, float]], tuple[float, float]]
) -> None:
    narration, _, pause = spoken
    loud = Audio(narration.samples / np.max(np.abs(narration.samples)), RATE_HZ)
    mixed = mix_music(loud, Audio(noise(30.0, rms=0.5), RATE_HZ), 0.0)
    peak = np.max(np.abs(mixed.samples))
    assert peak == pytest.approx(CEILING, abs=1e-4), "the whole mix is scaled to the ceiling, not clipped"
    voice_db = speech_level_dbfs(loud.samples, RATE_HZ)
    assert voice_db is not None
    # The balance the user set survives the scaling: music in the pause at 0 dB relative to the (scaled) voice.
    factor = float(np.dot(mixed.samples, loud.samples) / np.dot(loud.samples, loud.samples))
    music = mixed.samples - factor * loud.samples
    assert rms_db(part(music, pause)) - (voice_db + 20 * np.log10(factor)) == pytest.approx(0.0, abs=0.5)


def test_short_music_loops_without_dips_at_the_seams_and_long_music_is_cut_and_faded() -> None:
    looped = fit_to_length(noise(1.0), 5 * RATE_HZ, RATE_HZ)
    assert len(looped) == 5 * RATE_HZ
    frame = RATE_HZ // 20
    levels = [rms_db(looped[i : i + frame]) for i in range(RATE_HZ, 3 * RATE_HZ, frame)]  # past the fade-in
    assert max(levels) - min(levels) < 3.0, "the loop's seams neither dip nor swell"
    cut = fit_to_length(noise(10.0), 3 * RATE_HZ, RATE_HZ)
    assert len(cut) == 3 * RATE_HZ
    assert cut[0] == 0.0 and cut[-1] == 0.0, "faded in and out"
    assert rms_db(cut[RATE_HZ : 2 * RATE_HZ]) == pytest.approx(rms_db(noise(10.0)[RATE_HZ : 2 * RATE_HZ]), abs=0.01)


def test_music_files_at_another_rate_are_mixed_at_the_narrations_length(narration_wav: Path, tmp_path: Path) -> None:
    stereo = np.stack([noise(1.5, 48000), noise(1.5, 48000, seed=2)], axis=1)
    music_file = tmp_path / "loop.flac"
    sf.write(music_file, stereo, 48000)
    narration = load_audio(narration_wav, None)  # a 16 kHz take
    mixed = narration_with_music(narration_wav, music_file, -15.0)
    assert mixed.sample_rate_hz == MIN_MIX_RATE_HZ, "the music keeps its treble beside a 16 kHz voice"
    assert mixed.duration_s == pytest.approx(narration.duration_s, abs=2 / MIN_MIX_RATE_HZ)
    assert rms_db(mixed.samples[-MIN_MIX_RATE_HZ // 2 :]) < rms_db(mixed.samples) + 3  # still music at the end


@pytest.mark.parametrize("make, says", [
    (lambda folder: folder / "gone.mp3", "There is no music file at"),
    (lambda folder: folder, "is a folder, not a music file"),
    (lambda folder: _write(folder / "notes.mp3", b"these are not sounds " * 200), "is not audio we can read"),
    (lambda folder: _write(folder / "empty.wav", b""), "is not audio we can read"),
    (lambda folder: _wav(folder / "blip.wav", noise(0.1)), "is too short (0.10 s)"),
    (lambda folder: _wav(folder / "quiet.wav", np.zeros(RATE_HZ, dtype=np.float32)), "is silent"),
])
def test_a_music_file_that_cannot_be_used_is_one_sentence(tmp_path: Path, make, says: str) -> None:  # noqa: ANN001
    with pytest.raises(BadInputError) as caught:
        load_music(make(tmp_path), RATE_HZ)
    message = str(caught.value)
    assert says in message and message.count(". ") == 0 and message.endswith(".") and "\n" not in message


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _wav(path: Path, samples: np.ndarray) -> Path:
    sf.write(path, samples, RATE_HZ)
    return path
