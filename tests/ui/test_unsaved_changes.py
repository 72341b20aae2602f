"""Closing the window, New or Open with work not saved to a project asks "Save changes to <name>?".

The question is injected (`MainWindow(ask_to_save=...)`), so no modal box waits for a click; the Save
As and Open dialogs are replaced by monkeypatching QFileDialog.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.autosave import start_session
from hear2see_desktop.core.project import load_project
from hear2see_desktop.ui.main_window import MainWindow
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, wait_idle

Button = QMessageBox.StandardButton
OWL = "an owl over a frozen lake"


class SaveQuestion:
    """Stands in for the "Save changes?" box: records what it was asked about, answers as told."""

    def __init__(self, answer: QMessageBox.StandardButton) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, _parent: QWidget, name: str) -> QMessageBox.StandardButton:
        self.asked.append(name)
        return self.answer


def window_with_edits(qtbot: QtBot, tmp_path: Path, narration_wav: Path, question: SaveQuestion,
                      dialogs: Dialogs | None = None) -> MainWindow:
    """A narration and a prompt the user typed, autosaved, never saved to a project file."""
    window = make_window(qtbot, tmp_path, dialogs or Dialogs(), ask_to_save=question, warm_up_asr=False)
    window.autosave_timer.setInterval(50)
    window.set_audio(narration_wav, load_audio(narration_wav))
    window.prompt_panel.prompt_edit.setPlainText(OWL)
    qtbot.waitUntil(lambda: window.autosave_session.autosave_file.is_file() and window._autosave_worker is None
                    and not window.autosave_timer.isActive(), timeout=TIMEOUT_MS)
    return window


def save_to(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    window.save_project_to(path)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: window._autosave_worker is None, timeout=TIMEOUT_MS)


def test_nothing_is_asked_without_a_narration_or_after_saving(qtbot: QtBot, tmp_path: Path,
                                                              narration_wav: Path) -> None:
    question = SaveQuestion(Button.Cancel)
    empty = make_window(qtbot, tmp_path, Dialogs(), ask_to_save=question, warm_up_asr=False)
    empty.settings_panel.steps.setValue(33)  # a change, but there is no work to lose
    assert empty.close()

    window = window_with_edits(qtbot, tmp_path, narration_wav, question)
    save_to(qtbot, window, tmp_path / "work" / "owl.h2s")
    assert window.close()  # everything is in owl.h2s

    assert question.asked == []


def test_cancel_keeps_the_window_open_with_the_work_intact(qtbot: QtBot, tmp_path: Path,
                                                          narration_wav: Path) -> None:
    question = SaveQuestion(Button.Cancel)
    window = window_with_edits(qtbot, tmp_path, narration_wav, question)

    assert not window.close()

    assert question.asked == ["the untitled project"]
    assert window.isVisible() and window.audio_path == narration_wav
    assert window.prompt_panel.prompt_text() == OWL
    assert window.autosave_session.active and window.autosave_session.autosave_file.is_file()  # still protected


def test_dont_save_closes_and_drops_the_autosave_like_any_clean_close(qtbot: QtBot, tmp_path: Path,
                                                                     narration_wav: Path) -> None:
    question = SaveQuestion(Button.Discard)
    window = window_with_edits(qtbot, tmp_path, narration_wav, question)
    autosave = window.autosave_session.autosave_file

    assert window.close()

    assert question.asked == ["the untitled project"] and not window.isVisible()
    assert not autosave.exists() and start_session().recovery is None  # the user chose to drop the work


def test_save_writes_the_project_then_closes(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    question = SaveQuestion(Button.Save)
    window = window_with_edits(qtbot, tmp_path, narration_wav, question)
    project_path = tmp_path / "work" / "owl.h2s"
    save_to(qtbot, window, project_path)
    window.prompt_panel.prompt_edit.setPlainText("an owl at night")  # changed after saving

    assert not window.close()  # not yet: the save runs in a worker
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)

    assert question.asked == ["owl.h2s"]
    assert load_project(project_path).prompt == "an owl at night"
    assert not window.autosave_session.active  # closed cleanly after the save


def test_save_without_a_project_file_asks_where_and_cancelling_that_keeps_the_window(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    question = SaveQuestion(Button.Save)
    window = window_with_edits(qtbot, tmp_path, narration_wav, question)
    chosen = {"path": ""}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_args: (chosen["path"], ""))

    assert not window.close()  # Save As was cancelled: so is the close
    wait_idle(qtbot, window)
    qtbot.wait(100)
    assert window.isVisible() and window.prompt_panel.prompt_text() == OWL

    chosen["path"] = str(tmp_path / "owl")
    assert not window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    assert question.asked == ["the untitled project"] * 2
    assert load_project(tmp_path / "owl.h2s").prompt == OWL


def test_a_save_that_fails_keeps_the_window_open(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    dialogs = Dialogs()
    window = window_with_edits(qtbot, tmp_path, narration_wav, SaveQuestion(Button.Save), dialogs)
    (tmp_path / "a-file").write_text("not a folder")
    window.project_path = tmp_path / "a-file" / "owl.h2s"  # its folder cannot be made

    assert not window.close()
    wait_idle(qtbot, window)
    qtbot.wait(100)

    assert [title for title, _ in dialogs.errors] == ["Cannot save"]
    assert window.isVisible() and window.prompt_panel.prompt_text() == OWL


def test_new_project_asks_and_cancel_keeps_the_work(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    question = SaveQuestion(Button.Cancel)
    window = window_with_edits(qtbot, tmp_path, narration_wav, question)

    window.new_project()
    assert window.audio_path == narration_wav and window.prompt_panel.prompt_text() == OWL

    question.answer = Button.Discard
    window.new_project()
    qtbot.waitUntil(lambda: window._autosave_worker is None, timeout=TIMEOUT_MS)

    assert question.asked == ["the untitled project"] * 2
    assert window.audio_path is None and window.prompt_panel.prompt_text() == ""
    assert not window.autosave_session.autosave_file.exists()  # dropped: a crash now offers nothing
    assert window.close() and len(question.asked) == 2  # nothing left to ask about


def test_opening_a_project_asks_first(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    question = SaveQuestion(Button.Cancel)
    window = window_with_edits(qtbot, tmp_path, narration_wav, question)
    project_path = tmp_path / "work" / "owl.h2s"
    save_to(qtbot, window, project_path)
    window.prompt_panel.prompt_edit.setPlainText("an owl at night")
    shown = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_args: (shown.append(True), (str(project_path), ""))[1])

    window.open_project_dialog()  # Cancel: the Open dialog is not even shown
    window.recent_menu.actions()[0].trigger()  # Cancel again
    assert shown == [] and not window.workers and window.prompt_panel.prompt_text() == "an owl at night"

    question.answer = Button.Discard
    window.recent_menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: window.prompt_panel.prompt_text() == OWL, timeout=TIMEOUT_MS)
    wait_idle(qtbot, window)

    assert question.asked == ["owl.h2s"] * 3
    assert not window.save_guard.needs_asking()  # just as it is in the file
    assert window.close() and len(question.asked) == 3
