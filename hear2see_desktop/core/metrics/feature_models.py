"""Finding and loading the TorchScript feature models behind FVD and IS, from local files only.

The files are the ones the research community publishes, so a user can drop them in unchanged:
StyleGAN-V's `i3d_torchscript.pt` (Kinetics-400 I3D, the network of the original FVD) and StyleGAN2-ADA's
`inception-2015-12-05.pt` (the TF Inception of the original IS). Each is looked for, in order, in the
folder given with --feature-models, the folder in $HEAR2SEE_FEATURE_MODELS and `models_dir()/"metrics"`.
A file that is absent is not an error (the metric is skipped with a note); a file that is there but is
not TorchScript is, since the user meant it to be used. Models run on the CPU and are loaded once per file.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.paths import models_dir

I3D_FILE = "i3d_torchscript.pt"
INCEPTION_FILE = "inception-2015-12-05.pt"
FEATURE_MODELS_ENV_VAR = "HEAR2SEE_FEATURE_MODELS"

_CACHE: dict[tuple[str, int, int], Any] = {}
_CACHE_LOCK = threading.Lock()


def feature_model_dirs(explicit: str | Path | None = None) -> list[Path]:
    """The folders searched, in order: `explicit`, $HEAR2SEE_FEATURE_MODELS, then `models_dir()/"metrics"`."""

    folders: list[Path] = []
    if explicit:
        folders.append(Path(explicit).expanduser())
    env = os.environ.get(FEATURE_MODELS_ENV_VAR, "").strip()
    if env:
        folders.append(Path(env).expanduser())
    folders.append(models_dir() / "metrics")
    return folders


def find_feature_model(file_name: str, explicit: str | Path | None = None) -> Path | None:
    """The first `file_name` found in `feature_model_dirs(explicit)`, or None when no folder has it."""
    for folder in feature_model_dirs(explicit):
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    return None


def missing_model_note(metric: str, model: str, file_name: str, explicit: str | Path | None = None) -> str:
    """The sentence shown when a feature model is absent: what is missing, where we looked, what to do."""
    looked = ", ".join(str(folder) for folder in feature_model_dirs(explicit))
    return (f"{metric}: the {model} feature model {file_name} was not found (looked in {looked}): "
            f"put it there to compute {metric}.")


def load_feature_model(path: str | Path) -> Any:
    """Load a TorchScript feature model on the CPU in eval mode, once per file (a changed file is reloaded).

    Raises BadInputError with one sentence when the file is not loadable TorchScript (a truncated
    download, a plain `torch.save` checkpoint, a file of another kind).
    """
    import torch

    file = Path(path).expanduser()
    try:
        stat = file.stat()
    except OSError as exc:
        raise BadInputError(f"The feature model {file} cannot be read ({exc.strerror or exc}).") from exc
    key = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # the published files are TorchScript
                model = torch.jit.load(str(file), map_location="cpu").eval()
        except (RuntimeError, OSError, ValueError) as exc:
            raise BadInputError(
                f"The feature model {file} is not a loadable TorchScript file: replace it with the published one."
            ) from exc
        _CACHE[key] = model
        return model


def model_call_error(file_name: str, exc: Exception) -> BadInputError:
    """The sentence for a loaded model that rejects our inputs: most likely a different network under the name."""
    return BadInputError(
        f"The feature model {file_name} did not accept its input ({type(exc).__name__}): "
        "it is probably not the published file of that name."
    )
