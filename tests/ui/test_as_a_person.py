"""The window driven only as a person drives it: clicks, shortcuts, menu items, and the real dialogs answered
through their own buttons and fields (Qt's file dialog is typed into; message boxes are clicked).

The window is made without stand-ins for its message boxes (`make_window(..., None)`); the `modals`
fixture answers the questions a test expects and fails it on any other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPlainTextEdit
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.project import load_project
from hear2see_desktop.core.video import probe_video
from hear2see_desktop.ui import save_guard
from hear2see_desktop.ui.export_dialog import ExportDialog
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.models_dialog import ModelsDialog
from tests.fake_output_stream import FakeFactory
from tests.ui.driving import (
    Modals,
    button_for,
    button_named,
    choose,
    click,
    export_through_dialog,
    press,
    wait_for_window,
)
from tests.ui.window_setup import TIMEOUT_MS, make_window, use_tiny_model, wait_idle

REAL_SAVE_QUESTION = save_guard.ask_save_changes  # before the autouse fixture puts "Don't Save" in its place


def import_by_button(qtbot: QtBot, window: MainWindow, modals: Modals, audio: Path) -> None:
    """Import… , the file typed into the file dialog; waits for the transcript's prompt and scenes."""
    modals.expect_file(audio)
    click(qtbot, window.audio_bar.import_button)
    qtbot.waitUntil(lambda: bool(window.prompt_panel.prompt_text()) and window.storyboard is not None,
                    timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)


