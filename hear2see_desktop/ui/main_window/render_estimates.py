"""The render's cost before the click: the settings panel's estimate, kept up to date off the UI thread, and
the first-run defaults chosen by the machine.

Working out the estimate reads the narration's sound (smooth's pacing) and asks torch where 'auto' runs, so it
runs in a worker a moment after the last change; the arithmetic itself is core/render_estimate.py. A render
takes the estimate of exactly its settings: the panel's when it is current (`matching`), else its own (`job_for`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QTimer

from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.render_estimate import RenderEstimate, estimate_render, format_duration
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost

ESTIMATE_DELAY_MS = 250
"""Wait this long after the last change before working out the estimate (spin boxes change in bursts)."""
PROBE_DELAY_MS = 1500
"""Ask torch for this machine's device this long after start-up (kept off the first paint, as the ASR warm-up)."""
NO_NARRATION = "Record or import a narration to see how long a render takes here."

Inputs = tuple[str, Callable[[], "Estimates"]]  # a key of what the estimate depends on, and the call that works it out
DeviceFn = Callable[[str], str]  # a settings' device ('auto', 'cpu', ...) -> where it runs here ('cpu', 'cuda', ...)


def machine_device(requested: str) -> str:
    """Where `requested` runs on this machine (imports torch: call it in a worker)."""
    from hear2see_desktop.core.render.devices import resolve_device

    return resolve_device(requested).device


@dataclass(frozen=True)
class Estimates:
    """A render's estimate and its draft alternative's, for one set of inputs."""

    key: str
    render: RenderEstimate
    draft: RenderEstimate


class RenderEstimates(Part):
    """Keeps the settings panel's estimate current and answers a starting render with its own."""

    def __init__(self, window: WindowHost, device_of: DeviceFn | None = None) -> None:
        super().__init__(window)
        self.device_of = device_of or machine_device
        self.latest: Estimates | None = None
        self.worker: JobWorker | None = None
        self.probe: JobWorker | None = None
        self._again = False
        self._first_run_shown: RenderSettings | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(ESTIMATE_DELAY_MS)
        self.timer.timeout.connect(self.update_now)

    # --- the panel's estimate -------------------------------------------------------------------
    def schedule(self, *_args: object) -> None:
        """Something the estimate depends on changed: work it out again shortly."""
        self.timer.start()

    def update_now(self) -> None:
        self.timer.stop()
        inputs = self._inputs(self.window.current_settings())
        if inputs is None:
            self.window.settings_panel.show_estimate(NO_NARRATION)
            return
        if self.latest is not None and self.latest.key == inputs[0]:
            self._show(self.latest)
            return
        self._start(inputs)

    def matching(self, settings: RenderSettings) -> Estimates | None:
        """The estimates of rendering `settings` when the latest ones are theirs (else None: `job_for`)."""
        inputs = self._inputs(settings)
        return self.latest if inputs is not None and self.latest is not None and self.latest.key == inputs[0] else None

    def job_for(self, settings: RenderSettings) -> CallJob | None:
        """A job that works out the estimates of rendering `settings` (None without a narration)."""
        inputs = self._inputs(settings)
        return None if inputs is None else CallJob(inputs[1], "Estimating the render time")

    def remember(self, estimates: Estimates) -> None:
        """Estimates a render worked out: the panel shows them when they are still its settings'."""
        self.latest = estimates
        current = self._inputs(self.window.current_settings())
        if current is not None and current[0] == estimates.key:
            self._show(estimates)

    def _inputs(self, settings: RenderSettings) -> Inputs | None:
        """A key of everything the estimate depends on, and the call that works it out."""
        work = self.window.work
        audio = work.audio
        if audio is None:
            return None
        board = self.window.storyboard_for_render(settings)
        draft = self.window.settings_panel.draft_of(settings)
        scenes = None if board is None else [[s.start_s, s.end_s, s.prompt, s.negative_prompt] for s in board.scenes]
        key = json.dumps([settings.to_dict(), draft.to_dict(), str(work.audio_path), audio.duration_s, scenes],
                         sort_keys=True, default=str)
        device_of = self.device_of

        def work_out() -> Estimates:
            return Estimates(key, estimate_render(settings, audio.duration_s, board, audio,
                                                  device=device_of(str(settings.device))),
                             estimate_render(draft, audio.duration_s, board, audio,
                                             device=device_of(str(draft.device))))

        return key, work_out

    def _start(self, inputs: Inputs) -> None:
        if self.worker is not None:  # one at a time: the newest inputs are worked out when it ends
            self._again = True
            return
        worker = JobWorker(CallJob(inputs[1], "Estimating the render time"), "estimate")
        worker.finished.connect(self._on_estimated)
        worker.failed.connect(self._on_failed)
        self.worker = worker
        worker.start()

    def _on_estimated(self, estimates: Estimates) -> None:
        self.worker = None
        self.remember(estimates)
        self._next()

    def _on_failed(self, message: str) -> None:
        self.worker = None
        self.window.settings_panel.show_estimate(f"No estimate: {message}")
        self._next()

    def _next(self) -> None:
        """The settings changed while the worker ran: work out the newest."""
        if self._again:
            self._again = False
            self.update_now()

    def _show(self, estimates: Estimates) -> None:
        estimate = estimates.render
        text = estimate.words() + "."
        if estimate.animate_on_cpu_too_big:
            text += " Animate above 256 px on a CPU is very slow: a GPU, or 256 px, is advised."
        elif estimate.long:
            text += f" Above 30 min: the draft would take about {format_duration(estimates.draft.seconds)}."
        self.window.settings_panel.show_estimate(text, estimate.long or estimate.animate_on_cpu_too_big)

    # --- first run --------------------------------------------------------------------------------
    def first_run(self) -> None:
        """No saved settings: show the CPU's defaults now (safe anywhere), and a GPU's once torch has found one."""
        from hear2see_desktop.core.first_run import first_run_settings

        panel = self.window.settings_panel
        panel.set_settings(first_run_settings("cpu"))
        self._first_run_shown = panel.settings()
        QTimer.singleShot(PROBE_DELAY_MS, self._probe_device)

    def _probe_device(self) -> None:
        if self.probe is not None:
            return
        device_of = self.device_of
        worker = JobWorker(CallJob(lambda: device_of("auto"), "Looking for a GPU"), "device-probe")
        worker.finished.connect(self._on_device)
        worker.failed.connect(self._on_device_unknown)
        self.probe = worker
        worker.start()

    def _on_device(self, device: str) -> None:
        from hear2see_desktop.core.first_run import first_run_settings

        self.probe = None
        shown, self._first_run_shown = self._first_run_shown, None
        # Only while the form still shows the first-run defaults: a choice the user made meanwhile stays.
        if device != "cpu" and shown is not None and self.window.settings_panel.settings() == shown:
            self.window.settings_panel.set_settings(first_run_settings(device))

    def _on_device_unknown(self, *_args: object) -> None:
        self.probe = None

    def stop(self) -> list[Any]:
        """The threads still running, for the window to wait on when it closes."""
        self.timer.stop()
        return [worker.thread for worker in (self.worker, self.probe) if worker is not None]


__all__ = ["Estimates", "RenderEstimates", "machine_device"]
