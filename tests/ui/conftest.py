"""UI-test fixtures: no real modal question may wait for a click that never comes."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from hear2see_desktop.ui import save_guard


@pytest.fixture(autouse=True)
def no_real_save_question(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window closed with unsaved work asks "Save changes?" in a modal box; offscreen nobody answers it.

    Tests that do not inject their own answer (`MainWindow(ask_to_save=...)`) get "Don't Save", which is
    what closing a window did before the question existed. pytest-qt closes the test's widgets before
    fixtures are torn down, so this holds for those closes too.
    """
    monkeypatch.setattr(save_guard, "ask_save_changes", lambda *_args: QMessageBox.StandardButton.Discard)
