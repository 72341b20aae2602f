"""The LoRA training job: a folder of captioned images in, a `.safetensors` style the renderer loads out.

Stages: check the settings, the output path, the dataset and the base model (all before any progress, so a
bad input fails in a moment with one sentence) -> load the base model -> encode every image once -> train,
with a checkpoint and a validation image every `every` steps -> write the LoRA through a temporary name.
Cancelling saves a checkpoint of the steps done and leaves nothing under the output name; `resume=True`
continues from the newest checkpoint of the same run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from hear2see_desktop import __version__
from hear2see_desktop.core.errors import BadInputError, CancelledError, Fix, Hear2SeeError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.render import pipeline_cache
from hear2see_desktop.core.render.devices import DeviceChoice, resolve_device
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.weights_hash import weights_sha256
from hear2see_desktop.core.render_context import save_png
from hear2see_desktop.core.training.adapters import write_safetensors
from hear2see_desktop.core.training.checkpoints import (
    Checkpoint,
    checkpoints_dir,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
    step_dir_name,
)
from hear2see_desktop.core.training.dataset import LoraDataset, load_dataset
from hear2see_desktop.core.training.latents import encode_images
from hear2see_desktop.core.training.settings import TrainSettings
from hear2see_desktop.core.training.trainer import LoraTrainer, TrainingFailedError, choose_precision

__all__ = ["TrainLoraJob", "TrainResult", "TrainSettings", "TrainingFailedError", "check_output_path",
           "samples_dir"]

log = logging.getLogger(__name__)

# What a resumed run must share with the run that wrote the checkpoint, and how to name it to the user. The
# precision (as resolved: auto on a GPU is bf16 or fp16) changes the arithmetic of every step, so a resumed run
# would not end where the uninterrupted one does; the device and gradient checkpointing leave it as it is.
_IDENTITY_NAMES = {
    "base_sha256": "base model",
    "dataset_sha256": "dataset (images and captions)",
    "rank": "rank",
    "alpha": "alpha",
    "train_text_encoder": "text encoder choice",
    "resolution": "resolution",
    "batch_size": "batch size",
    "grad_accum": "gradient accumulation",
    "learning_rate": "learning rate",
    "seed": "seed",
    "flip": "flip choice",
    "precision": "precision",
}


class _HalfOnCpuWarning(logging.Filter):
    """Drops diffusers' warning that a float16 pipeline "cannot run" on the CPU: under autocast it trains fine."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "cannot run with `cpu` device" not in record.getMessage()


@dataclass
class TrainResult:
    """The written LoRA, how far it was trained, the loss of every step, and where the extras went."""

    out_path: Path
    steps: int
    final_loss: float
    losses: list[float]
    checkpoint_dir: Path | None
    samples: list[Path] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def check_output_path(out_path: Path) -> None:
    """Refuse an output we can't write before doing any work."""
    if out_path.suffix.lower() != ".safetensors":
        raise BadInputError(f"The output {out_path.name} must end in .safetensors.")
    if out_path.is_dir():
        raise BadInputError(f"The output {out_path} is a folder: give a file name ending in .safetensors.")
    if not out_path.parent.is_dir():
        raise BadInputError(f"The folder {out_path.parent} does not exist: create it or choose another output.")


def samples_dir(out_path: Path) -> Path:
    """`style.safetensors` -> `style.samples`, where the validation images go."""
    return out_path.with_name(f"{out_path.stem}.samples")


TrainStepFn = Callable[[int, int, float], None]
"""Hears one finished optimizer step: (step, steps, loss)."""


