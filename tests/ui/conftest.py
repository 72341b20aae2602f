"""UI-test fixtures: no real modal question may wait for a click that never comes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from hear2see_desktop.ui import save_guard
from hear2see_desktop.ui.main_window import render_queue_part
from tests.ui.driving import Modals, modal_fixture


@pytest.fixture(autouse=True)
def no_real_save_question(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window closed with unsaved work asks "Save changes?" in a modal box; offscreen nobody answers it.

    Tests that do not inject their own answer (`MainWindow(ask_to_save=...)`) get "Don't Save", which is
    what closing a window did before the question existed. pytest-qt closes the test's widgets before
    fixtures are torn down, so this holds for those closes too.
    """
    monkeypatch.setattr(save_guard, "ask_save_changes", lambda *_args: QMessageBox.StandardButton.Discard)


@pytest.fixture(autouse=True)
def no_real_queue_question(monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing a window with renders in its queue asks in a modal box too: tests that do not inject their own
    answer (`MainWindow(ask_queue_quit=...)`) get "Quit and keep the queue"."""
    monkeypatch.setattr(render_queue_part, "ask_quit_with_queue", lambda *_args: render_queue_part.KEEP)


@pytest.fixture(autouse=True, scope="session")
def qt_file_dialogs(qapp: QApplication) -> None:
    """Qt's own file dialog, never the desktop's: the tests type into it (on a desktop session too)."""
    qapp.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)


@pytest.fixture
def modals() -> Iterator[Modals]:
    """Answers the dialogs a test queues answers for; a question it did not expect fails it (see driving.py)."""
    yield from modal_fixture()
