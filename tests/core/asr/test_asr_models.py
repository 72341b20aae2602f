"""Speech models installed from the catalogue: chosen by name or by language, with Whisper's best as the fallback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hear2see_desktop.core.asr.select import open_engine
from hear2see_desktop.core.asr.whisper_engine import embedded_whisper_model
from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from tests.cli_helpers import run_cli
from tests.core.asr.asr_model_setup import install, korean_model_dir


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(folder))
    return folder






def test_a_language_picks_its_installed_vosk_model(models_dir: Path) -> None:
    with pytest.raises(ModelMissingError, match="hear2see models download vosk-ko-small"):
        open_engine("auto", language="ko")
    installed = install(models_dir, "vosk/vosk-model-small-ko-0.22", korean_model_dir())
    engine = open_engine("auto", language="KO ")
    assert engine.name == "vosk" and engine.model_path == installed
    assert open_engine("vosk", language="ko").model_path == installed
    with pytest.raises(ModelMissingError, match="hear2see models download vosk-de-small"):
        open_engine("vosk", language="de")
    with pytest.raises(BadInputError, match="no speech model for the language 'xx'.*ko"):
        open_engine("auto", language="xx")
    with pytest.raises(BadInputError, match="English only"):
        open_engine("whisper", language="ko")


def test_catalogue_names_work_as_asr_models(models_dir: Path) -> None:
    with pytest.raises(ModelMissingError, match="hear2see models download whisper-base.en"):
        open_engine("auto", "whisper-base.en")
    embedded = embedded_whisper_model()
    assert embedded is not None
    installed = install(models_dir, "whisper/tiny.en", embedded)
    engine = open_engine("auto", "whisper-tiny.en")
    assert engine.name == "whisper" and engine.model_path == installed
    # With no Vosk model, "auto" and English listen with the largest installed Whisper, not the bundled copy.
    assert open_engine("auto").model_path == installed
    assert open_engine("auto", language="en").model_path == installed
    assert open_engine("whisper").model_path == installed


def test_english_without_any_download_uses_the_bundled_whisper(models_dir: Path) -> None:
    engine = open_engine("auto", language="en")
    assert engine.name == "whisper" and engine.model_path == embedded_whisper_model()


def test_transcribe_with_language_on_the_command_line(models_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.speech import speak

    wav = speak("안녕하세요 반갑습니다", tmp_path / "ko.wav", voice="ko")
    code, _, err = run_cli(["transcribe", str(wav), "--language", "ko"], capsys)
    assert code == 3 and "vosk-ko-small" in err and "Traceback" not in err
    install(models_dir, "vosk/vosk-model-small-ko-0.22", korean_model_dir())
    code, out, err = run_cli(["transcribe", str(wav), "--language", "ko", "--json"], capsys)
    assert code == 0, err
    assert '"engine": "vosk"' in out
