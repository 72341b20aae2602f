"""File > History…: two renders appear with their pictures, a search finds one, a replay makes the same video,
a delete asks first and then the entry and its files are gone, and a run's settings go back into the form."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.ui.history_view import ALL_PROJECTS, THIS_PROJECT, HistoryDialog
from hear2see_desktop.ui.main_window import MainWindow
from tests.ui.driving import click, export_through_dialog, type_text
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, use_tiny_model, wait_idle

WORDS = [Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
         Word("runs.", 0.70, 1.00, 1.0)]
FOX = Transcript(text="A red fox runs.", words=WORDS, engine="given", model="test")


def render_with_prompt(qtbot: QtBot, window: MainWindow, prompt: str) -> None:
    window.prompt_panel.prompt_edit.setPlainText(prompt)
    done: list[object] = []
    window.render_finished.connect(done.append)
    click(qtbot, window.render_button)
    qtbot.waitUntil(lambda: bool(done), timeout=TIMEOUT_MS)
    window.render_finished.disconnect(done.append)
    wait_idle(qtbot, window)  # the render is measured after it, and its metrics logged


def open_history(qtbot: QtBot, window: MainWindow, entries: int) -> HistoryDialog:
    window.menu_bar.history_action.trigger()
    dialog = window.history.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.isVisible() and len(dialog.history.entries) == entries, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)  # the thumbnails
    return dialog


def test_history_lists_searches_replays_and_deletes(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                    tiny_models: tuple[Path, Path, Path]) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    window.set_audio(narration_wav, load_audio(narration_wav), FOX)
    use_tiny_model(window, tiny_models[0], frames=2, steps=2)
    render_with_prompt(qtbot, window, "a red fox in deep snow")
    render_with_prompt(qtbot, window, "an owl at night")
    assert not dialogs.errors

    dialog = open_history(qtbot, window, entries=2)
    assert dialog.scope.currentText() == THIS_PROJECT
    assert [e.prompt for e in dialog.visible_entries()] == ["an owl at night", "a red fox in deep snow"]
    assert dialog.tree.topLevelItemCount() == 2
    assert dialog.thumbnail_ids() == {e.run_id for e in dialog.visible_entries()}
    assert all(not dialog.tree.topLevelItem(i).icon(0).isNull() for i in range(2))
    assert all("flicker" in e.metrics for e in dialog.visible_entries())  # measured by the window, logged
    assert "Flicker" in dialog.details.text()

    type_text(qtbot, dialog.search, "FOX")
    assert dialog.tree.topLevelItemCount() == 1
    fox = dialog.selected_entry()
    assert fox is not None and fox.prompt == "a red fox in deep snow"

    # Replay exactly: the same video, byte for byte, as a new run that says what it replays.
    with qtbot.waitSignal(window.history.replayed, timeout=TIMEOUT_MS, raising=False) as replayed:
        click(qtbot, dialog.replay_button)
    assert replayed.signal_triggered, f"no replay: {dialogs.errors}"
    result = replayed.args[0]
    assert sha256_file(result.out_path) == fox.record["output"]["sha256"] == sha256_file(fox.video_path)
    assert result.record.replay_of == fox.run_id
    qtbot.waitUntil(lambda: len(dialog.history.entries) == 3, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert dialog.tree.topLevelItemCount() == 2  # the replay's prompt holds "fox" too

    # Delete asks first: "No" keeps everything.
    dialog.select(fox.run_id)
    dialogs.answer = False
    click(qtbot, dialog.delete_button)
    assert dialogs.questions == ["Delete render?"]
    assert "history-delete" not in window.workers and fox.video_path.is_file()
    # "Yes": the entry and its files are gone.
    dialogs.answer = True
    click(qtbot, dialog.delete_button)
    qtbot.waitUntil(lambda: dialog.history.find(fox.run_id) is None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert not fox.video_path.exists() and not fox.video_path.parent.exists()  # video, frames, its folder
    assert [e.run_id for e in dialog.visible_entries()] == [result.run_id]
    assert not dialogs.errors


def test_rate_and_rerender_with_changes_load_into_the_form(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                           tiny_models: tuple[Path, Path, Path]) -> None:
    dialogs = Dialogs()
    window = make_window(qtbot, tmp_path, dialogs)
    window.set_audio(narration_wav, load_audio(narration_wav), FOX)
    use_tiny_model(window, tiny_models[0], frames=2, steps=2)
    window.settings_panel.steps.setValue(3)
    render_with_prompt(qtbot, window, "a red fox in deep snow")
    dialog = open_history(qtbot, window, entries=1)

    click(qtbot, dialog.stars[2])
    qtbot.waitUntil(lambda: dialog.visible_entries()[0].rating == 3, timeout=TIMEOUT_MS)
    assert dialog.tree.topLevelItem(0).text(5) == "★★★"

    # Export again: the window's Export dialog, on this run's video.
    rendered = dialog.visible_entries()[0]
    again = tmp_path / "again.mp4"
    export_through_dialog(qtbot, window, lambda: click(qtbot, dialog.export_button), mp4=again)
    assert sha256_file(again) == rendered.record["output"]["sha256"]

    window.new_project()  # another narration-less window: "this project" shows nothing, all projects the render
    dialog.scope.setCurrentText(ALL_PROJECTS)
    assert len(dialog.visible_entries()) == 1
    dialog.select(dialog.visible_entries()[0].run_id)
    click(qtbot, dialog.rerender_button)
    qtbot.waitUntil(lambda: window.work.audio_path is not None, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)
    assert window.prompt_panel.prompt_text() == "a red fox in deep snow"
    assert window.settings_panel.steps.value() == 3 and window.prompt_panel.transcript_text() == "A red fox runs."
    assert "render" not in window.workers  # loaded, not started
    assert not dialogs.errors
