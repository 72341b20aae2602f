"""The connection to a Ray cluster and its render workers, shared by every render of this process.

`local[:N]` starts Ray on this machine with N one-CPU workers; `auto` and `ray://HOST:PORT` join a running
cluster and start one worker per GPU there (or one per two CPUs without GPUs). The workers stay up between
renders, so a batch loads each model once per worker. An address that cannot be reached is one sentence, fast:
a `ray://` address is tried with a plain TCP connection first, since Ray Client would retry for a long time.
Ray's own logs stay out of the user's terminal (`log_to_driver=False`, ERROR level). A worker whose process dies
is restarted by Ray (`RESTARTS` times at most) and taken back once it answers again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from hear2see_desktop.core.cluster.address import (
    ClusterAddress,
    parse_cluster_address,
    ray_installed,
    ray_missing_error,
)
from hear2see_desktop.core.cluster.ray_auth import send_ray_token_if_any
from hear2see_desktop.core.cluster.worker import RenderWorker, WorkerInfo
from hear2see_desktop.core.errors import BadInputError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
"""How long a `ray://` address may take to accept a TCP connection before it counts as unreachable."""
WORKERS_READY_TIMEOUT_S = 300.0
"""How long the workers may take to start (a busy machine starts Ray's processes slowly)."""
REVIVE_POLL_S = 0.5
"""How often a restarting worker is asked whether it is up again."""
RESTARTS = 3
"""How often Ray restarts a worker whose process died (killed, out of memory) before it stays dead: a worker
that dies on every unit must not be restarted for ever."""


@dataclass
class WorkerHandle:
    """One worker actor as the client tracks it."""

    actor: Any
    info: WorkerInfo
    busy: bool = False
    alive: bool = True


class ClusterSession:
    """A connected cluster's workers; renders take an idle one for each unit and give it back after."""

    def __init__(self, address: ClusterAddress, workers: list[WorkerHandle]) -> None:
        self.address = address
        self.workers = workers
        self._idle = threading.Condition()
        self._closed = False
        self._wanted: dict[int, int] = {}  # per render read now: the units it could send this moment

    def live(self) -> list[WorkerHandle]:
        with self._idle:
            return [worker for worker in self.workers if worker.alive]

    def want(self, render: object, units: int) -> None:
        """Say how many units `render` (one the client reads now) could send this moment: while any could,
        renders prepared ahead get no worker."""
        with self._idle:
            if units:
                self._wanted[id(render)] = units
            elif self._wanted.pop(id(render), 0):
                self._idle.notify_all()

    def acquire(self, timeout_s: float, ahead: bool = False) -> WorkerHandle | None:
        """An idle live worker, now marked busy, or None when none frees up within `timeout_s` (`ahead`: for a
        render prepared before its turn, only while no render read now wants one)."""
        def free() -> bool:
            return (not ahead or not self._wanted) and any(w.alive and not w.busy for w in self.workers)

        with self._idle:
            if self._idle.wait_for(free, timeout_s):
                for worker in self.workers:
                    if worker.alive and not worker.busy:
                        worker.busy = True
                        return worker
        return None

    def release(self, worker: WorkerHandle, alive: bool = True) -> None:
        """Give a worker back (`alive=False`: its process died, it takes no more units until Ray has restarted
        it, see `revive`)."""
        with self._idle:
            worker.busy = False
            worker.alive = worker.alive and alive
            self._idle.notify_all()
        if not alive:
            threading.Thread(target=self.revive, args=(worker,), name="cluster-revive", daemon=True).start()

    def revive(self, worker: WorkerHandle, timeout_s: float = WORKERS_READY_TIMEOUT_S) -> bool:
        """Wait for Ray to restart a worker whose process died (`RESTARTS` times at most) and take it back, with
        its new process in its name; False when it does not come back (`close` kills it for good)."""
        from ray.exceptions import ActorUnavailableError

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                info = remote_result(worker.actor.describe.remote(), max(0.1, deadline - time.monotonic()))
                break
            except ActorUnavailableError:  # still restarting: Ray refuses calls until it is up
                if time.monotonic() > deadline or self._closed:
                    return False
                time.sleep(REVIVE_POLL_S)
            except Exception as error:  # noqa: BLE001 - out of restarts, its node gone, or the session closed
                log.warning("cluster worker %s did not come back: %s", worker.info.name, error)
                return False
        with self._idle:
            if self._closed:
                return False
            worker.info, worker.alive = info, True
            self._idle.notify_all()
        log.info("cluster worker restarted as %s", info.name)
        return True

    def close(self) -> None:
        """Stop this session's workers."""
        import ray

        with self._idle:
            self._closed = True
        for worker in self.workers:  # a dead one too: Ray may be restarting it
            try:
                ray.kill(worker.actor)
            except Exception:  # noqa: BLE001 - a worker already gone needs no stopping
                pass
            worker.alive = False


def remote_result(ref: Any, timeout_s: float | None = None) -> Any:
    """`ray.get`, with a worker's own sentence (a Hear2SeeError raised there) raised here as itself."""
    import ray
    from ray.exceptions import RayTaskError

    from hear2see_desktop.core.errors import Hear2SeeError

    try:
        return ray.get(ref, timeout=timeout_s)
    except RayTaskError as error:
        if isinstance(error.cause, Hear2SeeError):
            raise error.cause from None
        raise


_sessions: dict[str, ClusterSession] = {}
_sessions_lock = threading.Lock()


def connect(text: str) -> ClusterSession:
    """The session for the address `text`, connecting and starting workers the first time; one sentence when Ray
    is missing or the cluster cannot be reached."""
    address = parse_cluster_address(text)
    if not ray_installed():
        raise ray_missing_error()
    with _sessions_lock:
        session = _sessions.get(address.text)
        if session is not None and session.live():
            return session
        if session is not None:  # every worker dead: stop those Ray may still be restarting before starting anew
            session.close()
        _init_ray(address)
        session = ClusterSession(address, _start_workers(address))
        _sessions[address.text] = session
        return session


_joined: str | None = None
"""The address this module started or joined Ray for (None: not connected, or Ray was initialised by the
program around it, as the tests do, and is used as it is)."""


def close_sessions() -> None:
    """Stop every session's workers, and leave the cluster this module joined (the tests and benches)."""
    with _sessions_lock:
        _close_all()


def _close_all() -> None:
    global _joined
    for session in _sessions.values():
        session.close()
    _sessions.clear()
    if _joined is not None:
        import ray

        ray.shutdown()
        _joined = None


def _init_ray(address: ClusterAddress) -> None:
    """Start or join Ray for `address`; a process holds one Ray connection, so joining another cluster first
    stops the sessions on the one joined before (its workers, its local Ray) and leaves it."""
    global _joined
    import ray

    if address.kind == "remote":
        _check_reachable(address)
    if ray.is_initialized() and _joined not in (None, address.text):
        _close_all()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # offline: Ray asks nothing of anyone
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}
    try:
        if address.kind == "local":
            ray.init(num_cpus=address.workers, _node_ip_address="127.0.0.1", **quiet)  # loopback only
        else:
            send_ray_token_if_any()  # a cluster of Ray 2.5x asks for the token `ray start` made
            ray.init(address=address.ray_address, **quiet)
    except Exception as error:  # noqa: BLE001 - Ray raises many types for one cause: nothing to join
        log.warning("ray.init(%s) failed: %s", address.text, error)
        raise _unreachable(address) from error
    _joined = address.text


