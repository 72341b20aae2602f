"""An exception inside a slot reaches the user as a dialog naming the log file, and the log as a traceback.

These tests switch pytest-qt's own exception capture off (`qt_no_exception_capture`): it would take the
exceptions before the app's hook ever saw them. Each installs the hook the app installs and undoes it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from hear2see_desktop.logging_setup import crash_log_path
from hear2see_desktop.ui import error_dialog
from hear2see_desktop.ui.error_dialog import DIALOG_OBJECT_NAME, install_error_dialog
from tests.ui.driving import Modals, click

pytestmark = pytest.mark.qt_no_exception_capture


class Broken(QWidget):
    """A window with a button whose slot has a bug, as the Export button had."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Broken")
        self.button = QPushButton("Export…")
        self.button.clicked.connect(self.export)
        QVBoxLayout(self).addWidget(self.button)

    def export(self, choice: object = None) -> None:
        print(choice.mp4)  # type: ignore[attr-defined]  # clicked(bool) fills `choice` with False


@pytest.fixture
def hook() -> Iterator[None]:
    """The app's GUI exception hook, for this test only."""
    uninstall = install_error_dialog()
    yield
    uninstall()
    for box in error_boxes():
        box.close()


def error_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == DIALOG_OBJECT_NAME and w.isVisible()]


def wait_for_error_box(qtbot: QtBot) -> QMessageBox:
    qtbot.waitUntil(lambda: bool(error_boxes()), timeout=5000)
    return error_boxes()[0]


def broken_window(qtbot: QtBot) -> Broken:
    window = Broken()
    qtbot.addWidget(window)
    window.show()
    return window


def reports() -> int:
    """How many tracebacks the crash log holds."""
    path = crash_log_path()
    return path.read_text(encoding="utf-8").count("Traceback (most recent call last)") if path.exists() else 0


def test_a_slot_that_raises_shows_a_dialog_naming_the_log_and_writes_the_traceback(
        qtbot: QtBot, hook: None, caplog: pytest.LogCaptureFixture) -> None:
    window = broken_window(qtbot)

    with caplog.at_level(logging.CRITICAL, logger="hear2see.crash"):
        click(qtbot, window.button)
        box = wait_for_error_box(qtbot)

    text = box.text()
    assert str(crash_log_path()) in text and "AttributeError" in text
    assert "Traceback" not in text and "line " not in text and "mp4" not in text and not box.detailedText()
    assert text.count(". ") == 0 and text.endswith(".")  # one sentence
    log = crash_log_path().read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "'bool' object has no attribute 'mp4'" in log
    assert any(record.exc_info and record.exc_info[0] is AttributeError for record in caplog.records)

    click(qtbot, box.button(QMessageBox.StandardButton.Ok))
    qtbot.waitUntil(lambda: not error_boxes(), timeout=5000)
    click(qtbot, window.button)  # the next error is shown again
    wait_for_error_box(qtbot)


def test_errors_while_the_box_is_open_are_logged_without_stacking_boxes(qtbot: QtBot, hook: None) -> None:
    window = broken_window(qtbot)
    click(qtbot, window.button)
    first = wait_for_error_box(qtbot)

    window.button.click()  # as a second click would, were the box not modal
    window.button.click()
    qtbot.waitUntil(lambda: reports() == 3, timeout=5000)
    qtbot.wait(100)  # the queued reports have been handled

    assert error_boxes() == [first]  # the first box, still open, and no other


def test_the_box_comes_on_top_of_a_modal_dialog_and_can_be_answered(qtbot: QtBot, hook: None) -> None:
    window = broken_window(qtbot)
    question = QDialog(window)
    question.setWindowTitle("A question")
    inner = QPushButton("Go", question)
    inner.clicked.connect(window.export)
    seen: list[str] = []
    modals = Modals()  # answers from a timer: `exec` below returns only when the dialog is closed

    def press_go(dialog: QWidget) -> None:
        QTimer.singleShot(0, inner.click)
        QTimer.singleShot(0, lambda: modals.expect(QMessageBox, answer_error, "Something went wrong"))

    def answer_error(box: QWidget) -> None:
        seen.append(f"{box.parent() is question} {QApplication.activeModalWidget() is box}")
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Ok).click()
        QTimer.singleShot(0, question.reject)

    modals.expect(QDialog, press_go, "A question")
    QTimer.singleShot(10_000, question.reject)  # no error box: fail below rather than wait forever
    try:
        question.exec()  # blocks until the error box was answered and the question closed
    finally:
        modals.stop()

    assert seen == ["True True"]  # parented to the open dialog, and the modal one on top: it can be clicked
    assert reports() == 1 and not modals.unexpected


class ThreadWorker(QObject):
    """An object living on a worker QThread, whose slot raises there."""

    go = Signal()

    def run(self) -> None:
        raise RuntimeError("failed on a worker thread")


def test_an_error_on_a_worker_thread_is_shown_by_the_gui_thread(qtbot: QtBot, hook: None) -> None:
    thread = QThread()
    worker = ThreadWorker()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    thread.start()
    try:
        box = wait_for_error_box(qtbot)
    finally:
        thread.quit()
        thread.wait(5000)

    assert box.thread() is QApplication.instance().thread()
    assert "RuntimeError" in box.text() and "failed on a worker thread" in crash_log_path().read_text(encoding="utf-8")


def test_an_error_while_showing_the_box_is_logged_once_and_does_not_loop(
        qtbot: QtBot, hook: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken_sentence(*_args: object) -> str:
        raise ValueError("the dialog itself failed")

    monkeypatch.setattr(error_dialog, "error_sentence", broken_sentence)
    window = broken_window(qtbot)
    with caplog.at_level(logging.ERROR, logger="hear2see_desktop.ui.error_dialog"):
        click(qtbot, window.button)
        qtbot.waitUntil(lambda: any("could not show" in r.getMessage() for r in caplog.records), timeout=5000)
        qtbot.wait(300)  # were the failure fed back into the hook, more reports would pile up by now

    assert reports() == 1 and not error_boxes()


PROBE = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
app = QApplication([])
seen = {}
def fail():
    raise LookupError("a bug in a slot")
looks = []
def look():  # until the box shows (the window's start-up may still hold the loop when the slot fails) or 20 s
    boxes = [w for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    looks.append(1)
    if not boxes and len(looks) < 200:
        QTimer.singleShot(100, look)
        return
    QTimer.singleShot(300, finish)  # a second box would show in this time
def finish():
    boxes = [w for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
    seen["boxes"] = [box.text() for box in boxes]
    for box in boxes:
        box.accept()
    app.quit()
QTimer.singleShot(300, fail)
QTimer.singleShot(700, look)
from hear2see_desktop.app import run_app
code = run_app()
print(json.dumps({"code": code, **seen}))
"""


def test_the_app_installs_the_hook(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HEAR2SEE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    crash_log = tmp_path / "logs" / "crash.log"
    assert len(result["boxes"]) == 1 and str(crash_log) in result["boxes"][0] and "LookupError" in result["boxes"][0]
    assert "a bug in a slot" in crash_log.read_text(encoding="utf-8")
    assert "LookupError: a bug in a slot" in done.stderr  # still on the terminal, for whoever runs it there
