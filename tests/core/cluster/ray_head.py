"""A real Ray head on 127.0.0.1 for the cluster tests: `ray start --head --block` in its own process group,
on free ports and its own temp folder, so it neither joins nor disturbs another Ray on the machine."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 240.0  # a loaded two-core machine starts Ray's processes slowly


@dataclass(frozen=True)
class RayHead:
    gcs_address: str  # what `ray.init(address=...)` and RAY_ADDRESS take
    client_address: str  # ray://127.0.0.1:PORT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def ray_head(num_cpus: int = 1) -> Iterator[RayHead]:
    """A head node with `num_cpus` CPUs and no GPU; its workers import this checkout's package."""
    ray_cli = Path(sys.executable).with_name("ray")
    gcs, client = free_port(), free_port()
    temp_dir = tempfile.mkdtemp(prefix="h2s-ray-", dir="/tmp" if os.path.isdir("/tmp") else None)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    ports = {"--dashboard-agent-listen-port": free_port(), "--dashboard-agent-grpc-port": free_port(),
             "--metrics-export-port": free_port(), "--runtime-env-agent-port": free_port()}
    command = [str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={gcs}",
               f"--ray-client-server-port={client}", f"--num-cpus={num_cpus}", "--num-gpus=0",
               "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
               *(f"{flag}={port}" for flag, port in ports.items())]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "Ray runtime started" in line:
                started.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not started.wait(0.5):
            assert process.poll() is None, "the Ray head did not start:\n" + "".join(output[-40:])
            assert time.monotonic() < deadline, "the Ray head did not start in time:\n" + "".join(output[-40:])
        yield RayHead(f"127.0.0.1:{gcs}", f"ray://127.0.0.1:{client}")
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # `ray start --block` stops its own processes on SIGTERM
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        shutil.rmtree(temp_dir, ignore_errors=True)
