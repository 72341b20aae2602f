"""Sound events in the app: the lane of labels under the waveform, each scene's sound words edited or switched off,
and "Hear sound events" tagging the take on a worker (or saying the tagger is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.audio import Audio, load_audio, write_wav
from hear2see_desktop.core.sounds.track import SoundEvent, SoundTrack, SoundWindow, window_spans
from hear2see_desktop.core.storyboard.board import Scene, Storyboard, rebuild_prompts
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.scene_sounds_field import SceneSoundsField
from hear2see_desktop.ui.settings_store import Key
from hear2see_desktop.ui.sound_lane import SoundLane
from tests.tiny_tagger import noise_take, save_loudness_tagger
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, wait_idle


def _track(labels: list[str], duration_s: float = 4.0) -> SoundTrack:
    """A hand-made track: window k leads with labels[k] (score 0.9), speech always there (never a picture)."""
    spans = window_spans(duration_s)
    assert len(spans) == len(labels)
    windows = tuple(SoundWindow(s, e, (SoundEvent(label, 0.9), SoundEvent("Speech", 0.8)), -20.0)
                    for (s, e), label in zip(spans, labels, strict=True))
    return SoundTrack(windows, duration_s, "hand-made")


def _board_with_sounds() -> Storyboard:
    track = _track(["Rain"] * 3 + ["Thunder"] * 4)
    scenes = [Scene(0.0, 2.0, "A fox walks.", "", sound_words="rain, wet streets"),
              Scene(2.0, 4.0, "The fox sleeps.", "", sound_words="storm clouds, lightning")]
    return rebuild_prompts(Storyboard(scenes, 4.0, "cinematic", track))


def test_the_lane_labels_the_strong_events_at_their_times(qtbot: QtBot) -> None:
    lane = SoundLane()
    qtbot.addWidget(lane)
    lane.resize(400, lane.height())
    assert lane.isHidden(), "no lane while no tagger heard the take"
    lane.set_track(_track(["Rain"] * 3 + ["Thunder"] * 4))
    assert not lane.isHidden()
    labels = lane.labels()
    assert [label for _, _, label in labels] == ["Rain", "Thunder"], "speech is never a label; runs merge"
    (rain_start, rain_end, _), (thunder_start, thunder_end, _) = labels
    assert rain_start == 0.0 and rain_end == pytest.approx(1.75) and thunder_start == pytest.approx(1.75)
    assert thunder_end == 4.0
    assert lane.span_rect(1).left() == round(1.75 / 4.0 * 400)
    assert not lane.grab().isNull()  # paints
    lane.set_track(None)
    assert lane.isHidden() and lane.labels() == []


def test_the_field_emits_the_scenes_edited_words_and_its_switch(qtbot: QtBot) -> None:
    field = SceneSoundsField()
    qtbot.addWidget(field)
    field.show()
    field.show_scene(None, None)
    assert field.words_edit.isHidden(), "no sound words without a track"
    board = _board_with_sounds()
    field.show_scene(1, board)
    assert field.words_edit.text() == "storm clouds, lightning" and field.words_check.isChecked()
    with qtbot.waitSignal(field.sound_words_edited) as edited:
        field.words_edit.setText("thunder over the hills")
        field.words_edit.editingFinished.emit()
    assert edited.args == [1, "thunder over the hills", True]
    with qtbot.waitSignal(field.sound_words_edited) as switched:
        qtbot.mouseClick(field.words_check, Qt.MouseButton.LeftButton)
    assert switched.args == [1, "thunder over the hills", False]
    assert not field.words_edit.isEnabled()


def test_editing_and_switching_off_a_scenes_sound_words_changes_the_board(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    window.adopt_storyboard(_board_with_sounds())
    assert not window.sound_lane.isHidden() and [lab for *_, lab in window.sound_lane.labels()] == ["Rain", "Thunder"]
    window.scene_strip.set_selected(0)  # as a click on the strip does
    window.scene_strip.scene_selected.emit(0)
    field = window.scene_sounds
    assert field.words_edit.text() == "rain, wet streets"
    field.words_edit.setText("drizzle, grey sky")
    field.words_edit.editingFinished.emit()
    scene = window.work.storyboard.scenes[0]
    assert scene.sound_words == "drizzle, grey sky" and scene.sound_edited and "drizzle" in scene.prompt
    qtbot.mouseClick(field.words_check, Qt.MouseButton.LeftButton)
    scene = window.work.storyboard.scenes[0]
    assert not scene.sound_words_on and "drizzle" not in scene.prompt, "switched off: its sounds leave the prompt"
    assert "fox" in scene.prompt
    window.adopt_storyboard(None)
    assert window.sound_lane.isHidden() and field.words_edit.isHidden()


def test_hearing_without_the_tagger_installed_says_where_to_get_it(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    qtbot.mouseClick(window.scene_sounds.hear_check, Qt.MouseButton.LeftButton)
    assert not window.scene_sounds.hear_check.isChecked() and window.sound_model() is None
    assert not window.scene_sounds.notice.isHidden() and "File &gt; Models" in window.scene_sounds.notice.text()
    assert "ast-audioset" in window.statusBar().currentMessage()
    assert not window.workers, "nothing runs without a tagger"


def test_hearing_left_on_is_taken_up_at_start_or_the_notice_says_the_tagger_is_gone(qtbot: QtBot,
                                                                                      tmp_path: Path) -> None:
    first = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    first.store.set(Key.HEAR_SOUNDS, True)
    first.store.qsettings.sync()
    again = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    assert not again.scene_sounds.hear_check.isChecked() and again.sound_model() is None
    assert not again.scene_sounds.notice.isHidden(), "the tagger left this machine: the notice says how to get it"


@pytest.fixture(scope="module")
def tagger_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_loudness_tagger(tmp_path_factory.mktemp("tagger") / "loudness")


@pytest.fixture(scope="module")
def quiet_then_loud(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Audio]:
    """Eight seconds: four of quiet noise (the tagger hears Ocean), four of loud (Rain)."""
    path = write_wav(tmp_path_factory.mktemp("take") / "storm.wav", noise_take([-40.0, -15.0], 4.0), 16000)
    return path, load_audio(path)


def _hearing_window(qtbot: QtBot, tmp_path: Path, tagger_folder: Path, take: tuple[Path, Audio]) -> MainWindow:
    window = make_window(qtbot, tmp_path, Dialogs(), warm_up_asr=False)
    window.set_audio(*take)
    window.scenes.sound_model_spec = str(tagger_folder)
    return window


def test_a_chosen_tagger_hears_the_take_on_a_worker_and_the_scenes_get_its_words(
        qtbot: QtBot, tmp_path: Path, tagger_folder: Path, quiet_then_loud: tuple[Path, Audio]) -> None:
    window = _hearing_window(qtbot, tmp_path, tagger_folder, quiet_then_loud)
    words = [Word("A", 0.5, 0.7, 1.0), Word("fox", 0.8, 1.2, 1.0), Word("walks.", 1.3, 2.5, 1.0),
             Word("The", 5.0, 5.2, 1.0), Word("fox", 5.3, 5.7, 1.0), Word("sleeps.", 5.8, 7.0, 1.0)]
    window.apply_transcript(Transcript(text="A fox walks. The fox sleeps.", words=words, duration_s=8.0))
    wait_idle(qtbot, window)
    qtbot.mouseClick(window.scene_sounds.hear_check, Qt.MouseButton.LeftButton)
    assert window.sound_model() == str(tagger_folder)
    assert window.store.text(Key.HEAR_SOUNDS).lower() == "true", "the next start hears sounds too"
    assert any(name.startswith("storyboard-") for name in window.workers), "the tagger runs on a worker"
    qtbot.waitUntil(lambda: window.work.storyboard is not None and window.work.storyboard.sounds is not None,
                    timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    board = window.work.storyboard
    assert "rain" in board.scenes[-1].sound_words and "rain" in board.scenes[-1].prompt
    assert "sea" in board.scenes[0].sound_words
    assert "Rain" in [label for *_, label in window.sound_lane.labels()] and not window.sound_lane.isHidden()
    from hear2see_desktop.ui.main_window.render_start import request_for

    request = request_for(window, window.current_settings())
    assert request.sound_model == str(tagger_folder) and request.storyboard is not None


def test_a_take_without_speech_is_cut_from_its_sounds_with_a_notice(
        qtbot: QtBot, tmp_path: Path, tagger_folder: Path, quiet_then_loud: tuple[Path, Audio]) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs, warm_up_asr=False)
    window.set_audio(*quiet_then_loud)
    window.scenes.sound_model_spec = str(tagger_folder)
    window.work.transcript = Transcript(text="", words=[], duration_s=8.0)
    qtbot.mouseClick(window.scene_sounds.hear_check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.work.storyboard is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.work.storyboard.sounds is not None and len(window.work.storyboard.scenes) >= 2
    assert window.statusBar().currentMessage() == "No speech detected in storm.wav: the scenes follow its sounds."
    assert dialogs.errors == [], "a notice, not an error dialog"
