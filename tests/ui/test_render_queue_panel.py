"""The render queue in the window, on the tiny SD pipeline: queued renders run one at a time, in order, in the
background (the window stays usable and its thread runs no model); reorder, cancel one, and a queue that is
still there, waiting for Resume, after closing (which asks first) and opening the app again."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.audio import Audio, load_audio
from hear2see_desktop.core.render_queue import ItemStatus, QueueItem
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video
from hear2see_desktop.ui.main_window import MainWindow
from hear2see_desktop.ui.main_window.render_queue_part import CANCEL, KEEP
from hear2see_desktop.ui.queue_panel import PAUSE, RESUME
from tests.ui.driving import choose, click, press
from tests.ui.ui_thread_watch import UIThreadWatch
from tests.ui.window_setup import TIMEOUT_MS, Dialogs, make_window, use_tiny_model

WORDS = [("A", 0.2, 0.3), ("red", 0.35, 0.6), ("fox", 0.65, 1.0), ("runs", 1.05, 1.4), ("through", 1.45, 1.7),
         ("the", 1.75, 1.85), ("snowy", 1.9, 2.3), ("forest.", 2.35, 2.9)]


@pytest.fixture(scope="module")
def narration(narration_wav: Path) -> Audio:
    return load_audio(narration_wav)


def ready(qtbot: QtBot, tmp_path: Path, narration_wav: Path, narration: Audio, model: Path,
          dialogs: Dialogs, **kwargs: object) -> MainWindow:
    """A window holding the narration and its words (no speech model needed) and the tiny model."""
    window = make_window(qtbot, tmp_path, dialogs, warm_up_asr=False, **kwargs)
    window.set_audio(narration_wav, narration)
    window.apply_transcript(Transcript(text=" ".join(w for w, _, _ in WORDS), engine="test", model="test",
                                       words=[Word(w, s, e, 1.0) for w, s, e in WORDS],
                                       duration_s=narration.duration_s))
    use_tiny_model(window, model, frames=2, steps=2)
    qtbot.waitUntil(lambda: not window.workers, timeout=TIMEOUT_MS)
    return window


class Ended:
    """The queue's `item_finished`, recorded (a list's append is safe from the worker's thread)."""

    def __init__(self, window: MainWindow) -> None:
        self.items: list[QueueItem] = []
        window.render_queue.signals.item_finished.connect(self.record)

    def record(self, item: QueueItem, _result: object) -> None:
        self.items.append(item)


def statuses(window: MainWindow) -> list[tuple[int, ItemStatus]]:
    """(images asked for, status) of each item, in queue order: the tests tell items apart by their frames."""
    return [(item.request.settings.frames, item.status) for item in window.render_queue.queue.items()]


def test_queued_renders_run_in_order_in_the_background_and_render_joins_the_queue(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, narration: Audio,
        tiny_models: tuple[Path, Path, Path]) -> None:
    dialogs = Dialogs()
    window = ready(qtbot, tmp_path, narration_wav, narration, tiny_models[0], dialogs)
    ended = Ended(window)
    assert not window.render_queue.dock.isVisible()  # nothing queued: the panel is out of the way
    watch = UIThreadWatch().__enter__()
    click(qtbot, window.queue_button)
    window.settings_panel.frames.setValue(3)  # other settings for the second
    press(qtbot, window, "Ctrl+Shift+Return")
    assert window.render_queue.is_running() and window.render_queue.dock.isVisible()
    window.settings_panel.frames.setValue(1)
    click(qtbot, window.render_button)  # the queue is running: Render queues rather than render beside it
    assert "render" not in window.workers and "Queued fox.wav" in window.statusBar().currentMessage()
    window.prompt_panel.prompt_edit.setPlainText("a fox in the snow, while the queue renders")  # still usable
    qtbot.waitUntil(lambda: len(ended.items) == 3, timeout=TIMEOUT_MS)
    watch.__exit__()

    assert not watch.calls, f"the UI thread ran model code: {sorted(set(watch.calls))[:10]}"
    assert not dialogs.errors
    assert [item.request.settings.frames for item in ended.items] == [2, 3, 1]  # queue order
    assert statuses(window) == [(2, ItemStatus.DONE), (3, ItemStatus.DONE), (1, ItemStatus.DONE)]
    items = window.render_queue.queue.items()
    for item in items:
        assert item.run_id and probe_video(item.request.out_path).has_audio
    assert len({item.request.out_path for item in items}) == 3
    panel = window.render_queue.panel
    assert panel.list.count() == 3 and f"done · run {items[0].run_id}" in panel.list.item(0).text()
    assert "fox.wav · classic 64×64" in panel.list.item(0).text()
    panel.select(items[0].id)
    assert panel.open_button.isEnabled() and panel.folder_button.isEnabled()
    qtbot.waitUntil(lambda: window.render_queue.worker is None, timeout=TIMEOUT_MS)
    click(qtbot, panel.remove_button)
    assert panel.list.count() == 0 and not window.render_queue.queue.items()


