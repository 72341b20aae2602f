"""A microphone that fails mid-take in the real window: the take so far becomes the narration."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.recording import DEVICE_LOST, InputDevice
from tests.fake_input_stream import make_fake_factory
from tests.speech import speak
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window


@pytest.mark.parametrize("fail_mode", ["error", "inactive"])
def test_a_microphone_unplugged_mid_take_keeps_the_take_so_far(qtbot: QtBot, tmp_path: Path, fail_mode: str) -> None:
    speech = speak("The quick brown fox jumps over the lazy dog near the quiet river at sunset.",
                   tmp_path / "speech.wav", rate_hz=48000)
    factory = make_fake_factory(speech, speed=2.0, fail_after_s=1.0, fail_mode=fail_mode)
    device = InputDevice(0, "Fake microphone", 48000.0, 1, True)
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs, input_stream_factory=factory, list_devices=lambda: [device])
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)

    window.toggle_recording()  # and the cable comes out a second in

    qtbot.waitUntil(lambda: window.audio_path is not None and window.recorder is None, timeout=TIMEOUT_MS)
    assert DEVICE_LOST in messages, "the user was not told why the take ended"
    assert not dialogs.errors, "a lost device ends the take; it is not a failure"
    assert window.audio_path.exists() and window.audio is not None
    assert window.audio.duration_s == pytest.approx(1.0, abs=0.15)
    assert window.audio_bar.record_button.isEnabled()
    qtbot.waitUntil(lambda: not window.workers, timeout=TIMEOUT_MS)
