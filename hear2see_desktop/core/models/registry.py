"""What is installed where: the models root the user chose, each catalogue entry's state, removal.

The root is `paths.models_dir()` ($HEAR2SEE_MODELS_DIR, else the folder saved here in models-location.json,
else `<data_dir>/models`), so every model lookup in the app follows the user's choice. Removal deletes only
what the catalogue entry installed, and only inside the models root.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import write_bytes_atomically
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.models.catalogue import CatalogueEntry, find_entry, load_catalogue
from hear2see_desktop.core.models.download import final_path, part_path

MODELS_DIR_ENV_VAR = "HEAR2SEE_MODELS_DIR"


@dataclass(frozen=True)
class ModelState:
    """One catalogue entry on this machine: `path` is its folder (its file for a single-file entry),
    `partial_bytes` what a stopped download left in `.part` files (the next download resumes it)."""

    entry: CatalogueEntry
    path: Path
    installed: bool
    partial_bytes: int

    @property
    def state(self) -> str:
        """"installed", "partial" (a download can resume) or "missing"."""
        if self.installed:
            return "installed"
        return "partial" if self.partial_bytes else "missing"


def models_root() -> Path:
    """The folder models are installed into and looked up in (see the module docstring for the order)."""
    return paths.models_dir()


def models_root_override() -> str | None:
    """$HEAR2SEE_MODELS_DIR when it is set: it outranks the chosen folder, which the user should be told."""
    return os.environ.get(MODELS_DIR_ENV_VAR, "").strip() or None


def set_models_root(folder: str | os.PathLike[str] | None) -> Path:
    """Remember `folder` as the models root (None: back to the default); returns the root now in effect.

    The folder is created when missing and must be writable; models already installed are not moved.
    """
    location = paths.models_location_path()
    if folder is None or not str(folder).strip():
        location.unlink(missing_ok=True)
        return models_root()
    chosen = Path(folder).expanduser().absolute()
    if chosen.exists() and not chosen.is_dir():
        raise BadInputError(f"{chosen} is a file, not a folder: choose a folder for the models.")
    try:
        chosen.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=chosen, prefix=".hear2see-write-test-"):
            pass
    except OSError as error:
        raise BadInputError(
            f"The models folder {chosen} cannot be written to ({error.strerror or error}): choose a folder you "
            "can write to."
        ) from error
    location.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(location, (json.dumps({"models_dir": str(chosen)}, indent=2) + "\n").encode("utf-8"))
    return models_root()


def entry_path(entry: CatalogueEntry, root: Path) -> Path:
    """What to point the app at: the entry's folder, or its one file when it is a single file (a LoRA)."""
    install = entry.install_dir(root)
    if len(entry.files) == 1 and not entry.files[0].unpack:
        return final_path(install, entry.files[0])
    return install


def is_installed(entry: CatalogueEntry, root: Path) -> bool:
    """An archive counts once its marker is unpacked; loose files once every one is under its final name."""
    install = entry.install_dir(root)
    if entry.is_archive:
        return (install / entry.marker).exists()
    return all(final_path(install, file).is_file() for file in entry.files)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def model_state(entry: CatalogueEntry, root: Path | None = None) -> ModelState:
    """The state of one entry under `root` (default: the models root)."""
    root = root or models_root()
    install = entry.install_dir(root)
    partial = sum(_size(part_path(install, file)) for file in entry.files)
    if entry.is_archive:  # a zip fetched but not yet unpacked (the unpack was cancelled) counts too
        partial += sum(_size(final_path(install, file)) for file in entry.files)
    return ModelState(entry, entry_path(entry, root), is_installed(entry, root), partial)


def model_states(entries: list[CatalogueEntry] | None = None) -> list[ModelState]:
    """Every catalogue entry with its state, in catalogue order (what `models list` and the dialog show)."""
    root = models_root()
    return [model_state(entry, root) for entry in (entries if entries is not None else load_catalogue())]


def _inside(path: Path, root: Path) -> bool:
    """True when `path` lies strictly below `root` (compared without following links)."""
    path_abs, root_abs = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    return path_abs != root_abs and path_abs.is_relative_to(root_abs)


def _tree_bytes(folder: Path) -> int:
    return sum(_size(path) for path in folder.rglob("*")) if folder.is_dir() else 0


def remove(name: str, root: Path | None = None) -> int:
    """Delete what catalogue entry `name` installed (and any partial download); returns the bytes freed.

    Only paths inside the models root are touched; files the user added beside them are kept.
    """
    entry = find_entry(name)
    root = root or models_root()
    install = entry.install_dir(root)
    if not _inside(install, root):
        raise BadInputError(f"The catalogue puts {entry.name} at {install}, outside the models folder {root}: "
                            "it was not removed.")
    freed = 0
    for file in entry.files:
        for path in (final_path(install, file), part_path(install, file)):
            if _inside(path, root) and path.is_file():
                freed += _size(path)
                path.unlink()
    if entry.is_archive and install.is_symlink():
        install.unlink()
    elif entry.is_archive and install.is_dir():
        freed += _tree_bytes(install)
        shutil.rmtree(install)
    elif install.is_dir():
        folders: set[Path] = set()
        for file in entry.files:
            folder = final_path(install, file).parent
            while folder != install and _inside(folder, install):
                folders.add(folder)
                folder = folder.parent
        for folder in [*sorted(folders, key=lambda path: -len(path.parts)), install]:
            if _inside(folder, root) and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    return freed
