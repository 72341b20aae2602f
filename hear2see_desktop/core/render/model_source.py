"""Where a Stable Diffusion model comes from: a hub id in the local cache, a folder, or one file.

Nothing here downloads. A hub id is looked up in the Hugging Face cache and the app's models
folder only; a missing model is a ModelMissingError that says where we looked and how to get it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError
from hear2see_desktop.core.models.catalogue import load_catalogue
from hear2see_desktop.core.render.sd15_config import bundled_sd15_config
from hear2see_desktop.core.settings import DEFAULT_MODEL
from hear2see_desktop.core.weights_format import PICKLE_SUFFIXES

if TYPE_CHECKING:
    from hear2see_desktop.core.models.catalogue import CatalogueEntry


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSource:
    """A resolved model: `kind` is "diffusers" (a folder) or "single_file" (a .safetensors)."""

    kind: str
    path: Path
    config_dir: Path | None = None  # component configs + tokenizer for a single file
    requested: str = ""


def default_single_file_config() -> Path | None:
    """Component configs + tokenizer for an SD 1.5 single file, so a lone `.safetensors` loads offline.

    A local copy of the SD 1.5 repo (models folder, then the Hugging Face cache) is preferred, as it is
    what the user chose; otherwise the configs bundled in resources/sd15 with a tokenizer built from
    installed package data. None only when even that cannot be built (the reason is logged).
    """

    local_copy = paths.models_dir() / "sd" / DEFAULT_MODEL.split("/")[-1]
    if (local_copy / "model_index.json").is_file():
        return local_copy
    snapshot = _cached_hub_snapshot(DEFAULT_MODEL)
    if snapshot is not None and (snapshot / "tokenizer" / "vocab.json").is_file():
        return snapshot
    try:
        return bundled_sd15_config()
    except (ModelMissingError, OSError) as error:
        log.warning("the bundled SD 1.5 config folder could not be built: %s", error)
        return snapshot


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith((".", "/", "~", "\\"))
        or (len(text) > 1 and text[1] == ":")
        or text.lower().endswith((".safetensors", *PICKLE_SUFFIXES))
        or text.count("/") != 1
    )


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache this process reads (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache)."""
    explicit = os.environ.get("HF_HUB_CACHE")
    if explicit:
        return Path(explicit)
    hf_home = os.environ.get("HF_HOME")
    return Path(hf_home) / "hub" if hf_home else Path.home() / ".cache" / "huggingface" / "hub"


def _cached_hub_snapshot(repo_id: str) -> Path | None:
    """The newest snapshot of `repo_id` in the HF cache that holds a model_index.json."""
    return cached_hub_snapshot(repo_id, "model_index.json")


def cached_hub_snapshot(repo_id: str, marker: str) -> Path | None:
    """The newest snapshot of `repo_id` in the HF cache that holds the file `marker` (a pipeline's
    model_index.json, a single model's config.json)."""
    repo_dir = hub_cache_dir() / f"models--{repo_id.replace('/', '--')}"
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        snapshot = repo_dir / "snapshots" / ref.read_text().strip()
        if (snapshot / marker).is_file():
            return snapshot
    snapshots = sorted((repo_dir / "snapshots").glob(f"*/{marker}"), key=lambda p: p.stat().st_mtime)
    return snapshots[-1].parent if snapshots else None


