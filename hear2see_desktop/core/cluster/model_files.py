"""Where a cluster worker finds the model files a render names, by their SHA-256.

The client names each model (checkpoint, diffusers folder, LoRA, motion model) by its path on the
client and its `weights_sha256`. A worker uses, in this order: the same path when it holds the same
weights (one machine, or a models folder shared at the same mount point); a copy received before,
kept under the worker's models folder by hash (`received/SHA256/NAME`); anything else is missing, and
the client sends the files once. Pure file work, no Ray, so the probe and the tests call it directly.
"""

from __future__ import annotations

from pathlib import Path

from hear2see_desktop.core.models.registry import models_root
from hear2see_desktop.core.render.weights_hash import weights_sha256

RECEIVED = "received"


def received_path(sha256: str, name: str, root: Path | None = None) -> Path:
    """Where a worker keeps model files sent to it: under its models folder, by hash, with the client's name."""
    return (root or models_root()) / RECEIVED / sha256 / name


def find_model_on_node(path: str, sha256: str, root: Path | None = None) -> str | None:
    """The local path of the weights `sha256` (client path `path`) on this node, or None when it lacks them."""
    same = Path(path).expanduser()
    try:
        if same.exists() and weights_sha256(same) == sha256:
            return str(same)
    except OSError:
        pass
    received = received_path(sha256, same.name, root)
    if received.exists():
        return str(received)
    return None
