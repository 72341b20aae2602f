"""The window autosaves the work and, after a session that did not close cleanly, offers it back.

An unclean exit is simulated inside the test process: the first window lets go of its autosave slot
without a clean close (`crash`), then a second window starts on the same data folder.
`tests/core/test_autosave.py` kills a real process with SIGKILL.
"""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from hear2see_desktop.core.audio import load_audio
from hear2see_desktop.core.project import load_project
from hear2see_desktop.ui.main_window import RECOVER_QUESTION, MainWindow
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, wait_idle

FOX = "A red fox runs through the snowy forest at dawn."
OWL = "an owl over a frozen lake"


def window_with_work(qtbot: QtBot, tmp_path: Path, narration_wav: Path, dialogs: Dialogs) -> MainWindow:
    """A window with a narration, a transcript, scenes and the user's own prompt, autosaved."""
    window = make_window(qtbot, tmp_path, dialogs)
    window.autosave_timer.setInterval(50)
    window.set_audio(narration_wav, load_audio(narration_wav))
    window.prompt_panel.set_transcript(FOX)
    window.rebuild_storyboard()
    wait_idle(qtbot, window)
    window.prompt_panel.prompt_edit.setPlainText(OWL)
    window.settings_panel.seed.setValue(1234)
    wait_autosaved(qtbot, window, OWL)
    return window


def autosave_file(window: MainWindow) -> Path:
    return window.autosave_session.autosave_file


def wait_autosaved(qtbot: QtBot, window: MainWindow, text: str) -> None:
    def done() -> bool:
        path = autosave_file(window)
        return (path.is_file() and text in path.read_text(encoding="utf-8")
                and window._autosave_worker is None and not window.autosave_timer.isActive())

    qtbot.waitUntil(done, timeout=TIMEOUT_MS)


def crash(window: MainWindow) -> None:
    """What a killed app leaves: its autosave, no clean-exit marker, and a slot nobody holds."""
    window.autosave_session.abandon()


def test_editing_a_prompt_autosaves_the_work(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    window = window_with_work(qtbot, tmp_path, narration_wav, Dialogs())

    project = load_project(autosave_file(window))
    assert project.prompt == OWL and project.prompt_edited
    assert project.settings.seed == 1234
    assert project.storyboard is not None and project.storyboard == window.storyboard
    assert window.project_path is None  # the autosave is not the user's project


def test_after_an_unclean_exit_the_next_start_recovers_the_work(qtbot: QtBot, tmp_path: Path,
                                                                narration_wav: Path) -> None:
    crashed = window_with_work(qtbot, tmp_path, narration_wav, Dialogs())
    scenes = crashed.storyboard
    crash(crashed)

    dialogs = Dialogs(answer=True)
    again = make_window(qtbot, tmp_path, dialogs)
    qtbot.waitUntil(lambda: again.prompt_panel.prompt_text() == OWL, timeout=TIMEOUT_MS)
    wait_idle(qtbot, again)

    assert dialogs.questions == [RECOVER_QUESTION] and not dialogs.errors
    assert again.prompt_panel.prompt_edited()
    assert again.prompt_panel.transcript_text() == FOX
    assert again.settings_panel.seed.value() == 1234
    assert again.storyboard == scenes
    assert again.audio is not None and abs(again.audio.duration_s - crashed.audio.duration_s) < 0.01
    assert again.project_path is None and "recovered" in again.windowTitle()


def test_declining_the_recovery_discards_the_autosave(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    crash(window_with_work(qtbot, tmp_path, narration_wav, Dialogs()))

    dialogs = Dialogs(answer=False)
    declined = make_window(qtbot, tmp_path, dialogs)
    qtbot.waitUntil(lambda: dialogs.questions == [RECOVER_QUESTION], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not autosave_file(declined).exists(), timeout=TIMEOUT_MS)
    assert declined.audio_path is None and declined.prompt_panel.prompt_text() == ""

    later = Dialogs()
    make_window(qtbot, tmp_path, later)
    qtbot.wait(200)
    assert later.questions == []


def test_a_clean_close_leaves_nothing_to_recover(qtbot: QtBot, tmp_path: Path, narration_wav: Path) -> None:
    window = window_with_work(qtbot, tmp_path, narration_wav, Dialogs())

    autosave = autosave_file(window)
    window.close()

    assert not autosave.exists()
    dialogs = Dialogs()
    again = make_window(qtbot, tmp_path, dialogs)
    qtbot.wait(200)
    assert dialogs.questions == [] and again.audio_path is None


def test_saving_removes_the_autosave_and_a_recovery_keeps_the_project_path(qtbot: QtBot, tmp_path: Path,
                                                                          narration_wav: Path) -> None:
    window = window_with_work(qtbot, tmp_path, narration_wav, Dialogs())
    project_path = tmp_path / "work" / "owl.h2s"
    project_path.parent.mkdir()
    window.save_project_to(project_path)
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: not autosave_file(window).exists() and window._autosave_worker is None,
                    timeout=TIMEOUT_MS)

    window.prompt_panel.prompt_edit.setPlainText("an owl at night")  # edited after saving, then a crash
    wait_autosaved(qtbot, window, "an owl at night")
    crash(window)
    again = make_window(qtbot, tmp_path, Dialogs(answer=True))
    qtbot.waitUntil(lambda: again.prompt_panel.prompt_text() == "an owl at night", timeout=TIMEOUT_MS)
    wait_idle(qtbot, again)

    assert again.project_path == project_path
    assert load_project(project_path).prompt == OWL  # the saved project itself was left as it was


def test_a_second_window_running_alongside_autosaves_in_its_own_slot(qtbot: QtBot, tmp_path: Path,
                                                                    narration_wav: Path) -> None:
    first = window_with_work(qtbot, tmp_path, narration_wav, Dialogs())

    dialogs = Dialogs()
    second = make_window(qtbot, tmp_path, dialogs)  # the first is running: its work is not offered
    second.autosave_timer.setInterval(50)
    second.set_audio(narration_wav, load_audio(narration_wav))
    second.prompt_panel.prompt_edit.setPlainText("a heron in the reeds")
    wait_autosaved(qtbot, second, "a heron in the reeds")

    assert dialogs.questions == []
    assert autosave_file(second) != autosave_file(first)
    assert load_project(autosave_file(first)).prompt == OWL  # untouched by the second window
    second.close()
    assert load_project(autosave_file(first)).prompt == OWL  # its clean close removed only its own
