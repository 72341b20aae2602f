"""The toy TAESD and LCM-LoRA where the app looks for the real ones, in a throwaway models folder.

The app finds TAESD and the LCM-LoRA through its model manager (`installed_taesd()`,
`installed_lcm_lora()`): a catalogue entry counts as installed when its files lie under their catalogue
names in the models folder. A download checks hashes before it renames a file to that name, and keeps
no record of having done so, so copying a folder into a models folder is what installing is for the
registry (as when a user moves their models folder). Here the toy models are copied into a fresh
temporary folder made the models folder through the app's own override, $HEAR2SEE_MODELS_DIR, for
one block of code only: the user's folders are never touched and nothing pretends to be a download.

Test and bench infrastructure only: never behind a user-facing default.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def install_entry(name: str, source: Path, root: Path) -> Path:
    """Copy `source` (a folder holding the entry's files, or the one file of a single-file entry) to where
    catalogue entry `name` installs under the models folder `root`; returns the path the app will use."""
    from hear2see_desktop.core.models.catalogue import find_entry
    from hear2see_desktop.core.models.download import final_path
    from hear2see_desktop.core.models.registry import entry_path, is_installed

    entry = find_entry(name)
    install = entry.install_dir(root)
    for file in entry.files:
        origin = source / file.path if source.is_dir() else source
        if not origin.is_file():
            raise FileNotFoundError(f"{origin} is missing: the catalogue's {name} needs {file.path}.")
        target = final_path(install, file)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)
    if not is_installed(entry, root):
        raise RuntimeError(f"The registry does not see {name} as installed in {root}.")
    return entry_path(entry, root)


@contextmanager
def toy_models_folder(taesd: Path | None = None, lcm_lora: Path | None = None) -> Iterator[Path]:
    """A temporary models folder holding the given toy models under their catalogue names, made the app's
    models folder ($HEAR2SEE_MODELS_DIR) while the block runs; the previous setting comes back after."""
    from hear2see_desktop.core.models.registry import MODELS_DIR_ENV_VAR
    from hear2see_desktop.core.render.lcm import LCM_ENTRY
    from hear2see_desktop.core.render.taesd import TAESD_ENTRY

    before = os.environ.get(MODELS_DIR_ENV_VAR)
    with tempfile.TemporaryDirectory(prefix="hear2see-toy-models-") as tmp:
        root = Path(tmp)
        if taesd is not None:
            install_entry(TAESD_ENTRY, taesd, root)
        if lcm_lora is not None:
            install_entry(LCM_ENTRY, lcm_lora, root)
        os.environ[MODELS_DIR_ENV_VAR] = str(root)
        try:
            yield root
        finally:
            if before is None:
                os.environ.pop(MODELS_DIR_ENV_VAR, None)
            else:
                os.environ[MODELS_DIR_ENV_VAR] = before
