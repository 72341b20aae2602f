"""The audio bar's speech-model picker: installed catalogue models, remembered, used for transcription."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.core.asr.asr_model_setup import install, korean_model_dir
from tests.speech import speak
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, wait_idle


def test_a_korean_narration_is_transcribed_with_the_chosen_korean_model(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(models))
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs, warm_up_asr=False)
    combo = window.audio_bar.speech_combo
    qtbot.waitUntil(lambda: combo.count() == 1, timeout=TIMEOUT_MS)
    assert window.audio_bar.selected_speech_model() is None  # automatic

    install(models, "vosk/vosk-model-small-ko-0.22", korean_model_dir())
    window.refresh_speech_choices()  # what closing the Models dialog does
    assert combo.count() == 2
    combo.setCurrentIndex(combo.findData("vosk-ko-small"))
    assert window.audio_bar.selected_speech_model() == "vosk-ko-small"

    window.import_audio(speak("안녕하세요 반갑습니다", tmp_path / "ko.wav", voice="ko"))
    qtbot.waitUntil(lambda: window.transcript is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert not dialogs.errors
    assert window.transcript.engine == "vosk" and window.transcript.words

    # The choice is remembered for the next start.
    again = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    qtbot.waitUntil(lambda: again.audio_bar.speech_combo.count() == 2, timeout=TIMEOUT_MS)
    assert again.audio_bar.selected_speech_model() == "vosk-ko-small"