def test_moving_a_waiting_render_up_changes_the_order_they_run_in(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, narration: Audio,
        tiny_models: tuple[Path, Path, Path]) -> None:
    window = ready(qtbot, tmp_path, narration_wav, narration, tiny_models[0], Dialogs())
    ended = Ended(window)
    panel = window.render_queue.panel
    choose(window, "Render", "Show the render queue")
    click(qtbot, panel.pause_button)  # build the queue first
    assert panel.pause_button.text() == RESUME
    for frames in (1, 2, 3):
        window.settings_panel.frames.setValue(frames)
        click(qtbot, window.queue_button)
    assert "paused" in window.statusBar().currentMessage()
    last = window.render_queue.queue.items()[2]
    panel.select(last.id)
    click(qtbot, panel.up_button)
    click(qtbot, panel.up_button)
    assert not panel.up_button.isEnabled()  # it is first now
    assert [frames for frames, _ in statuses(window)] == [3, 1, 2]
    assert window.render_queue.worker is None and not ended.items  # paused: nothing ran

    click(qtbot, panel.pause_button)
    assert panel.pause_button.text() == PAUSE
    qtbot.waitUntil(lambda: len(ended.items) == 3, timeout=TIMEOUT_MS)
    assert [item.request.settings.frames for item in ended.items] == [3, 1, 2]
    assert all(item.status == ItemStatus.DONE for item in ended.items)


def slow(window: MainWindow) -> None:
    """Settings whose render lasts long enough to be stopped halfway."""
    window.settings_panel.frames.setValue(12)
    window.settings_panel.steps.setValue(8)
    window.settings_panel.width_px.setValue(128)
    window.settings_panel.height_px.setValue(128)


def running(window: MainWindow) -> QueueItem | None:
    return window.render_queue.queue.running()


def test_cancelling_the_running_render_leaves_the_next_to_finish(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, narration: Audio,
        tiny_models: tuple[Path, Path, Path]) -> None:
    window = ready(qtbot, tmp_path, narration_wav, narration, tiny_models[0], Dialogs())
    ended = Ended(window)
    panel = window.render_queue.panel
    choose(window, "Render", "Show the render queue")
    click(qtbot, panel.pause_button)
    slow(window)
    click(qtbot, window.queue_button)
    use_tiny_model(window, tiny_models[0], frames=2, steps=2)
    click(qtbot, window.queue_button)
    first, second = window.render_queue.queue.items()
    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: "rendering" in panel.list.item(0).text(), timeout=TIMEOUT_MS)
    panel.select(first.id)
    click(qtbot, panel.cancel_button)
    qtbot.waitUntil(lambda: len(ended.items) == 2, timeout=TIMEOUT_MS)

    assert [(item.id, item.status) for item in ended.items] == [(first.id, ItemStatus.CANCELLED),
                                                                (second.id, ItemStatus.DONE)]
    assert not first.request.out_path.exists() and second.request.out_path.is_file()
    assert "cancelled" in panel.list.item(0).text()
    panel.select(first.id)
    click(qtbot, panel.retry_button)  # back in line: it runs again, to the end this time
    qtbot.waitUntil(lambda: len(ended.items) == 3, timeout=TIMEOUT_MS)
    assert ended.items[2].id == first.id and ended.items[2].status == ItemStatus.DONE


def test_closing_asks_first_and_the_queue_waits_for_resume_after_a_restart(
        qtbot: QtBot, tmp_path: Path, narration_wav: Path, narration: Audio,
        tiny_models: tuple[Path, Path, Path]) -> None:
    questions: list[str] = []
    answers = [CANCEL, KEEP]

    def ask(_parent: object, question: str) -> str:
        questions.append(question)
        return answers.pop(0) if answers else KEEP

    window = ready(qtbot, tmp_path, narration_wav, narration, tiny_models[0], Dialogs(), ask_queue_quit=ask)
    panel = window.render_queue.panel
    choose(window, "Render", "Show the render queue")
    click(qtbot, panel.pause_button)
    slow(window)
    click(qtbot, window.queue_button)
    use_tiny_model(window, tiny_models[0], frames=2, steps=2)
    click(qtbot, window.queue_button)
    first, second = window.render_queue.queue.items()
    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: "rendering" in panel.list.item(0).text(), timeout=TIMEOUT_MS)

    window.close()  # Cancel: the window stays, the render goes on
    assert window.isVisible() and running(window) is not None and running(window).id == first.id
    assert "fox.wav is rendering now" in questions[0] and "1 render is waiting" in questions[0]
    window.close()  # Quit and keep the queue
    assert not window.isVisible() and len(questions) == 2
    assert not first.request.out_path.exists()  # stopped halfway: no video, nothing half-written under its name

    again = make_window(qtbot, tmp_path, Dialogs(), ask_queue_quit=ask)
    part, panel = again.render_queue, again.render_queue.panel
    assert [(item.id, item.status) for item in part.queue.items()] == [(first.id, ItemStatus.WAITING),
                                                                      (second.id, ItemStatus.WAITING)]
    assert part.dock.isVisible() and panel.list.count() == 2 and panel.pause_button.text() == RESUME
    assert panel.summary.text() == f"Paused: 2 waiting. {RESUME} runs them."
    with qtbot.assertNotEmitted(part.signals.progress, wait=1500):  # nothing heavy starts by itself
        pass
    assert part.worker is None
    ended = Ended(again)
    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: len(ended.items) == 2, timeout=TIMEOUT_MS)
    assert [(item.id, item.status) for item in ended.items] == [(first.id, ItemStatus.DONE),
                                                                (second.id, ItemStatus.DONE)]
    assert first.request.out_path.is_file() and second.request.out_path.is_file()
    qtbot.waitUntil(lambda: part.worker is None, timeout=TIMEOUT_MS)
    again.close()  # nothing waiting: no question
    assert len(questions) == 2