class TrainLoraJob:
    """Trains one LoRA; see the module docstring for the stages."""

    def __init__(self, dataset_dir: Path, out_path: Path, settings: TrainSettings, resume: bool = False,
                 on_step: TrainStepFn | None = None) -> None:
        """`on_step(step, steps, loss)` hears each optimizer step as it ends (a loss curve), in the worker's thread."""
        self.on_step = on_step
        self.dataset_dir = Path(dataset_dir).expanduser()
        self.out_path = Path(out_path).expanduser()
        self.settings = settings
        self.resume = resume

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> TrainResult:

        settings = self.settings
        settings.validate()
        check_output_path(self.out_path)
        dataset = load_dataset(self.dataset_dir, settings.caption_prefix)
        if settings.batch_size > len(dataset.examples):
            raise BadInputError(f"The batch size {settings.batch_size} is larger than the dataset's "
                                f"{len(dataset.examples)} images: lower ", Fix("batch_size"), ".")
        source = resolve_model_source(settings.base, settings.base_config)
        device = resolve_device(settings.device)
        precision = choose_precision(settings.precision, device)
        checkpoint_path = self._checkpoint_to_resume()
        raise_if_cancelled(cancelled)
        try:
            return self._train(dataset, source, device, precision, checkpoint_path, progress, cancelled)
        except (Hear2SeeError, KeyboardInterrupt):
            raise
        except (RuntimeError, MemoryError) as error:
            log.exception("LoRA training failed")
            if "out of memory" in str(error).lower() or isinstance(error, MemoryError):
                raise TrainingFailedError(
                    f"Training ran out of memory at {settings.resolution} px, batch {settings.batch_size}: lower ",
                    Fix("resolution"), " or ", Fix("batch_size"), " (raise ", Fix("grad_accum"),
                    " to keep the effective batch)."
                ) from error
            raise TrainingFailedError(f"Training failed ({type(error).__name__}: {str(error)[:200]}).") from error

    def _checkpoint_to_resume(self) -> Path | None:
        folder = checkpoints_dir(self.out_path)
        latest = latest_checkpoint(folder)
        if self.resume and latest is None:
            raise BadInputError(f"There is no checkpoint to resume in {folder}: start a new run without ",
                                Fix("resume"), ".")
        if not self.resume and latest is not None:
            raise BadInputError(f"{folder} holds checkpoints of an earlier run: continue it with ", Fix("resume"),
                                ", or delete that folder to start again.")
        return latest

    def _identity(self, dataset: LoraDataset, base_sha256: str, precision: str) -> dict[str, Any]:
        settings = self.settings
        return {"base_sha256": base_sha256, "dataset_sha256": dataset.sha256, "rank": settings.rank,
                "alpha": settings.lora_alpha, "train_text_encoder": settings.train_text_encoder,
                "resolution": settings.resolution, "batch_size": settings.batch_size,
                "grad_accum": settings.grad_accum, "learning_rate": settings.learning_rate, "seed": settings.seed,
                "flip": settings.flip, "precision": precision}

    @staticmethod
    def _check_identity(checkpoint: Checkpoint, identity: dict[str, Any], folder: Path) -> None:
        for key, name in _IDENTITY_NAMES.items():
            if key not in checkpoint.identity:  # written before the key was recorded (precision)
                continue
            saved = checkpoint.identity[key]
            if saved != identity[key]:
                what = "changed" if key.endswith("sha256") else f"{saved}, not {identity[key]}"
                raise BadInputError(f"The checkpoints in {folder} were made with a different {name} ({what}): "
                                    "train with the same settings to resume, or delete that folder to start again.")

    def _train(self, dataset: LoraDataset, source: Any, device: Any, precision: Any, checkpoint_path: Path | None,
               progress: ProgressFn, cancelled: CancelledFn) -> TrainResult:

        settings = self.settings
        folder = checkpoints_dir(self.out_path)
        progress(0, 1, "Checking the base model", None)
        identity = self._identity(dataset, weights_sha256(source.path), precision.label)
        checkpoint = load_checkpoint(checkpoint_path) if checkpoint_path is not None else None
        if checkpoint is not None:
            self._check_identity(checkpoint, identity, folder)
        raise_if_cancelled(cancelled)

        progress(0, 1, "Loading the base model", None)
        if device.device != "cpu":
            pipeline_cache.release()  # a render's cached model would hold GPU memory training needs
        started = time.perf_counter()
        # The render's loader, not its cache: training adds layers to this copy of the model.
        diffusers_log = logging.getLogger("diffusers.pipelines.pipeline_utils")
        quiet = _HalfOnCpuWarning()
        diffusers_log.addFilter(quiet)
        try:
            pipe = pipeline_cache.load_pipeline(source, DeviceChoice(device.device, precision.weights))
        finally:
            diffusers_log.removeFilter(quiet)
        log.info("base model %s loaded in %.1f s (%s, %s)", source.path, time.perf_counter() - started,
                 device.device, precision.label)
        raise_if_cancelled(cancelled)
        latents = encode_images(pipe.vae, [e.image_path for e in dataset.examples], settings.resolution,
                                settings.flip, progress, cancelled)
        trainer = LoraTrainer(pipe, settings, dataset.captions, latents, precision)
        log.info("gradient checkpointing %s", "on" if trainer.gradient_checkpointing else "off")
        losses: list[float] = []
        step = 0
        if checkpoint is not None:
            trainer.restore(checkpoint)
            losses, step = list(checkpoint.losses), checkpoint.step
            log.info("resuming from %s at step %d", checkpoint.path, step)
        saved_step = step
        samples: list[Path] = []
        sampled_step = -1
        total = settings.steps
        progress(min(step, total), total, f"Training, step {step}/{total}", None)
        while step < total:
            if cancelled():
                self._stop(trainer, step, saved_step, losses, identity, folder)
            loss = trainer.train_step(step)
            step += 1
            losses.append(loss)
            if self.on_step is not None:
                self.on_step(step, total, loss)
            message = f"Training, step {step}/{total}, loss {loss:.4f}"
            progress(step, total, message, None)
            due = settings.every > 0 and step % settings.every == 0
            if settings.validation_prompt and (due or step == total):
                samples.append(self._sample(trainer, step, message, progress))
                sampled_step = step
            if due or (settings.every > 0 and step == total):
                save_checkpoint(folder, trainer.checkpoint(step, losses, identity))
                saved_step = step
        if settings.validation_prompt and sampled_step != step:  # resumed at or past the last step
            samples.append(self._sample(trainer, step, f"Training, step {step}/{total}", progress))
        return self._write(trainer, dataset, identity, step, losses, samples)

    def _stop(self, trainer: Any, step: int, saved_step: int, losses: list[float], identity: dict[str, Any],
              folder: Path) -> NoReturn:
        """Cancel: keep the steps done as a checkpoint (when checkpoints are on), then raise."""
        if step == 0:
            raise CancelledError("Training cancelled before the first step; nothing was saved.")
        if self.settings.every == 0:
            raise CancelledError(f"Training cancelled after step {step}; no checkpoint was kept (",
                                 Fix("every", "0"), ").")
        if step > saved_step:
            save_checkpoint(folder, trainer.checkpoint(step, losses, identity))
        raise CancelledError(f"Training cancelled after step {step}: {folder / step_dir_name(step)} keeps it; "
                             "run again with ", Fix("resume"), " to continue.")

    def _sample(self, trainer: Any, step: int, message: str, progress: ProgressFn) -> Path:

        assert self.settings.validation_prompt
        rgb = trainer.validation_image(self.settings.validation_prompt)
        path = samples_dir(self.out_path) / f"{step_dir_name(step)}.png"
        save_png(rgb, path)
        progress(step, self.settings.steps, message, rgb)
        return path

    def _write(self, trainer: Any, dataset: LoraDataset, identity: dict[str, Any], step: int,
               losses: list[float], samples: list[Path]) -> TrainResult:

        settings = self.settings
        metadata = {
            "software": f"hear2see {__version__}",
            "base_model": settings.base,
            "base_model_sha256": identity["base_sha256"],
            "rank": str(settings.rank),
            "alpha": f"{settings.lora_alpha:g}",
            "alpha_folded_into_lora_B": "true",
            "steps": str(step),
            "dataset_sha256": dataset.sha256,
            "images": str(len(dataset.examples)),
            "caption_prefix": settings.caption_prefix,
            "resolution": str(settings.resolution),
            "seed": str(settings.seed),
            "learning_rate": f"{settings.learning_rate:g}",
            "batch_size": str(settings.batch_size),
            "grad_accum": str(settings.grad_accum),
            "train_text_encoder": str(settings.train_text_encoder).lower(),
            "precision": trainer.precision.label,
            "gradient_checkpointing": "on" if trainer.gradient_checkpointing else "off",
            "final_loss": f"{losses[-1]:.6f}" if losses else "",
            "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_safetensors(trainer.exported(), self.out_path, metadata)
        folder = checkpoints_dir(self.out_path)
        return TrainResult(out_path=self.out_path, steps=step, final_loss=losses[-1] if losses else float("nan"),
                           losses=losses, checkpoint_dir=folder if folder.is_dir() else None, samples=samples,
                           metadata=metadata)