def _check_reachable(address: ClusterAddress) -> None:
    """A quick TCP connection to a `ray://` address, so a wrong one is a sentence in seconds, not minutes."""
    assert address.host is not None and address.port is not None
    try:
        with socket.create_connection((address.host.strip("[]"), address.port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        raise _unreachable(address) from error


def _unreachable(address: ClusterAddress) -> BadInputError:
    if address.kind == "local":
        return BadInputError("Ray could not start a cluster on this computer: see the log file, or render on this "
                             "computer without --cluster.")
    return BadInputError(f"Cannot reach the Ray cluster at {address.text}: start it (`ray start --head`) or check "
                         "the address, or render on this computer.")


WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
"""The workers' environment. A CPU worker computes with the client's thread count, so its frames equal the
client's to the last bit, which puts more threads than cores on a node that holds several workers (on
`local:2` of a two-core machine, two threads each on two cores). OpenMP's threads otherwise spin while they
wait for each other, and a worker's spinning took the cores the other worker needed: side by side, each animate
clip took up to six times as long as alone (`bench/cluster_batch.py`). Waiting threads that sleep give the cores
back; the numbers they compute are the same."""


def _start_workers(address: ClusterAddress) -> list[WorkerHandle]:
    """Start the render workers the address asks for and wait until each says where it runs."""
    import ray

    if address.kind == "local":
        count = address.workers or 1
        threads = max(1, (os.cpu_count() or 1) // count)
        options: dict[str, Any] = {"num_cpus": 1}
    else:
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
        count = gpus or max(1, cpus // 2)
        threads = None if gpus else 2
        options = {"num_cpus": 1, "num_gpus": 1} if gpus else {"num_cpus": min(2, cpus)}  # a one-CPU node too
    # Three calls at a time: a unit, and a cancel or a step poll while it runs.
    remote = ray.remote(RenderWorker).options(max_concurrency=3, max_restarts=RESTARTS,
                                              runtime_env={"env_vars": WORKER_ENV}, **options)
    actors = [remote.remote(threads) for _ in range(count)]
    try:
        infos = ray.get([actor.describe.remote() for actor in actors], timeout=WORKERS_READY_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - no room for the workers, or they died starting
        for actor in actors:
            ray.kill(actor)
        raise BadInputError(f"The Ray cluster at {address.text} could not start {count} render workers: free its "
                            "CPUs or GPUs, or ask for fewer.") from error
    return [WorkerHandle(actor, info) for actor, info in zip(actors, infos, strict=True)]
