"""Training a style as the app runs it: the core LoRA training, then the result added to the LoRA picker.

No Qt here: it runs in a JobWorker thread of the "Train a style" dialog. It adds what the dialog needs
around `TrainLoraJob` — where an unnamed style goes, the checkpoint checks worded for a dialog (Resume
box, not --resume), which checkpoint a cancel kept, and the import that copies the finished LoRA into
`<models>/loras` and lists it in `imported.json`, the index the LoRA picker reads.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from hear2see_desktop.core.errors import BadInputError, CancelledError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.models.importing import KIND_FOLDERS, KIND_LORA, import_lora
from hear2see_desktop.core.models.registry import models_root
from hear2see_desktop.core.training.checkpoints import checkpoints_dir, latest_checkpoint
from hear2see_desktop.core.training.dataset import LoraDataset, load_dataset
from hear2see_desktop.core.training.lora_train import TrainLoraJob, TrainResult, TrainStepFn
from hear2see_desktop.core.training.settings import TrainSettings

log = logging.getLogger(__name__)

TRAINING_FOLDER = "training"
"""`<models>/training/`: trained files with their checkpoints and samples; the picker gets a copy in loras/."""

def training_dir() -> Path:
    return models_root() / TRAINING_FOLDER


def default_output(name: str) -> Path:
    """Where a style called `name` is trained: `<models>/training/<name>.safetensors`."""
    stem = re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "style"
    return training_dir() / f"{stem}.safetensors"


def check_dataset(folder: Path, caption_prefix: str = "") -> LoraDataset:
    """The dataset check the dialog runs when a folder is chosen (it decodes every image: run in a worker)."""
    return load_dataset(folder, caption_prefix)


@dataclass(frozen=True)
class TrainedStyle:
    """The training result, and the LoRA the picker lists (None, with the reason, if it could not be added)."""

    result: TrainResult
    installed: Path | None
    import_error: str = ""


class StyleTrainingJob:
    """One run from the dialog; after a cancel, `kept_checkpoint` says what Resume continues from."""

    def __init__(self, dataset_dir: Path, out_path: Path, settings: TrainSettings, resume: bool = False,
                 on_step: TrainStepFn | None = None) -> None:
        """`on_step(step, steps, loss)` hears each optimizer step (the dialog's loss curve)."""
        self.out_path = Path(out_path).expanduser()
        self.settings = settings
        self.resume = resume
        self.job = TrainLoraJob(dataset_dir, self.out_path, settings, resume=resume, on_step=on_step)
        self.kept_checkpoint: Path | None = None

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> TrainedStyle:
        try:
            self._prepare()
            result = self.job.run(progress, cancelled)
        except CancelledError:
            self.kept_checkpoint = latest_checkpoint(checkpoints_dir(self.out_path))
            raise
        progress(result.steps, self.settings.steps, "Adding the style to the LoRA list", None)
        try:
            installed = import_lora(result.out_path, config_dir=self._config_dir())
        except BadInputError as error:
            log.warning("the trained LoRA %s was not added to the picker: %s", result.out_path, error)
            return TrainedStyle(result, None, str(error))
        return TrainedStyle(result, installed)

    def _prepare(self) -> None:
        """Refuse what would leave the picker with a duplicate, and say in the dialog's words what to do."""
        out = self.out_path
        loras = models_root() / KIND_FOLDERS[KIND_LORA]
        if out.parent.resolve() == loras.resolve():
            raise BadInputError(f"Save the training output outside {loras}: the finished style is copied there "
                                "and listed by itself.")
        if out.parent == training_dir():
            out.parent.mkdir(parents=True, exist_ok=True)
        folder = checkpoints_dir(out)
        latest = latest_checkpoint(folder)
        if self.resume and latest is None:
            raise BadInputError(f"There is no checkpoint to resume in {folder}: untick Resume to start a new run.")
        if not self.resume and latest is not None:
            raise BadInputError(f"{folder} holds checkpoints of an earlier run: tick Resume to continue it, or "
                                "choose another output file (or delete that folder) to start again.")

    def _config_dir(self) -> Path | None:
        """The configs the LoRA is checked against on import: the base's own when it has them, else SD 1.5's."""
        if self.settings.base_config:
            return Path(self.settings.base_config).expanduser()
        base = Path(self.settings.base).expanduser()
        return base if base.is_dir() else None
