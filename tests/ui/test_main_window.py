"""The real main window, driven end to end: import -> transcript -> prompt -> render -> export.

Real widgets (offscreen), real Whisper, the tiny SD pipeline, real ffmpeg. Worker signals reach
the window through queued connections, so the tests wait with `qtbot.waitUntil`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.recording import InputDevice
from hear2see_desktop.core.render import pipeline_cache
from hear2see_desktop.core.video import probe_video
from tests.ui.driving import Modals, choose, click, export_through_dialog, press
from tests.ui.ui_thread_watch import UIThreadWatch
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, use_tiny_model, wait_idle


def test_import_transcribe_edit_render_export(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                              tiny_models: tuple[Path, Path, Path]) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: "fox" in window.prompt_panel.prompt_text(), timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert "fox" in window.prompt_panel.transcript_text().lower()
    assert window.waveform.words  # recognised words drawn on the waveform
    # Transcribing again, rendering, measuring and exporting: the UI thread never runs the models or ffmpeg.
    watch = UIThreadWatch().__enter__()
    window.transcribe()
    wait_idle(qtbot, window)

    window.prompt_panel.prompt_edit.setPlainText("a red fox in deep snow, watercolor")
    assert window.prompt_panel.prompt_edited()
    use_tiny_model(window, tiny_models[0])
    results = []
    window.render_finished.connect(results.append)
    click(qtbot, window.render_button)
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    assert not dialogs.errors
    record = results[0].record
    assert record.prompt == "a red fox in deep snow, watercolor"  # the user's words, not rebuilt
    assert window.timeline.frame_count() == 3 and all(window.timeline.has_final(i) for i in range(3))
    assert window.preview.current_image() is not None
    assert window.eta_label.text().startswith("Rendered in")
    # The render's numbers appear under the preview, and a rating lands in the run record.
    qtbot.waitUntil(lambda: "AV-Align" in window.metrics_panel.summary.text()
                    and "Measuring" not in window.metrics_panel.summary.text(), timeout=TIMEOUT_MS)
    assert "flicker" in window.metrics_panel.summary.text()
    click(qtbot, window.metrics_panel.stars[3])
    wait_idle(qtbot, window)
    from hear2see_desktop.core import paths
    from hear2see_desktop.core.runlog import find_record

    assert find_record(paths.runs_log_path(), record.id)["rating"] == 4

    out = tmp_path / "exported"
    out.mkdir()
    export_through_dialog(qtbot, window, lambda: click(qtbot, window.export_button),
                          mp4=out / "clip.mp4", frames=out / "frames", txt=out / "clip.txt")
    wait_idle(qtbot, window)
    watch.__exit__()
    assert not watch.calls, f"the UI thread ran model or ffmpeg code: {sorted(set(watch.calls))[:10]}"
    info = probe_video(out / "clip.mp4")
    assert info.has_audio and abs(info.duration_s - record.audio.duration_s) <= 0.3
    assert sorted(p.name for p in (out / "frames").iterdir()) == [f"frame_000{i}.png" for i in (1, 2, 3)]
    assert "fox" in (out / "clip.txt").read_text().lower()


def test_cancel_mid_render_then_render_again_without_reloading(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                               tiny_models: tuple[Path, Path, Path]) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()), timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    use_tiny_model(window, tiny_models[0], frames=12, steps=8)
    window.settings_panel.width_px.setValue(128)
    window.settings_panel.height_px.setValue(128)
    loads = None
    for start, stop in ((lambda: click(qtbot, window.render_button), lambda: click(qtbot, window.cancel_button)),
                        (lambda: choose(window, "Render", "Render"), lambda: press(qtbot, window, "Esc"))):
        start()
        qtbot.waitUntil(lambda: window.timeline.frame_count() >= 1, timeout=TIMEOUT_MS)
        loads = pipeline_cache.load_count if loads is None else loads
        stop()
        wait_idle(qtbot, window)
        assert window.progress_bar.format() == "Cancelled"
        assert window.last_render is None and not dialogs.errors
        assert window.render_button.isEnabled() and not window.cancel_button.isEnabled()

    use_tiny_model(window, tiny_models[0], frames=2, steps=2)
    results = []
    window.render_finished.connect(results.append)
    press(qtbot, window, "Ctrl+Enter")  # the keypad's Enter (Ctrl+Return, the other one, is in test_as_a_person)
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    assert pipeline_cache.load_count == loads  # the model stayed loaded
    assert window.timeline.frame_count() == 2


def test_save_close_reopen_restores_the_work(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                             tiny_models: tuple[Path, Path, Path], modals: Modals) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()), timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.prompt_panel.prompt_edit.setPlainText("an owl over a frozen lake")
    use_tiny_model(window, tiny_models[0], frames=2)
    window.settings_panel.seed.setValue(1234)
    results = []
    window.render_finished.connect(results.append)
    click(qtbot, window.render_button)
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    project_path = tmp_path / "work" / "owl.h2s"
    project_path.parent.mkdir()
    modals.expect_file(project_path)
    choose(window, "File", "Save project as…")
    qtbot.waitUntil(lambda: window.project_path == project_path, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert project_path.exists() and not dialogs.errors
    transcript = window.prompt_panel.transcript_text()
    window.close()

    again = make_window(qtbot, tmp_path, dialogs)
    choose(again, "File", "Open recent", str(project_path))
    qtbot.waitUntil(lambda: again.project_path == project_path, timeout=TIMEOUT_MS)
    assert again.prompt_panel.prompt_text() == "an owl over a frozen lake"
    assert again.prompt_panel.prompt_edited()
    assert again.prompt_panel.transcript_text() == transcript
    assert again.settings_panel.seed.value() == 1234 and again.settings_panel.frames.value() == 2
    assert again.timeline.frame_count() == 2 and again.last_render is not None
    assert str(project_path) in again.store.recent_projects()


def test_a_new_transcript_asks_before_replacing_an_edited_prompt(qtbot: QtBot, tmp_path: Path,
                                                                 narration_wav: Path) -> None:
    dialogs = Dialogs(answer=False)
    window = make_window(qtbot, tmp_path, dialogs)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()), timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.prompt_panel.prompt_edit.setPlainText("my own words")
    window.transcribe()
    wait_idle(qtbot, window)
    assert "Replace your prompt?" in dialogs.questions
    assert window.prompt_panel.prompt_text() == "my own words"


def test_without_a_microphone_record_is_disabled_and_says_why(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, Dialogs())
    assert not window.audio_bar.record_button.isEnabled()
    assert "microphone" in window.audio_bar.record_button.toolTip().lower()


def test_recording_shows_live_text_before_stop_and_keeps_the_take(qtbot: QtBot, tmp_path: Path) -> None:
    from tests.fake_input_stream import make_fake_factory
    from tests.speech import speak

    speech = speak("The quick brown fox jumps over the lazy dog near the quiet river at sunset.",
                   tmp_path / "speech.wav", rate_hz=48000)
    factory = make_fake_factory(speech, speed=2.0)
    device = InputDevice(0, "Fake microphone", 48000.0, 1, True)
    window = make_window(qtbot, tmp_path, Dialogs(), input_stream_factory=factory, list_devices=lambda: [device])
    click(qtbot, window.audio_bar.record_button)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.transcript_text()), timeout=TIMEOUT_MS)
    assert window.recorder is not None  # the live text came while still recording
    qtbot.wait(1500)
    press(qtbot, window, "R")
    qtbot.waitUntil(lambda: window.audio_path is not None and not window.workers, timeout=TIMEOUT_MS)
    assert window.audio_path.exists() and window.audio is not None and window.audio.duration_s > 1.0
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()), timeout=TIMEOUT_MS)


def test_dropping_an_audio_file_imports_it(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window(qtbot, tmp_path, Dialogs())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(narration_wav))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.audio_path == narration_wav and bool(window.prompt_panel.prompt_text()),
                    timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)


def test_a_missing_model_is_named_under_its_field_and_render_offers_the_models_dialog(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, tiny_models: tuple[Path, Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))  # nothing installed anywhere
    dialogs = Dialogs(answer=True)
    window = make_window(qtbot, tmp_path, dialogs)
    panel = window.settings_panel
    panel.model_edit.setText("stable-diffusion-v1-5/stable-diffusion-v1-5")  # the default, not installed
    assert panel.model_notice.isVisible()
    assert "Not installed" in panel.model_notice.text() and "4.3 GB" in panel.model_notice.text()
    assert "Stable Diffusion 1.5" in panel.model_notice.toolTip() and "File > Models…" in panel.model_notice.toolTip()

    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()), timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    window.start_render()
    assert dialogs.questions == ["Model needed"] and "render" not in window.workers  # asked before any work
    assert window.models_dialog is not None and window.models_dialog.isVisible()  # "yes" opened File > Models…
    window.models_dialog.reject()

    panel.model_notice.linkActivated.emit("models")  # the notice's own link
    assert window.models_dialog.isVisible()
    window.models_dialog.reject()

    use_tiny_model(window, tiny_models[0])
    assert not panel.model_notice.isVisible()  # a folder on this machine: nothing to say
    panel.model_edit.setText("someone/other-model")  # not in the catalogue: choose or import one
    assert panel.model_notice.isVisible()
    assert "'someone/other-model' is not on this machine" in panel.model_notice.toolTip()
    dialogs.answer = False
    window.start_render()
    assert dialogs.questions == ["Model needed", "Model needed"] and not window.models_dialog.isVisible()
    assert "render" not in window.workers and window.render_button.isEnabled()


def test_bad_audio_gets_a_dialog_and_the_window_keeps_working(qtbot: QtBot, tmp_path: Path,
                                                              narration_wav: Path) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n" * 50)
    window.import_audio(bad)
    qtbot.waitUntil(lambda: bool(dialogs.errors), timeout=TIMEOUT_MS)
    assert dialogs.errors[0][0] == "Cannot open audio" and "\n" not in dialogs.errors[0][1]
    wait_idle(qtbot, window)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: window.audio_path == narration_wav, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)


def test_window_layout_and_settings_are_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, Dialogs())
    window.resize(1111, 777)
    window.splitter.setSizes([500, 300, 300])
    window.settings_panel.steps.setValue(33)
    sizes = window.splitter.sizes()
    size = window.size()
    window.close()
    again = make_window(qtbot, tmp_path, Dialogs())
    assert abs(again.size().width() - size.width()) <= 30 and abs(again.size().height() - size.height()) <= 30
    assert again.size().width() != 1280  # not the first-run default
    assert all(abs(a - b) <= 30 for a, b in zip(again.splitter.sizes(), sizes, strict=True))
    assert again.settings_panel.steps.value() == 33


def test_play_pause_moves_the_playhead_and_stops_at_the_end(qtbot: QtBot, tmp_path: Path,
                                                            narration_wav: Path) -> None:
    from tests.fake_output_stream import FakeFactory

    output = FakeFactory(speed=4.0)
    window = make_window(qtbot, tmp_path, Dialogs(), output_stream_factory=output)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: window.audio_bar.play_button.isEnabled(), timeout=TIMEOUT_MS)
    click(qtbot, window.audio_bar.play_button)
    assert window.audio_bar.play_button.text().endswith("Pause")
    qtbot.waitUntil(lambda: (window.waveform.playhead_s or 0.0) > 0.2, timeout=TIMEOUT_MS)
    click(qtbot, window.audio_bar.play_button)  # pause
    paused_at = window.player.position_s
    assert window.audio_bar.play_button.text().endswith("Play") and paused_at > 0.2
    click(qtbot, window.audio_bar.play_button)  # resume, then it runs to the end
    qtbot.waitUntil(lambda: window.audio_bar.play_button.text().endswith("Play"), timeout=TIMEOUT_MS)
    assert window.waveform.playhead_s is None and window.player.position_s >= paused_at
    wait_idle(qtbot, window)


# --- scenes, modes and subtitles ---------------------------------------------------------------------
def test_scenes_appear_after_transcription_and_an_edited_scene_prompt_is_rendered(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, tiny_models: tuple[Path, Path, Path]) -> None:
    import srt
    import webvtt

    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    assert window.scene_strip.scene_count() == 0
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: window.scene_strip.scene_count() >= 1, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.scene_strip.storyboard is window.storyboard
    assert window.storyboard.duration_s == pytest.approx(window.audio.duration_s)
    assert "fox" in window.storyboard.scenes[0].prompt
    assert window.scene_strip.block_rect(0).left() == 0  # on the waveform's axis

    qtbot.mouseDClick(window.scene_strip, Qt.MouseButton.LeftButton, pos=window.scene_strip.block_rect(0).center())
    editor = window.scene_strip.editor()
    assert editor is not None and editor.hasFocus()
    qtbot.keyClicks(editor, "a paper lantern glowing in the snow")  # over the old prompt, which starts selected
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert window.storyboard.scenes[0].prompt == "a paper lantern glowing in the snow"
    assert window.storyboard.scenes[0].edited and window.storyboard_edited()

    panel = window.settings_panel
    panel.mode.setCurrentIndex(panel.mode.findData("fast"))
    use_tiny_model(window, tiny_models[0], steps=2)
    results = []
    window.render_finished.connect(results.append)
    choose(window, "Render", "Render")
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    assert not dialogs.errors
    record = results[0].record
    assert record.mode == "fast"
    assert record.storyboard.scenes[0].prompt == "a paper lantern glowing in the snow"
    # The timeline shows the keyframes where the job planned them.
    assert window._render_image_times == pytest.approx(record.keyframe_times_s, abs=1e-3)
    assert window.timeline.frame_count() == record.keyframes
    wait_idle(qtbot, window)

    out = tmp_path / "subtitles"
    out.mkdir()
    export_through_dialog(qtbot, window, lambda: choose(window, "File", "Export…"), srt=out / "fox.srt",
                          vtt=out / "fox.vtt")
    wait_idle(qtbot, window)
    cues = list(srt.parse((out / "fox.srt").read_text(encoding="utf-8")))
    assert cues and "fox" in " ".join(cue.content for cue in cues).lower()
    captions = webvtt.read(str(out / "fox.vtt"))
    assert [c.text for c in captions] == [c.content for c in cues]


def test_dragged_cuts_are_kept_in_the_project_and_a_rebuild_asks_first(qtbot: QtBot, tmp_path: Path,
                                                                       narration_wav: Path) -> None:
    from PySide6.QtCore import QPoint

    dialogs = Dialogs(answer=False)
    window = make_window(qtbot, tmp_path, dialogs)
    window.resize(1200, 820)
    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: window.storyboard is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    # Shorter scenes: the strip is cut again (after a short pause for typing).
    window.settings_panel.max_scene.setValue(1.0)
    window.settings_panel.min_scene.setValue(0.5)
    qtbot.waitUntil(lambda: window.scene_strip.scene_count() >= 2, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)

    strip = window.scene_strip
    before = window.storyboard.scenes[1].start_s
    y = strip.height() // 2
    start_x = round(strip.edge_x(1))
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=QPoint(start_x, y))
    qtbot.mouseMove(strip, QPoint(start_x + 25, y))
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=QPoint(start_x + 25, y))
    moved = window.storyboard.scenes[1].start_s
    assert moved > before and window.storyboard.scenes[0].end_s == moved
    assert window.storyboard_edited() and strip.storyboard is window.storyboard

    project_path = tmp_path / "work" / "cuts.h2s"
    project_path.parent.mkdir()
    window.save_project_to(project_path)
    wait_idle(qtbot, window)
    saved_board = window.storyboard

    # Cutting again would lose the moved cut: the window asks, and "no" keeps the user's scenes.
    window.settings_panel.max_scene.setValue(2.0)
    qtbot.waitUntil(lambda: "Replace your scenes?" in dialogs.questions, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.storyboard is saved_board
    window.close()

    again = make_window(qtbot, tmp_path, dialogs)
    again.open_project(project_path)
    qtbot.waitUntil(lambda: again.project_path == project_path, timeout=TIMEOUT_MS)
    wait_idle(qtbot, again)
    assert again.storyboard == saved_board and again.storyboard_edited()
    assert again.scene_strip.scene_count() == len(saved_board.scenes)


def test_the_render_mode_and_its_settings_round_trip(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, Dialogs())
    panel = window.settings_panel
    assert panel.current_mode() == "classic" and not panel.reactivity.isEnabled()
    assert panel.fps.value() == 8
    panel.mode.setCurrentIndex(panel.mode.findData("smooth"))
    assert panel.fps.value() == 12  # the mode's own rate, since the rate was the old mode's default
    assert panel.reactivity.isEnabled() and not panel.frames.isEnabled()
    assert "denoised" in panel.mode.toolTip()
    panel.fps.setValue(10)
    panel.mode.setCurrentIndex(panel.mode.findData("fast"))
    assert panel.fps.value() == 10  # set by hand: kept
    panel.reactivity.setValue(0.8)
    panel.captions.setChecked(True)
    assert panel.transition.isEnabled() and window.current_settings().transition_s == 0.5
    panel.transition.setValue(1.25)
    assert panel.scene_change.isEnabled() and window.current_settings().scene_change == "cut"
    panel.scene_change.setCurrentIndex(panel.scene_change.findData("dissolve"))
    settings = window.current_settings()
    assert (settings.mode, settings.reactivity, settings.captions, settings.fps) == ("fast", 0.8, True, 10)
    assert settings.transition_s == 1.25 and settings.scene_change == "dissolve"
    window.close()

    again = make_window(qtbot, tmp_path, Dialogs())
    restored = again.current_settings()
    assert (restored.mode, restored.reactivity, restored.captions, restored.fps) == ("fast", 0.8, True, 10)
    assert restored.transition_s == 1.25 and restored.scene_change == "dissolve"
    again.settings_panel.set_settings(replace(restored, transition_s=None))
    assert again.settings_panel.transition.text() == "whole", "a morph without holds shows as 'whole'"
    assert again.current_settings().transition_s is None
    assert again.settings_panel.reactivity.isEnabled()
    again.settings_panel.mode.setCurrentIndex(again.settings_panel.mode.findData("classic"))
    assert not again.settings_panel.reactivity.isEnabled() and not again.settings_panel.transition.isEnabled()
    assert not again.settings_panel.scene_change.isEnabled()


def test_the_export_dialog_offers_subtitles_only_with_word_times(qtbot: QtBot, tmp_path: Path) -> None:
    from hear2see_desktop.ui.export_dialog import ExportDialog

    without = ExportDialog(tmp_path / "fox", False, True, has_word_times=False)
    qtbot.addWidget(without)
    assert not without.srt_check.isEnabled() and not without.vtt_check.isEnabled()
    assert without.choice().srt is None

    dialog = ExportDialog(tmp_path / "fox", True, True, has_word_times=True)
    qtbot.addWidget(dialog)
    assert dialog.srt_check.isEnabled() and not dialog.srt_check.isChecked()
    dialog.mp4_path.setText(str(tmp_path / "out" / "clip.mp4"))
    assert dialog.srt_path.text() == str(tmp_path / "out" / "clip.srt")  # next to the video
    dialog.vtt_path.setText(str(tmp_path / "mine.vtt"))
    dialog.mp4_path.setText(str(tmp_path / "other.mp4"))
    assert dialog.vtt_path.text() == str(tmp_path / "mine.vtt")  # typed by the user: left alone
    dialog.srt_check.setChecked(True)
    dialog.vtt_check.setChecked(True)
    choice = dialog.choice()
    assert choice.srt == tmp_path / "other.srt" and choice.vtt == tmp_path / "mine.vtt"


def test_animate_is_in_the_mode_picker_with_its_motion_model_and_renders(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, tiny_models: tuple[Path, Path, Path],
        tiny_motion_models: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))  # no motion model anywhere
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    panel = window.settings_panel
    assert not panel.motion_edit.isEnabled() and not panel.browse_motion.isEnabled()
    panel.mode.setCurrentIndex(panel.mode.findData("animate"))
    assert panel.mode.currentText() == "Animate — motion model" and "AnimateDiff" in panel.mode.toolTip()
    assert panel.motion_edit.isEnabled() and panel.transition.isEnabled() and panel.reactivity.isEnabled()
    assert not panel.keyframe_interval.isEnabled() and not panel.scene_change.isEnabled()
    assert not panel.frames.isEnabled()
    assert window.current_settings().motion_model == "guoyww/animatediff-motion-adapter-v1-5-2"
    assert [action.text() for action in panel.motion_menu.actions()][0].startswith("No motion models installed")

    window.import_audio(narration_wav)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()), timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    use_tiny_model(window, tiny_models[0])
    panel.mode.setCurrentIndex(panel.mode.findData("animate"))  # use_tiny_model leaves the mode alone
    window.start_render()
    wait_idle(qtbot, window)
    assert len(dialogs.errors) == 1 and "\n" not in dialogs.errors[0][1]
    assert "animatediff-v1-5-2" in dialogs.errors[0][1] and "“Motion model”" in dialogs.errors[0][1]
    assert window.render_button.isEnabled()

    panel.motion_edit.setText(str(tiny_motion_models[0]))
    results = []
    window.render_finished.connect(results.append)
    window.start_render()
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    assert len(dialogs.errors) == 1
    record = results[0].record
    assert record.settings.mode == "animate" and record.settings.motion_model == str(tiny_motion_models[0])
    assert record.motion_model is not None and record.motion_model.kind == "diffusers"
    assert window.timeline.frame_count() == record.output_frames > 1
    window.close()

    again = make_window(qtbot, tmp_path, Dialogs())  # the mode and the motion model are remembered
    restored = again.current_settings()
    assert (restored.mode, restored.motion_model) == ("animate", str(tiny_motion_models[0]))
    assert again.settings_panel.motion_edit.isEnabled()
