"""Where a render runs: this computer, a Ray cluster started here, or one to join.

`local` / `local:N` start a Ray cluster on this machine with N workers (default: one per two CPU
cores, at least one); `auto` joins the cluster this machine belongs to (`ray start` ran here);
`ray://HOST:PORT` joins one through Ray Client. Parsing is pure (no Ray import), so the CLI and the
app can check an address before anything starts, and the app can show the setting without Ray.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from hear2see_desktop.core.errors import BadInputError, Hear2SeeError

INSTALL_COMMAND = "bash scripts/setup.sh --cluster"
"""Ray at the locked versions (requirements/cluster.txt); `pip install ".[cluster]"` takes the newest that fit."""
_REMOTE = re.compile(r"^ray://(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class ClusterAddress:
    """A parsed cluster address; `text` is what the user typed, the form the run record keeps."""

    kind: Literal["local", "auto", "remote"]
    text: str
    workers: int | None = None  # local: how many workers to start
    host: str | None = None
    port: int | None = None

    @property
    def ray_address(self) -> str | None:
        """What `ray.init(address=...)` takes: None starts a local cluster."""
        return None if self.kind == "local" else ("auto" if self.kind == "auto" else self.text)


def default_local_workers() -> int:
    """One worker per two cores: a render's torch threads keep two cores busy."""
    return max(1, (os.cpu_count() or 2) // 2)


def parse_cluster_address(text: str) -> ClusterAddress:
    """`local[:N]`, `auto` or `ray://HOST:PORT`; anything else is one sentence naming the forms."""
    value = text.strip()
    if value == "local":
        return ClusterAddress("local", value, workers=default_local_workers())
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= 256:
            raise BadInputError(f"The cluster address '{text}' asks for '{count}' workers: give a whole number "
                                "from 1 to 256, as in local:2.")
        return ClusterAddress("local", value, workers=int(count))
    if value == "auto":
        return ClusterAddress("auto", value)
    match = _REMOTE.match(value)
    if match and 1 <= int(match["port"]) <= 65535:
        return ClusterAddress("remote", value, host=match["host"], port=int(match["port"]))
    raise BadInputError(f"'{text}' is not a cluster address: use local, local:N (N workers on this computer), "
                        "auto (the cluster this computer joined) or ray://HOST:PORT.")


def ray_missing_error() -> Hear2SeeError:
    """The sentence for a cluster render where Ray is not installed."""
    return BadInputError(f"Rendering on a cluster needs Ray, which is not installed: run {INSTALL_COMMAND} "
                         "in the app's environment, or render on this computer.")


def ray_installed() -> bool:
    """Whether Ray can be imported, without importing it (the app asks at start-up)."""
    from importlib.util import find_spec

    return find_spec("ray") is not None