def type_over(qtbot: QtBot, edit: QPlainTextEdit, text: str) -> None:
    """Click into a text box, select everything and type `text`."""
    qtbot.mouseClick(edit.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(edit, text)


def test_import_play_render_rate_and_export_by_button_menu_and_ctrl_e(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, tiny_models: tuple[Path, Path, Path],
        modals: Modals) -> None:
    output = FakeFactory(speed=8.0)
    window = make_window(qtbot, tmp_path, None, output_stream_factory=output, warm_up_asr=False)
    import_by_button(qtbot, window, modals, narration_wav)
    assert window.audio_path == narration_wav and "fox" in window.prompt_panel.transcript_text().lower()

    click(qtbot, window.audio_bar.play_button)
    assert window.audio_bar.play_button.text().endswith("Pause")
    qtbot.waitUntil(lambda: window.audio_bar.play_button.text().endswith("Play"), timeout=TIMEOUT_MS)
    assert output.streams and len(output.played()) > 0

    type_over(qtbot, window.prompt_panel.prompt_edit, "a red fox in deep snow, watercolor")
    assert window.prompt_panel.prompt_edited()
    use_tiny_model(window, tiny_models[0])
    results = []
    window.render_finished.connect(results.append)
    press(qtbot, window, "Ctrl+Return")
    qtbot.waitUntil(lambda: bool(results), timeout=TIMEOUT_MS)
    assert results[0].record.prompt == "a red fox in deep snow, watercolor"
    qtbot.waitUntil(lambda: window.metrics_panel.stars[3].isEnabled() and "eval" not in window.workers,
                    timeout=TIMEOUT_MS)
    click(qtbot, window.metrics_panel.stars[3])
    wait_idle(qtbot, window)
    assert "Rated run" in window.statusBar().currentMessage()

    out = tmp_path / "out"
    out.mkdir()
    export_through_dialog(qtbot, window, lambda: click(qtbot, window.export_button),
                          mp4=out / "button.mp4", frames=out / "frames", txt=out / "fox.txt")
    export_through_dialog(qtbot, window, lambda: choose(window, "File", "Export…"),
                          mp4=out / "menu.mp4", srt=out / "fox.srt", vtt=out / "fox.vtt")
    export_through_dialog(qtbot, window, lambda: press(qtbot, window, "Ctrl+E"), mp4=out / "keys.mp4")

    duration_s = results[0].record.audio.duration_s
    for name in ("button.mp4", "menu.mp4", "keys.mp4"):
        info = probe_video(out / name)
        assert info.has_audio and abs(info.duration_s - duration_s) <= 0.3, name
    assert sorted(p.name for p in (out / "frames").iterdir()) == [f"frame_000{i}.png" for i in (1, 2, 3)]
    assert "fox" in (out / "fox.txt").read_text(encoding="utf-8").lower()
    assert "-->" in (out / "fox.srt").read_text(encoding="utf-8")
    assert (out / "fox.vtt").read_text(encoding="utf-8").startswith("WEBVTT")


def test_the_export_dialogs_browse_button_chooses_the_file(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                           modals: Modals) -> None:
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    import_by_button(qtbot, window, modals, narration_wav)
    chosen = tmp_path / "chosen" / "words.txt"
    chosen.parent.mkdir()

    def browse_then_export() -> None:
        press(qtbot, window, "Ctrl+E")
        dialog = wait_for_window(qtbot, ExportDialog, "Export")
        modals.expect_file(chosen)
        click(qtbot, button_for(dialog, "Choose where Transcript (TXT) goes"))
        assert dialog.txt_path.text() == str(chosen)

    export_through_dialog(qtbot, window, browse_then_export, txt=chosen)
    assert "fox" in chosen.read_text(encoding="utf-8").lower()


def test_save_new_and_open_with_the_keyboard_and_quit_asks_about_unsaved_work(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, modals: Modals, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(save_guard, "ask_save_changes", REAL_SAVE_QUESTION)
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    import_by_button(qtbot, window, modals, narration_wav)
    type_over(qtbot, window.prompt_panel.prompt_edit, "an owl over a frozen lake")
    project = tmp_path / "work" / "owl.h2s"
    project.parent.mkdir()

    modals.expect_file(tmp_path / "work" / "owl")
    press(qtbot, window, "Ctrl+S")
    qtbot.waitUntil(lambda: window.project_path == project, timeout=TIMEOUT_MS)
    assert load_project(project).prompt == "an owl over a frozen lake"

    press(qtbot, window, "Ctrl+N")  # saved: nothing to ask
    assert window.audio_path is None and window.prompt_panel.prompt_text() == ""

    modals.expect_file(project)
    press(qtbot, window, "Ctrl+O")
    qtbot.waitUntil(lambda: window.prompt_panel.prompt_text() == "an owl over a frozen lake", timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)

    type_over(qtbot, window.prompt_panel.prompt_edit, "an owl at night")
    modals.expect_question("Unsaved changes", QMessageBox.StandardButton.Cancel)
    press(qtbot, window, "Ctrl+Q")
    assert window.isVisible()
    modals.expect_question("Unsaved changes", QMessageBox.StandardButton.Discard)  # "Don't Save"
    choose(window, "File", "Quit")
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    assert modals.answered == ["Import a narration", "Save project", "Open project", "Unsaved changes",
                               "Unsaved changes"]
    assert load_project(project).prompt == "an owl over a frozen lake"  # "Don't Save" kept the file as saved


def test_questions_are_answered_in_their_boxes(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                              modals: Modals, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n" * 50)
    modals.expect_file(bad)
    modals.expect_question("Cannot open audio", QMessageBox.StandardButton.Ok)
    click(qtbot, window.audio_bar.import_button)
    modals.wait_answered(qtbot, TIMEOUT_MS)
    wait_idle(qtbot, window)

    import_by_button(qtbot, window, modals, narration_wav)
    built = window.prompt_panel.prompt_text()
    type_over(qtbot, window.prompt_panel.prompt_edit, "my own words")
    modals.expect_question("Replace your prompt?", QMessageBox.StandardButton.No)
    click(qtbot, window.prompt_panel.rebuild_button)
    wait_idle(qtbot, window)
    assert window.prompt_panel.prompt_text() == "my own words"
    modals.expect_question("Replace your prompt?", QMessageBox.StandardButton.Yes)
    click(qtbot, window.prompt_panel.rebuild_button)
    wait_idle(qtbot, window)
    assert window.prompt_panel.prompt_text() == built

    window.settings_panel.model_edit.setText("stable-diffusion-v1-5/stable-diffusion-v1-5")  # not installed
    modals.expect_question("Model needed", QMessageBox.StandardButton.Yes)
    click(qtbot, window.render_button)
    dialog = wait_for_window(qtbot, ModelsDialog, "Models")
    assert "render" not in window.workers
    click(qtbot, button_named(dialog, "Close"))
    assert not dialog.isVisible()
    choose(window, "File", "Models…")
    assert dialog.isVisible()
    click(qtbot, button_named(dialog, "Close"))


def test_presets_from_the_render_menu_and_the_preset_buttons(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path, None, warm_up_asr=False)
    panel = window.settings_panel
    choose(window, "Render", "Draft preset")
    assert (panel.steps.value(), panel.width_px.value(), panel.frames.value()) == (12, 384, 6)
    click(qtbot, panel.preset_buttons["Final"])
    assert (panel.steps.value(), panel.width_px.value(), panel.fps.value()) == (40, 512, 12)
    choose(window, "Render", "Balanced preset")
    assert (panel.steps.value(), panel.frames.value()) == (25, 16)
