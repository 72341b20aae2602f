"""Handing one render's units to idle cluster workers, re-running the units of workers that die.

A background thread takes each unit whose inputs exist (a smooth segment waits for its two keyframes) to an
idle live worker of the session, and delivers what comes back to the render's `ClusterCache`. A worker whose
process dies (`RayActorError`) is retired and its unit goes to another; a unit that fails for another reason,
or finds no live worker, is given up, and the client renders it itself. Every unit's worker is kept for the
run record. `close` cancels what still runs on every worker and waits for them to stop.

While the render is read (not while it is prepared ahead), the loop asks each busy worker about every
`STEP_POLL_S` for its newest denoising step, without waiting for the answer, and keeps the newest steps for the
client to show as live previews (`take_steps`): a worker's keyframe forms in the preview and the timeline as a
local one does.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from hear2see_desktop.core.cluster.cluster_cache import ClusterCache
from hear2see_desktop.core.cluster.session import ClusterSession, WorkerHandle
from hear2see_desktop.core.cluster.units import RenderSpec, Unit, UnitStep
from hear2see_desktop.core.run_record import ClusterUnit

log = logging.getLogger(__name__)

CLIENT = "client"
"""The worker name of a unit the client rendered itself."""
WAIT_S = 0.05
MAX_AHEAD = 128
"""Most pictures that may wait in the client's memory for the render to read them: workers run at most this far
ahead of the video (a unit run again after a worker died is never held back)."""
STEP_POLL_S = 0.25
"""How often a busy worker is asked for its newest denoising step."""
STEPS_KEPT = 16
"""Most steps kept for the client between two of its looks (older ones are dropped: a preview is only news)."""
STOP_TIMEOUT_S = 60.0
"""How long `close` waits for cancelled units to end (one denoising step each)."""


class Scheduler:
    """Runs one render's units on the session's workers (see the module docstring)."""

    def __init__(self, session: ClusterSession, spec: RenderSpec, units: list[Unit], cache: ClusterCache,
                 ahead: bool = False) -> None:
        self.session = session
        self.spec = spec
        self.cache = cache
        self.ahead = ahead  # prepared before its turn: a worker goes to the render being read first
        self.done: list[ClusterUnit] = []
        self.unet_samples = 0
        self.unet_calls = 0
        self._waiting = list(units)
        self._total = len(units)
        self._running: dict[Any, tuple[Unit, WorkerHandle]] = {}
        self._sent: dict[Any, tuple[float, int]] = {}  # when each running unit was sent, and its inputs' bytes
        self._attempts: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cluster-scheduler", daemon=True)
        self._spec_ref: Any = None
        self._polls: dict[Any, str] = {}  # step polls on their way back: ref -> worker name
        self._heard: dict[str, int] = {}  # the newest step number had from each worker
        self._polled = 0.0
        self._steps: deque[UnitStep] = deque(maxlen=STEPS_KEPT)
        self._steps_lock = threading.Lock()
        cache.expect(units)

    def counts(self) -> tuple[int, int]:
        """(units whose results are back or given up, all units of the render)."""
        return len(self.done), self._total

    def take_steps(self) -> list[UnitStep]:
        """The denoising steps heard from the workers since the last call, oldest first."""
        with self._steps_lock:
            steps = list(self._steps)
            self._steps.clear()
        return steps

    def start(self) -> None:
        import ray

        self._spec_ref = ray.put(self.spec)
        self._thread.start()

    def close(self) -> None:
        """Stop handing out units; cancel the ones still running on every worker and wait until they end."""
        self._stop.set()
        self.session.want(self, 0)
        running = bool(self._running)
        if running:  # at once, not after the loop's last wait: every step a worker goes on is wasted
            self._cancel_on_workers()
        self._thread.join()
        try:
            if self._running:
                self._stop_running(cancelled=running)
        finally:
            self._forget_steps()

    def _stop_running(self, cancelled: bool) -> None:
        import ray

        if not cancelled:  # the loop sent a unit while it stopped
            self._cancel_on_workers()
        ray.wait(list(self._running), num_returns=len(self._running), timeout=STOP_TIMEOUT_S)
        for unit, worker in self._running.values():
            self.session.release(worker)
            self.cache.give_up(unit)
        self._running.clear()

    def _forget_steps(self) -> None:
        """The workers drop this render's last step (its preview would stay in their memory)."""
        self._tell_workers("forget_steps")

    def _cancel_on_workers(self) -> None:
        """Each worker stops this render's unit within one step and refuses its later units."""
        self._tell_workers("cancel")

    def _tell_workers(self, method: str) -> None:
        """Call the actor method `method` with this render's id on every live worker, without waiting."""
        for worker in self.session.live():
            try:
                getattr(worker.actor, method).remote(self.spec.render_id)
            except Exception:  # noqa: BLE001 - a dead worker runs and keeps nothing
                pass

    # --- the loop -------------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._stop.is_set() and (self._waiting or self._running):
                self._dispatch()
                self._collect()
                self._poll_steps()
            self.session.want(self, 0)
        except Exception:  # noqa: BLE001 - the client renders what is left itself
            log.exception("the cluster scheduler stopped")
            self._give_up_waiting()
            for unit, worker in self._running.values():
                self.session.release(worker)
                self._give_up(unit)
            self._running.clear()

    def _dispatch(self) -> None:
        ready = self._ready()
        for unit in ready:
            if self._stop.is_set():
                break
            if not self.session.live():
                self._give_up(unit)
                continue
            self.session.want(self, 0 if self.ahead else len(ready))  # a render read now goes first
            worker = self.session.acquire(0 if self._running else WAIT_S, ahead=self.ahead)
            if worker is None:
                return  # still wanting: the render ahead waits
            ready = ready[1:]
            self._waiting.remove(unit)
            inputs = self.cache.inputs(unit.needs)
            sent_s = time.perf_counter()  # before the call: the worker may start before `remote` returns
            ref = worker.actor.run_unit.remote(self._spec_ref, unit, inputs)
            self._running[ref] = (unit, worker)
            self._sent[ref] = (sent_s, inputs.nbytes)
            self._attempts[unit.id] = self._attempts.get(unit.id, 0) + 1
        self.session.want(self, 0)
        if self._waiting and not self._running and not self._stop.is_set():
            time.sleep(WAIT_S)  # units waiting for inputs the client renders itself

    def _ready(self) -> list[Unit]:
        """The waiting units that can go now: their inputs exist, and the client is not too far behind (a unit
        run again after a worker died always can)."""
        room = self.cache.unread() < MAX_AHEAD
        return [unit for unit in self._waiting if all(self.cache.available(key) for key in unit.needs)
                and (room or unit.id in self._attempts)]

    def _collect(self) -> None:
        import ray

        if not self._running:
            return
        finished, _ = ray.wait(list(self._running), num_returns=1, timeout=WAIT_S)
        for ref in finished:
            unit, worker = self._running.pop(ref)
            self._finish(ref, unit, worker)

    def _poll_steps(self) -> None:
        """Ask the busy workers for newer steps every `STEP_POLL_S` (one question each at a time), and keep the
        answers that came back; a render prepared ahead asks nothing (nobody shows its previews yet)."""
        import ray

        if self._polls:
            back, _ = ray.wait(list(self._polls), num_returns=len(self._polls), timeout=0)
            for ref in back:
                name = self._polls.pop(ref)
                try:
                    step: UnitStep | None = ray.get(ref)
                except Exception:  # noqa: BLE001 - a worker that died is the unit's business, not the preview's
                    continue
                if step is not None and step.heard > self._heard.get(name, 0):
                    self._heard[name] = step.heard
                    with self._steps_lock:
                        self._steps.append(step)
        now = time.monotonic()
        if self.ahead or now - self._polled < STEP_POLL_S:
            return
        self._polled = now
        asking = set(self._polls.values())
        for _unit, worker in self._running.values():
            name = worker.info.name
            if name not in asking:
                self._polls[worker.actor.latest_step.remote(self.spec.render_id, self._heard.get(name, 0))] = name

    def _finish(self, ref: Any, unit: Unit, worker: WorkerHandle) -> None:
        import ray
        from ray.exceptions import RayActorError

        sent_s, bytes_in = self._sent.pop(ref, (time.perf_counter(), 0))
        try:
            result = ray.get(ref)
        except RayActorError:
            log.warning("cluster worker %s died during unit %s %d: running it again elsewhere", worker.info.name,
                        unit.kind, unit.index)
            self.session.release(worker, alive=False)
            self._waiting.insert(0, unit)
            return
        except Exception as error:  # noqa: BLE001 - cancelled, out of memory, a missing file: the client renders it
            self.session.release(worker)
            if not self._stop.is_set():
                log.warning("unit %s %d failed on %s: %s", unit.kind, unit.index, worker.info.name, error)
            self._give_up(unit)
            return
        self.session.release(worker)
        self.unet_samples += result.unet_samples
        self.unet_calls += result.unet_calls
        self.cache.deliver(unit, result)
        self.done.append(ClusterUnit(unit.kind, unit.index, worker.info.name, self._attempts.get(unit.id, 1),
                                     round(result.render_s, 4), round(time.perf_counter() - sent_s, 4), bytes_in,
                                     result.nbytes))

    def _give_up(self, unit: Unit) -> None:
        if unit in self._waiting:
            self._waiting.remove(unit)
        self.cache.give_up(unit)
        self.done.append(ClusterUnit(unit.kind, unit.index, CLIENT, self._attempts.get(unit.id, 0)))

    def _give_up_waiting(self) -> None:
        for unit in list(self._waiting):
            self._give_up(unit)
