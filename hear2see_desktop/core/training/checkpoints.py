"""Checkpoints of a training run, so a stopped or cancelled run continues where it was.

`style.safetensors` keeps its checkpoints in `style.checkpoints/step-000050/`: the LoRA weights as
trained (lora.safetensors, scale not folded in), the optimizer and learning-rate schedule states, the
torch and Python random states, and state.json (step, losses so far, and the identity of the run that a
resumed run must match). Each is written to a hidden temporary folder that is renamed when complete, so
a crash mid-save never leaves a checkpoint that looks whole. Only the newest few are kept.

The .pt files are read with PyTorch's weights-only loader, which builds tensors and plain containers and
never runs code named in the file.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError

KEEP_CHECKPOINTS = 3
STATE_NAME = "state.json"
LORA_NAME = "lora.safetensors"
_STEP_DIR = re.compile(r"^step-(\d{6,})$")


@dataclass
class Checkpoint:
    """What a run needs to continue: weights by component ("unet", "text_encoder"), states, step, losses."""

    step: int
    adapters: dict[str, dict[str, Any]]
    optimizer: dict[str, Any]
    lr_scheduler: dict[str, Any]
    rng: dict[str, Any]
    grad_scaler: dict[str, Any] | None = None  # the loss scaler of an fp16 run
    losses: list[float] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def checkpoints_dir(out_path: Path) -> Path:
    """`style.safetensors` -> `style.checkpoints` beside it."""
    return out_path.with_name(f"{out_path.stem}.checkpoints")


def step_dir_name(step: int) -> str:
    """The folder name of the checkpoint after `step` optimizer steps."""
    return f"step-{step:06d}"


def saved_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints in `folder` as (step, path), oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and child.is_dir() and (child / STATE_NAME).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(folder: Path) -> Path | None:
    """The newest complete checkpoint in `folder`, or None."""
    found = saved_checkpoints(folder)
    return found[-1][1] if found else None


def rng_state() -> dict[str, Any]:
    """torch's CPU (and CUDA) random states and Python's, as weights-only-loadable values."""
    import torch

    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back what `rng_state` saved (CUDA states only where this machine has the same GPUs)."""
    import torch

    torch.set_rng_state(state["torch"])
    python = state.get("python")
    if python is not None:
        random.setstate((python[0], tuple(python[1]), python[2]))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def save_checkpoint(folder: Path, checkpoint: Checkpoint, keep: int = KEEP_CHECKPOINTS) -> Path:
    """Write `checkpoint` as `folder/step-NNNNNN` (atomically), then drop all but the newest `keep`."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    final = folder / step_dir_name(checkpoint.step)
    if (final / STATE_NAME).is_file():
        return final  # this step is saved already (a resumed run stopped again before training on)
    temp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=folder))
    try:
        weights = {f"{component}.{key}": tensor.detach().cpu().contiguous()
                   for component, state in checkpoint.adapters.items() for key, tensor in state.items()}
        save_file(weights, str(temp / LORA_NAME), metadata={"format": "pt"})
        torch.save({"optimizer": checkpoint.optimizer, "grad_scaler": checkpoint.grad_scaler}, temp / "optimizer.pt")
        torch.save(checkpoint.lr_scheduler, temp / "lr_scheduler.pt")
        torch.save(checkpoint.rng, temp / "rng.pt")
        state = {"step": checkpoint.step, "losses": checkpoint.losses, "identity": checkpoint.identity}
        (temp / STATE_NAME).write_text(json.dumps(state, indent=1), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)  # an incomplete folder of the same name (no state.json)
        temp.rename(final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    older = saved_checkpoints(folder)[:-keep] if keep > 0 else []
    for _, old in older:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint folder written by `save_checkpoint`; a damaged one is a BadInputError."""
    import torch
    from safetensors.torch import load_file

    try:
        state = json.loads((path / STATE_NAME).read_text(encoding="utf-8"))
        adapters: dict[str, dict[str, Any]] = {}
        for key, tensor in load_file(str(path / LORA_NAME)).items():
            component, _, name = key.partition(".")
            adapters.setdefault(component, {})[name] = tensor
        optimizer = torch.load(path / "optimizer.pt", weights_only=True)
        return Checkpoint(
            step=int(state["step"]),
            adapters=adapters,
            optimizer=optimizer["optimizer"],
            grad_scaler=optimizer.get("grad_scaler"),
            lr_scheduler=torch.load(path / "lr_scheduler.pt", weights_only=True),
            rng=torch.load(path / "rng.pt", weights_only=True),
            losses=[float(loss) for loss in state.get("losses", [])],
            identity=dict(state.get("identity", {})),
            path=path,
        )
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise BadInputError(
            f"The checkpoint {path} is damaged or incomplete ({type(error).__name__}): delete that folder to "
            "resume from the one before it."
        ) from error
