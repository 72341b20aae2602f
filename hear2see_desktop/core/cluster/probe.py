"""What a cluster address reaches now: its nodes, their CPUs and GPUs, and which of a render's models each has.

The app's "Test connection" button and a user about to render on a cluster ask the same question before
any render starts. `local:N` is this computer (nothing is started: the workers a render would start, the
CPUs, the GPUs torch sees). `auto` and `ray://HOST:PORT` are joined for a moment: one small task on each
alive node, pinned there, says what the node has, then the connection is closed. Ray prints nothing:
its logs stay in its own files, as they do during a render.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hear2see_desktop.core.cluster.address import (
    ClusterAddress,
    parse_cluster_address,
    ray_installed,
    ray_missing_error,
)
from hear2see_desktop.core.cluster.model_files import find_model_on_node
from hear2see_desktop.core.cluster.ray_auth import send_ray_token_if_any
from hear2see_desktop.core.errors import BadInputError, Hear2SeeError
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.motion_source import resolve_motion_source
from hear2see_desktop.core.render.weights_hash import cached_sha256, weights_sha256
from hear2see_desktop.core.settings import RenderSettings

DEFAULT_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_S = 5.0
"""How long a ray:// head may take to accept a TCP connection before the probe says it cannot be reached
(Ray's own client retries for about half a minute)."""
ModelWanted = tuple[str, str, str]
"""A model a render needs: its label for the user, its path on this computer, the SHA-256 of its weights."""

_PROBING = threading.Lock()  # one probe at a time: joining a cluster changes the process's Ray state


@dataclass(frozen=True)
class ModelOnNode:
    """One model on one node: there already (found by its hash), or to be sent once (`size_bytes`)."""

    label: str
    present: bool
    size_bytes: int = 0

    def words(self) -> str:
        return f"has {self.label}" if self.present else f"{self.label} will be sent ({_size_words(self.size_bytes)})"


@dataclass(frozen=True)
class NodeReport:
    """One node as its own task saw it; `gpus` is what Ray schedules on (its GPU resource), `gpu_names` what
    the node's driver lists."""

    host: str
    ip: str
    cpus: int
    gpus: int
    gpu_names: tuple[str, ...] = ()
    models: tuple[ModelOnNode, ...] = ()

    def summary(self) -> str:
        """One sentence: "gpu-box (10.0.0.5): 16 CPUs, 1 GPU (NVIDIA A100); has sd-1.5."."""
        gpus = _count(self.gpus, "GPU")
        if self.gpu_names:
            gpus += f" ({', '.join(self.gpu_names)})"
        text = f"{self.host} ({self.ip}): {_count(self.cpus, 'CPU')}, {gpus}"
        if self.models:
            text += "; " + ", ".join(model.words() for model in self.models)
        return text + "."

    @property
    def missing_models(self) -> tuple[str, ...]:
        return tuple(model.label for model in self.models if not model.present)


@dataclass(frozen=True)
class ClusterReport:
    """What `probe_cluster` found at one address: the nodes that answered and the ones that did not."""

    address: str
    kind: str  # "local", "auto" or "remote", as ClusterAddress.kind
    nodes: tuple[NodeReport, ...]
    workers: int | None = None  # local: the workers a render would start
    silent_nodes: tuple[str, ...] = ()  # alive in Ray's view, but their task did not come back in time

    @property
    def gpus(self) -> int:
        return sum(node.gpus for node in self.nodes)

    def summary(self) -> list[str]:
        """Sentences for the user: the cluster as a whole, then one a node, then the nodes that did not answer."""
        if self.kind == "local":
            head = (f"{self.address} starts {_count(self.workers or 0, 'worker')} on this computer "
                    f"({_count(self.gpus, 'GPU')} here).")
        else:
            head = f"{self.address} answered: {_count(len(self.nodes), 'node')}, {_count(self.gpus, 'GPU')}."
        lines = [head] + [node.summary() for node in self.nodes]
        if self.silent_nodes:
            lines.append(f"{_count(len(self.silent_nodes), 'node')} did not answer in time "
                         f"({', '.join(self.silent_nodes)}): a busy or failing node renders nothing.")
        return lines


def probe_cluster(address_text: str, models: Sequence[ModelWanted] = (),
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> ClusterReport:
    """The nodes behind `address_text` and which of `models` each holds; one sentence when it cannot say.

    Raises BadInputError for an address that is not one, Ray missing (for auto and ray://) or a cluster that
    cannot be reached; Hear2SeeError when a cluster answers but refuses the connection."""
    address = parse_cluster_address(address_text)
    wanted = [(label, path, sha, _size_bytes(Path(path).expanduser())) for label, path, sha in models]
    if address.kind == "local":
        return ClusterReport(address.text, address.kind, (_this_node(wanted, None),), workers=address.workers)
    if not ray_installed():
        raise ray_missing_error()
    with _PROBING:
        return _probe_ray(address, wanted, timeout_s)


def render_models(settings: RenderSettings) -> list[ModelWanted]:
    """The models a render with `settings` loads (the model, its LoRAs, animate's motion model), as the probe
    asks for them. One that is not on this computer is left out: the render's own check names it. Hashing is
    cached by path, size and time, so only a model never rendered with here takes long."""
    wanted: list[ModelWanted] = []
    try:
        source = resolve_model_source(settings.model, settings.model_config)
        wanted.append((settings.model, str(source.path), weights_sha256(source.path)))
    except (Hear2SeeError, OSError):
        pass
    for lora in settings.loras:
        path = Path(lora.path).expanduser()
        if path.is_file():
            wanted.append((path.name, str(path), cached_sha256(path)))
    if settings.mode == "animate":
        try:
            motion = resolve_motion_source(settings.motion_model)
            wanted.append((settings.motion_model, str(motion.path), weights_sha256(motion.path)))
        except (Hear2SeeError, OSError):
            pass
    return wanted


def probe_for_render(address_text: str, settings: RenderSettings,
                     timeout_s: float = DEFAULT_TIMEOUT_S) -> ClusterReport:
    """`probe_cluster` for the models of a render with `settings` (what the app's Test connection asks)."""
    parse_cluster_address(address_text)  # a wrong address is said before any hashing
    return probe_cluster(address_text, render_models(settings), timeout_s)


# --- one node, on the node ------------------------------------------------------------------------------
def _this_node(wanted: Sequence[tuple[str, str, str, int]], ray_gpus: float | None) -> NodeReport:
    """This node as it sees itself; `ray_gpus`, Ray's count of its GPUs (None: what torch sees here)."""
    names = _gpu_names()
    gpus = len(names) if ray_gpus is None else int(ray_gpus)
    found = tuple(ModelOnNode(label, find_model_on_node(path, sha) is not None, size)
                  for label, path, sha, size in wanted)
    return NodeReport(host=socket.gethostname(), ip=_own_ip(), cpus=os.cpu_count() or 1, gpus=gpus,
                      gpu_names=names, models=found)


def _gpu_names() -> tuple[str, ...]:
    """The node's GPUs by name: nvidia-smi when it is there (a Ray task that asked for no GPU sees none
    through CUDA), else what torch sees."""
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            done = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0:
            return tuple(line.strip() for line in done.stdout.splitlines() if line.strip())
    try:
        import torch
    except ImportError:
        return ()
    if not torch.cuda.is_available():
        return ()
    return tuple(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))


def _own_ip() -> str:
    try:
        import ray

        if ray.is_initialized():
            return str(ray.util.get_node_ip_address())
    except ImportError:
        pass
    return "this computer"


# --- the cluster, from here -----------------------------------------------------------------------------
def _probe_ray(address: ClusterAddress, wanted: list[tuple[str, str, str, int]], timeout_s: float) -> ClusterReport:
    import ray

    deadline = time.monotonic() + timeout_s
    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address.kind == "remote":
        assert address.host is not None and address.port is not None
        _check_reachable(address, min(CONNECT_TIMEOUT_S, timeout_s))
        context = _join_client(address, quiet, max(1.0, deadline - time.monotonic()))
        try:
            with context:
                return _ask_nodes(address, wanted, deadline)
        finally:
            _quietly(context.disconnect)
    if ray.is_initialized():  # joined already (a render on `auto` is running): ask over that connection
        return _ask_nodes(address, wanted, deadline)
    _connect(address, lambda: ray.init(address="auto", include_dashboard=False, **quiet))
    try:
        return _ask_nodes(address, wanted, deadline)
    finally:
        _quietly(ray.shutdown)


def _check_reachable(address: ClusterAddress, timeout_s: float) -> None:
    """Fail in seconds, not Ray's half minute of retries, when nothing listens at HOST:PORT."""
    host = (address.host or "").strip("[]")
    try:
        with socket.create_connection((host, address.port or 0), timeout=timeout_s):
            pass
    except socket.gaierror as error:
        raise BadInputError(f"Cannot reach the Ray cluster at {address.text}: the host name {host} is not known "
                            "here; check the address.") from error
    except OSError as error:
        raise BadInputError(f"Cannot reach the Ray cluster at {address.text}: nothing answers on port "
                            f"{address.port} of {host} ({_reason(error)}); check the address, and that the head "
                            "node runs `ray start --head` with that Ray Client port open to this computer.") from error


def _join_client(address: ClusterAddress, quiet: dict[str, Any], timeout_s: float) -> Any:
    """A Ray Client context of its own (a connection this process already holds, a render's, is left alone),
    joined on a thread so that the probe's deadline holds: Ray's client retries for over half a minute. A join
    given up on is closed by its thread once it ends."""
    import ray

    warnings.filterwarnings("ignore", message="Ray Client connection timed out", category=UserWarning)
    send_ray_token_if_any()
    outcome: dict[str, Any] = {}
    lock = threading.Lock()

    def join() -> None:
        try:
            result: dict[str, Any] = {"context": _connect(address, lambda: ray.init(
                address=address.ray_address, allow_multiple=True, **quiet))}
        except BaseException as error:  # handed to the caller, who raises it
            result = {"error": error}
        with lock:
            outcome.update(result)
            given_up = outcome.get("given_up", False)
        if given_up and "context" in result:
            _quietly(result["context"].disconnect)

    thread = threading.Thread(target=join, name="hear2see-ray-join", daemon=True)
    thread.start()
    thread.join(timeout_s)
    with lock:
        if "context" not in outcome and "error" not in outcome:
            outcome["given_up"] = True
            raise BadInputError(f"The Ray cluster at {address.text} did not let this computer join within "
                                f"{timeout_s:.0f} s: check that its head node is not overloaded, runs the same Ray "
                                "version as this app and, where it asks for a token, that this computer has it "
                                "(`ray get-auth-token` on the head node, saved as ~/.ray/auth_token here).")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["context"]




def _connect(address: ClusterAddress, init: Any) -> Any:
    """Run `init` (a ray.init), turning its failures into one sentence."""
    try:
        return init()
    except ConnectionError as error:
        if address.kind == "auto":
            raise BadInputError("No Ray cluster runs on this computer for the address auto: join one with "
                                "`ray start --address=HEAD:6379` first, or use ray://HOST:10001 or local.") from error
        raise BadInputError(f"The Ray cluster at {address.text} did not let this computer join ({_reason(error)}): "
                            "check that its Ray Client server runs and, where it asks for a token, that this "
                            "computer has it (`ray get-auth-token` on the head node, saved as ~/.ray/auth_token "
                            "here).") from error
    except Exception as error:  # a version mismatch, a refused client: Ray says why in its first line
        raise Hear2SeeError(f"The Ray cluster at {address.text} refused the connection ({_reason(error)}): "
                            "the cluster must run the same Ray and Python versions as this app.") from error


def _ask_nodes(address: ClusterAddress, wanted: list[tuple[str, str, str, int]], deadline: float) -> ClusterReport:
    """One task per alive node, pinned to it, needing no CPU (a node busy rendering still answers)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    describe = ray.remote(num_cpus=0, max_retries=0)(_this_node)
    alive = [node for node in ray.nodes() if node.get("Alive")]
    pending: dict[Any, str] = {}
    for node in alive:
        strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
        ref = describe.options(scheduling_strategy=strategy).remote(wanted, node.get("Resources", {}).get("GPU", 0))
        pending[ref] = str(node.get("NodeManagerAddress") or node["NodeID"][:8])
    remaining = max(0.1, deadline - time.monotonic())
    ready, late = ray.wait(list(pending), num_returns=len(pending), timeout=remaining) if pending else ([], [])
    nodes: list[NodeReport] = []
    failed: list[str] = []
    for ref in ready:
        try:
            # The address Ray knows the node by (a task's own guess can be another interface of the machine).
            nodes.append(replace(ray.get(ref), ip=pending[ref]))
        except Exception:  # the node's task failed (no HEAR2SEE there, say): reported as not answering
            logging.getLogger(__name__).info("probe task on %s failed", pending[ref], exc_info=True)
            failed.append(pending[ref])
    for ref in late:
        _quietly(lambda ref=ref: ray.cancel(ref, force=True))
    silent = tuple(failed + [pending[ref] for ref in late])
    return ClusterReport(address.text, address.kind, tuple(sorted(nodes, key=lambda n: (n.ip, n.host))),
                         silent_nodes=silent)


# --- words ----------------------------------------------------------------------------------------------
def _size_bytes(path: Path) -> int:
    """What sending a model costs: the file, or every file of a folder."""
    try:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    except OSError:
        return 0


def _size_words(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _reason(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return first.rstrip(".")


def _quietly(call: Any) -> None:
    try:
        call()
    except Exception:  # closing a connection that is gone already
        logging.getLogger(__name__).debug("ignored while closing a Ray connection", exc_info=True)


__all__ = ["ClusterReport", "ModelOnNode", "ModelWanted", "NodeReport", "probe_cluster", "probe_for_render",
           "render_models"]
