"""A render's typed events reach the window's thread as signals, with pictures already QImages."""

from __future__ import annotations

import threading

import numpy as np
from pytestqt.qtbot import QtBot

from hear2see_desktop.core.render.events import DenoiseStep
from hear2see_desktop.ui.images import qimage_to_rgb
from hear2see_desktop.ui.render_signals import RenderSignals


def test_events_from_the_render_thread_arrive_as_signals_on_the_ui_thread(qtbot: QtBot) -> None:
    signals = RenderSignals()
    received: list[tuple] = []
    threads: set[int] = set()

    def keep(name: str):
        def slot(*args: object) -> None:
            threads.add(threading.get_ident())
            received.append((name, *args))
        return slot

    signals.plan_ready.connect(keep("plan"))
    signals.step_ready.connect(keep("step"))
    signals.frame_ready.connect(keep("frame"))
    events = signals.events()
    picture = np.zeros((8, 16, 3), np.uint8)
    picture[:, 8:] = (255, 0, 0)

    def render() -> None:
        events.plan([0.0, 1.5])
        events.step(DenoiseStep(0, 1, 2, picture))
        events.step(DenoiseStep(None, 1, 1, None))  # an in-between's step: no image, no preview
        events.image(1, 1.5, picture)

    worker = threading.Thread(target=render)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(received) == 4)
    assert threads == {threading.get_ident()}
    assert received[0] == ("plan", [0.0, 1.5])
    name, index, preview = received[1]
    assert (name, index) == ("step", 0) and np.array_equal(qimage_to_rgb(preview), picture)
    assert received[2] == ("step", None, None)
    name, index, time_s, image = received[3]
    assert (name, index, time_s) == ("frame", 1, 1.5) and np.array_equal(qimage_to_rgb(image), picture)


def test_previews_closer_than_the_interval_are_dropped_but_the_step_still_arrives(qtbot: QtBot) -> None:
    signals = RenderSignals(preview_interval_s=3600.0)
    steps: list[tuple] = []
    signals.step_ready.connect(lambda index, preview: steps.append((index, preview is not None)))
    events = signals.events()
    for step in (1, 2, 3):
        events.step(DenoiseStep(2, step, 3, np.zeros((8, 8, 3), np.uint8)))
    assert steps == [(2, True), (2, False), (2, False)]