def resolve_model_source(requested: str, config: str | None = None) -> ModelSource:
    """Turn the user's --model value into a local source, or say why it can't be used."""
    text = requested.strip()
    if not text:
        raise BadInputError(
            "No model was given: set ", Fix("model"), " to a hub id, a diffusers folder or a .safetensors file."
        )
    candidate = Path(text).expanduser()
    if candidate.suffix.lower() in PICKLE_SUFFIXES:
        raise BadInputError(
            f"{candidate.name} is a pickle-based checkpoint, which can run code when loaded: "
            "use a .safetensors version of it, or import it once with `hear2see models import --trust` "
            "(read with PyTorch's weights-only loader and converted to .safetensors)."
        )
    if candidate.is_file():
        if candidate.suffix.lower() != ".safetensors":
            raise BadInputError(f"{candidate} is not a .safetensors checkpoint or a diffusers model folder.")
        config_dir = Path(config).expanduser() if config else default_single_file_config()
        if config_dir is None:
            raise ModelMissingError(
                f"{candidate.name} needs the Stable Diffusion 1.5 component configs and tokenizer, which are not "
                f"on this machine (looked in {paths.models_dir() / 'sd'} and the Hugging Face cache at "
                f"{hub_cache_dir()}): download the small config files once with `huggingface-cli download "
                "stable-diffusion-v1-5/stable-diffusion-v1-5 --include '*.json' '*.txt'`, or set ",
                Fix("model_config"), " to a diffusers folder of an SD 1.5 model."
            )
        if not (config_dir / "model_index.json").is_file():
            raise BadInputError(
                f"The model configuration folder {config_dir} has no model_index.json: set ", Fix("model_config"),
                " to the folder of a matching diffusers model."
            )
        return ModelSource("single_file", candidate.resolve(), config_dir.resolve(), text)
    if candidate.is_dir():
        if not (candidate / "model_index.json").is_file():
            raise BadInputError(
                f"{candidate} is not a diffusers model folder (it has no model_index.json): "
                "pass the folder that holds model_index.json, or a .safetensors file."
            )
        return ModelSource("diffusers", candidate.resolve(), None, text)
    if _looks_like_path(text):
        raise BadInputError(f"The model {text} does not exist: check the path, or pass a hub id such as "
                            "stable-diffusion-v1-5/stable-diffusion-v1-5.")
    found = hub_model_folder(text)
    if found is not None:
        return ModelSource("diffusers", found, None, text)
    local_copy = _local_copy(text)
    where = f"looked in {local_copy} and the Hugging Face cache at {hub_cache_dir()}"
    entry = catalogue_entry_for(text)
    if entry is not None:
        raise ModelMissingError(
            f"The Stable Diffusion model '{text}' is not on this machine ({where}): download it with "
            f"`hear2see models download {entry.name}` (about {entry.size_bytes / 1e9:.1f} GB; File > Models… in "
            "the app), import a checkpoint you already have with `hear2see models import FILE`, or set ",
            Fix("model"), " to a diffusers folder or a .safetensors checkpoint."
        )
    raise ModelMissingError(
        f"The Stable Diffusion model '{text}' is not on this machine ({where}): download it once with "
        f"`huggingface-cli download {text}` or copy a diffusers folder to {local_copy}, or set ", Fix("model"),
        " to a diffusers folder or a .safetensors checkpoint."
    )


def _local_folder(hub_id: str) -> str:
    """The models folder's sub-folder for a hub model, as the catalogue names it ("sd/<name>")."""
    return f"sd/{hub_id.split('/')[-1]}"


def _local_copy(hub_id: str) -> Path:
    """Where the models folder keeps a hub model (the catalogue installs SD 1.5 there too)."""
    return paths.models_dir().joinpath(*_local_folder(hub_id).split("/"))


def hub_model_folder(hub_id: str) -> Path | None:
    """The diffusers folder of `hub_id` on this machine (the models folder, then the Hugging Face cache), or
    None. A few `stat`s, no file is opened: cheap enough for the UI thread."""
    local_copy = _local_copy(hub_id)
    if (local_copy / "model_index.json").is_file():
        return local_copy.resolve()
    return _cached_hub_snapshot(hub_id)


def catalogue_entry_for(hub_id: str) -> CatalogueEntry | None:
    """The model catalogue's entry that installs `hub_id` (its folder is that model's local copy), or None;
    a broken catalogue counts as none (the Models dialog says what is wrong with it)."""

    folder = _local_folder(hub_id)
    try:
        entries = load_catalogue()
    except BadInputError:
        return None
    return next((entry for entry in entries if entry.kind == "sd" and entry.folder == folder), None)


def missing_model(requested: str) -> str | None:
    """The hub id the form names when it is not on this machine, else None (also for paths: the render says what
    is wrong with one). Stats only, so the app can check as the user types."""
    text = requested.strip()
    if not text or _looks_like_path(text) or Path(text).expanduser().exists():
        return None
    return text if hub_model_folder(text) is None else None


def model_missing_text(hub_id: str) -> str:
    """The app's sentence for a hub model that is not on this machine: where to get it without a terminal."""
    entry = catalogue_entry_for(hub_id)
    if entry is not None:
        return (f"{entry.title} is not on this machine yet: download it (about {entry.size_bytes / 1e9:.1f} GB) "
                "in File > Models…, or import a checkpoint you already have there.")
    return (f"The model '{hub_id}' is not on this machine: choose an installed one with the arrow beside the "
            "field, or download or import one in File > Models…")
