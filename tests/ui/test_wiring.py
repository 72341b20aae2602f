"""Every menu item, shortcut and button reaches its slot without an error.

The Export… button, File > Export… and Ctrl+E once did nothing: `clicked(bool)` handed `checked=False` to
`export(self, choice=None)`, and tests that called `window.export(...)` directly never saw it. Here each
control is fired through its own signal (`QAction.trigger`, a mouse click), in a window holding a
narration and a transcript so that most controls are enabled, and no exception may reach
`sys.excepthook`. Dialogs that open are closed at once: only the slots are under test here; what the
controls do is tested where they are driven end to end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QDialog, QWidget
from pytestqt.qtbot import QtBot

from hear2see_desktop.core import paths
from hear2see_desktop.core.audio import Audio, load_audio
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.settings_store import Key
from tests.fake_output_stream import FakeFactory
from tests.ui.driving import ModalCloser, clean
from tests.ui.slot_audit import connections, fillable_slots
from tests.ui.window_setup import Dialogs, make_window, use_tiny_model, wait_idle

UI_PACKAGE = Path(__file__).resolve().parents[2] / "hear2see_desktop" / "ui"
LEAVES_THE_APP = {"Open folder"}  # hands a folder to the desktop's file manager
WORDS = [("A", 0.2, 0.3), ("red", 0.35, 0.6), ("fox", 0.65, 1.0), ("runs", 1.05, 1.4), ("through", 1.45, 1.7),
         ("the", 1.75, 1.85), ("snowy", 1.9, 2.3), ("forest.", 2.35, 2.9)]


def test_no_slot_has_a_parameter_a_signal_can_fill() -> None:
    assert len(connections(UI_PACKAGE)) > 100  # the scan sees the package's connections
    assert fillable_slots(UI_PACKAGE) == [], (
        "these slots take the signal's arguments (clicked's `checked`, an index, a text) as their options: "
        "connect through without_arguments(), or make the options keyword-only")


@pytest.fixture(scope="module")
def narration(narration_wav: Path) -> Audio:
    return load_audio(narration_wav)


@pytest.fixture
def closer() -> Iterator[ModalCloser]:
    closer = ModalCloser()
    yield closer
    closer.stop()


def ready_window(qtbot: QtBot, tmp_path: Path, narration_wav: Path, narration: Audio,
                 tiny_model: Path) -> MainWindow:
    """A window with a narration, its words and scenes, and the tiny model: most controls are enabled."""
    paths.render_queue_path().unlink(missing_ok=True)  # an empty queue, as the first window had: same buttons
    window = make_window(qtbot, tmp_path, Dialogs(answer=False), output_stream_factory=FakeFactory(speed=8.0),
                         warm_up_asr=False)
    window.store.set(Key.LAST_FOLDER, str(tmp_path))  # exports and file dialogs start here
    window.set_audio(narration_wav, narration)
    window.apply_transcript(Transcript(text=" ".join(w for w, _, _ in WORDS), engine="test", model="test",
                                       words=[Word(w, s, e, 1.0) for w, s, e in WORDS],
                                       duration_s=narration.duration_s))
    use_tiny_model(window, tiny_model, frames=2, steps=1)
    wait_idle(qtbot, window)
    return window


def fire(qtbot: QtBot, window: MainWindow, name: str, trigger: Callable[[], object], failures: list[str]) -> None:
    """Fire one control; an exception from any slot it reaches is added to `failures` with the control's name."""
    with qtbot.captureExceptions() as exceptions:
        trigger()
        qtbot.wait(20)
        window.cancel_current()  # a render or export it started stops at its next step
        wait_idle(qtbot, window)
    failures.extend(f"{name}: {error!r}" for _, error, _ in exceptions)


def labels(actions_or_buttons: list) -> list[str]:
    return [clean(a.text()) or a.toolTip() or a.shortcut().toString() for a in actions_or_buttons]


def test_every_menu_item_and_shortcut_reaches_its_slot(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                       narration: Audio, tiny_models: tuple[Path, Path, Path],
                                                       closer: ModalCloser) -> None:
    first = ready_window(qtbot, tmp_path, narration_wav, narration, tiny_models[0])
    names = labels(first.actions())
    first.close()
    assert {"Export…", "Models…", "Draft preset", "Train a style…"} <= set(names)

    fired, failures = [], []
    for index, name in enumerate(names):
        window = ready_window(qtbot, tmp_path, narration_wav, narration, tiny_models[0])  # a fresh one each
        action = window.actions()[index]
        if action.isEnabled():
            fire(qtbot, window, name, action.trigger, failures)
            fired.append(name)
        window.close()
    assert failures == [], "these menu items or shortcuts fail instead of doing their work"
    assert {"Export…", "Draft preset", "Ctrl+Enter", "Render", "Cancel"} <= set(fired)


def buttons_of(widget: QWidget) -> list[QAbstractButton]:
    return [b for b in widget.findChildren(QAbstractButton) if b.isVisible() and b.isEnabled()
            and clean(b.text()) not in LEAVES_THE_APP]


def test_every_button_of_the_window_reaches_its_slot(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                     narration: Audio, tiny_models: tuple[Path, Path, Path],
                                                     closer: ModalCloser) -> None:
    first = ready_window(qtbot, tmp_path, narration_wav, narration, tiny_models[0])
    count = len(buttons_of(first))
    names = labels(buttons_of(first))
    first.close()
    assert {"Export…", "Render", "Draft", "Rebuild from transcript", "Import…", "▶ Play"} <= set(names)

    failures: list[str] = []
    for index in range(count):
        window = ready_window(qtbot, tmp_path, narration_wav, narration, tiny_models[0])
        button = buttons_of(window)[index]
        fire(qtbot, window, names[index], lambda b=button: qtbot.mouseClick(b, Qt.MouseButton.LeftButton), failures)
        window.close()
    assert failures == [], "these buttons fail instead of doing their work"


@pytest.mark.parametrize("open_it", ["export", "open_models_dialog", "open_train_dialog", "open_render_on_dialog"])
def test_every_button_of_each_dialog_reaches_its_slot(qtbot: QtBot, tmp_path: Path, narration_wav: Path,
                                                      narration: Audio, tiny_models: tuple[Path, Path, Path],
                                                      open_it: str) -> None:
    def dialogs(window: MainWindow) -> list[QWidget]:
        return [d for d in window.findChildren(QDialog) if d.isVisible()]

    def opened(window: MainWindow) -> QDialog:
        getattr(window, open_it)()
        shown = dialogs(window)
        assert len(shown) == 1, shown
        return shown[0]

    closer = ModalCloser(keep=lambda: kept)  # file choosers and questions inside the dialog are closed
    kept: list[QWidget] = []
    failures: list[str] = []
    try:
        first = ready_window(qtbot, tmp_path, narration_wav, narration, tiny_models[0])
        names = labels(buttons_of(opened(first)))
        first.close()
        assert names
        for index, name in enumerate(names):
            window = ready_window(qtbot, tmp_path, narration_wav, narration, tiny_models[0])
            kept[:] = [opened(window)]
            button = buttons_of(kept[0])[index]
            fire(qtbot, window, f"{kept[0].windowTitle()} > {name}",
                 lambda b=button: qtbot.mouseClick(b, Qt.MouseButton.LeftButton), failures)
            window.close()
    finally:
        closer.stop()
    assert failures == [], "these buttons fail instead of doing their work"
