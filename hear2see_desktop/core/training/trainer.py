"""One optimizer step at a time on a loaded pipeline: LoRA layers, AdamW, warm-up then cosine, MSE loss.

The loss is the usual one SD 1.5 was trained with: noise the cached latents to a random timestep with the
model's own DDPM schedule and regress the UNet's output on the noise (epsilon) or on the velocity (when the
scheduler config says v_prediction). Every random choice of a step (which images, flips, latent samples,
noise, timesteps) comes from a CPU generator seeded by (seed, step, micro-batch) rather than from a running
random stream, so a run resumed from a checkpoint draws exactly what the uninterrupted run would have, on
any device.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import BadInputError, Fix, Hear2SeeError
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.training.adapters import (
    TEXT_ENCODER_TARGETS,
    UNET_TARGETS,
    add_lora,
    export_state,
    load_lora_state,
    lora_state,
)
from hear2see_desktop.core.training.checkpoints import Checkpoint, restore_rng, rng_state
from hear2see_desktop.core.training.latents import CachedLatents
from hear2see_desktop.core.training.settings import TrainSettings

MAX_GRAD_NORM = 1.0
WEIGHT_DECAY = 1e-2
_TEXT_CHUNK = 16


class TrainingFailedError(Hear2SeeError):
    """Training itself failed (out of memory, a diverging loss); the message says what to lower."""

    exit_code = 4


@dataclass(frozen=True)
class Precision:
    """The dtype the frozen weights are held in, and whether forward passes run under autocast."""

    weights: str  # "float32", "float16" or "bfloat16"
    autocast: bool

    @property
    def label(self) -> str:
        """fp32 / fp16 / bf16, for the metadata and the log."""
        return {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}[self.weights]


def choose_precision(requested: str, device: DeviceChoice) -> Precision:
    """fp16 / bf16 autocast when asked for, on a CUDA GPU or the CPU; auto is mixed precision on a CUDA GPU only.

    auto picks bf16 where the GPU has it, else fp16, and float32 on every other device: on the CPU, training the
    tiny test model ran about 4x slower in fp16 and 2x slower in bf16 than in float32 (one thread, AVX-512
    with bf16), so there they only buy memory (the frozen weights in half the bytes) and are left to an
    explicit choice.
    """
    import torch

    if requested == "fp32" or (requested == "auto" and device.device != "cuda"):
        return Precision("float32", False)
    if device.device not in ("cuda", "cpu"):
        raise BadInputError(f"Mixed precision ({requested}) runs on a CUDA GPU or the CPU, not {device.device}: use ",
                            Fix("precision", "auto"), " or ", Fix("precision", "fp32"), " there.")
    if requested == "auto":
        requested = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return Precision("bfloat16" if requested == "bf16" else "float16", True)


def use_gradient_checkpointing(requested: str, device: str) -> bool:
    """Whether activations are recomputed in the backward pass: on/off as asked; auto: on a CUDA GPU only.

    Checkpointing trades compute (the forward pass of each block runs again in the backward pass) for the
    activation memory a GPU is short of; it gives the same gradients, so it is left out of what a resumed run
    must match.
    """
    return requested == "on" or (requested == "auto" and device == "cuda")


def loss_target(noise_scheduler: Any, latents: Any, noise: Any, timesteps: Any) -> Any:
    """What the UNet is trained to output for `latents` noised with `noise` at `timesteps`.

    epsilon: the noise itself; v_prediction: the velocity sqrt(alpha_bar_t) * noise - sqrt(1 - alpha_bar_t) *
    latents (Salimans & Ho 2022), from the scheduler's own alpha_bar. Shapes are those of `latents`.
    """
    if noise_scheduler.config.prediction_type == "v_prediction":
        return noise_scheduler.get_velocity(latents, noise, timesteps)
    return noise


def _enable_text_encoder_checkpointing(text_encoder: Any) -> None:
    """Non-reentrant activation checkpointing in the CLIP text encoder (the method's name changed in transformers 5)."""
    kwargs = {"use_reentrant": False}
    enable = getattr(text_encoder, "activation_checkpointing_enable", None)
    if enable is not None:
        enable(activation_checkpointing_kwargs=kwargs)
    else:
        text_encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)


def mix_seed(*numbers: int) -> int:
    """A well-mixed 63-bit seed from several integers (so seeds of neighbouring steps are unrelated)."""
    return int(np.random.SeedSequence([int(n) for n in numbers]).generate_state(1, dtype=np.uint64)[0] >> 1)


class LoraTrainer:
    """The trainable state of one run on `pipe`; `train_step(step)` does one optimizer step."""

    def __init__(self, pipe: Any, settings: TrainSettings, captions: list[str], latents: CachedLatents,
                 precision: Precision) -> None:
        import torch
        from diffusers import DDPMScheduler
        from diffusers.optimization import get_scheduler
        from diffusers.training_utils import cast_training_params

        self.pipe = pipe
        self.settings = settings
        self.latents = latents
        self.precision = precision
        self.device = pipe.unet.device
        self.dtype = getattr(torch, precision.weights)
        self.noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.prediction_type = self.noise_scheduler.config.prediction_type
        if self.prediction_type not in ("epsilon", "v_prediction"):
            raise BadInputError(f"The base model predicts '{self.prediction_type}', which LoRA training here does "
                                "not support: use an SD 1.5 model that predicts epsilon or v.")
        self.count = len(captions)
        self._permutations: dict[int, list[int]] = {}

        pipe.vae.requires_grad_(False)
        pipe.text_encoder.requires_grad_(False)
        with torch.random.fork_rng(devices=[]):  # the LoRA A matrices start from the seed; the caller's RNG is kept
            torch.manual_seed(settings.seed)
            parameters = add_lora(pipe.unet, UNET_TARGETS, settings.rank, settings.lora_alpha)
            if settings.train_text_encoder:
                parameters += add_lora(pipe.text_encoder, TEXT_ENCODER_TARGETS, settings.rank, settings.lora_alpha)
        # Half-precision frozen weights, float32 LoRA weights and optimizer, on the CPU as on a GPU. Measured on
        # the tiny model (30 steps, 64 px, batch 4): frozen fp16 (and bf16) weights on the CPU give finite losses
        # within 1e-3 of float32's, falling just as far, at the speed of float32 weights under the same autocast,
        # so the CPU keeps the memory they save rather than holding a float32 copy.
        if self.dtype != torch.float32:
            cast_training_params([pipe.unet, pipe.text_encoder], dtype=torch.float32)
        self.parameters = parameters
        self.gradient_checkpointing = use_gradient_checkpointing(settings.gradient_checkpointing, self.device.type)
        if self.gradient_checkpointing:
            pipe.unet.enable_gradient_checkpointing()
            if settings.train_text_encoder:
                _enable_text_encoder_checkpointing(pipe.text_encoder)

        tokenizer = pipe.tokenizer
        self.token_ids = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length,
                                   truncation=True, return_tensors="pt").input_ids
        self.text_embeds = None if settings.train_text_encoder else self._encode_all()

        self.optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, betas=(0.9, 0.999),
                                           weight_decay=WEIGHT_DECAY, eps=1e-8)
        self.lr_scheduler = get_scheduler("cosine", self.optimizer, num_warmup_steps=settings.warmup,
                                          num_training_steps=settings.steps)
        # fp16 gradients underflow without loss scaling; bf16 has float32's range and needs none.
        use_scaler = self.dtype == torch.float16
        self.grad_scaler = torch.amp.GradScaler(self.device.type) if use_scaler else None

    # ------------------------------------------------------------------------------------------------
    # Inputs of a step

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        import torch

        if not self.precision.autocast:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _encode_all(self) -> Any:
        """Frozen text encoder: every caption's embedding once, float32 on the CPU."""
        import torch

        chunks = []
        with torch.no_grad(), self._autocast():
            for start in range(0, self.count, _TEXT_CHUNK):
                ids = self.token_ids[start:start + _TEXT_CHUNK].to(self.device)
                chunks.append(self.pipe.text_encoder(ids)[0].float().cpu())
        return torch.cat(chunks)

    def _permutation(self, epoch: int) -> list[int]:
        import torch

        if epoch not in self._permutations:
            for old in [e for e in self._permutations if e < epoch - 1]:
                del self._permutations[old]
            generator = torch.Generator().manual_seed(mix_seed(self.settings.seed, 1, epoch))
            self._permutations[epoch] = torch.randperm(self.count, generator=generator).tolist()
        return self._permutations[epoch]

    def batch_indices(self, step: int, micro: int) -> list[int]:
        """The examples of one micro-batch: a stream of seeded per-epoch shuffles, `batch_size` at a time."""
        batch = self.settings.batch_size
        start = (step * self.settings.grad_accum + micro) * batch
        return [self._permutation(p // self.count)[p % self.count] for p in range(start, start + batch)]

    # ------------------------------------------------------------------------------------------------
    # Training

    def _micro_batch_loss(self, step: int, micro: int) -> Any:
        import torch
        import torch.nn.functional as F

        settings = self.settings
        indices = self.batch_indices(step, micro)
        generator = torch.Generator().manual_seed(mix_seed(settings.seed, 0, step, micro))
        if settings.flip:
            flips = (torch.rand(len(indices), generator=generator) < 0.5).tolist()
        else:
            flips = [False] * len(indices)
        latents = torch.stack([self.latents.sample(i, f, generator) for i, f in zip(indices, flips, strict=True)])
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (len(indices),),
                                  generator=generator)
        latents, noise, timesteps = latents.to(self.device), noise.to(self.device), timesteps.to(self.device)
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        target = loss_target(self.noise_scheduler, latents, noise, timesteps)
        with self._autocast():
            if self.text_embeds is None:
                hidden = self.pipe.text_encoder(self.token_ids[indices].to(self.device))[0]
            else:
                hidden = self.text_embeds[indices].to(self.device, self.dtype)
            prediction = self.pipe.unet(noisy.to(self.dtype), timesteps, hidden).sample
        return F.mse_loss(prediction.float(), target.float())

    def train_step(self, step: int) -> float:
        """One optimizer step (over `grad_accum` micro-batches) as step number `step` (0-based); its mean loss."""
        import torch

        self.pipe.unet.train()
        if self.settings.train_text_encoder:
            self.pipe.text_encoder.train()
        accum = self.settings.grad_accum
        total = 0.0
        for micro in range(accum):
            loss = self._micro_batch_loss(step, micro) / accum
            (self.grad_scaler.scale(loss) if self.grad_scaler else loss).backward()
            total += float(loss.detach())
        if not math.isfinite(total) and self.grad_scaler is None:
            raise TrainingFailedError(f"The training loss became {total} at step {step + 1}: lower ",
                                      Fix("learning_rate"), f" (now {self.settings.learning_rate:g}) and start again.")
        if self.grad_scaler is not None:
            self.grad_scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.parameters, MAX_GRAD_NORM)
        if self.grad_scaler is not None:
            self.grad_scaler.step(self.optimizer)  # skips a step whose gradients overflowed
            self.grad_scaler.update()
        else:
            self.optimizer.step()
        self.lr_scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return total

    # ------------------------------------------------------------------------------------------------
    # Pictures, checkpoints, the result

    def validation_image(self, prompt: str) -> np.ndarray:
        """The validation prompt drawn at the training resolution with the run's seed (HxWx3 uint8 RGB)."""
        import torch

        pipe, settings = self.pipe, self.settings
        pipe.unet.eval()
        pipe.text_encoder.eval()
        generator = torch.Generator(device="cpu").manual_seed(settings.seed)
        with self._autocast():
            image = pipe(prompt, num_inference_steps=settings.validation_steps, generator=generator,
                         height=settings.resolution, width=settings.resolution, output_type="np").images[0]
        return (np.clip(image, 0.0, 1.0) * 255.0).round().astype(np.uint8)

    def adapters(self) -> dict[str, dict[str, Any]]:
        """The LoRA weights as trained, by component."""
        found = {"unet": lora_state(self.pipe.unet)}
        if self.settings.train_text_encoder:
            found["text_encoder"] = lora_state(self.pipe.text_encoder)
        return found

    def checkpoint(self, step: int, losses: list[float], identity: dict[str, Any]) -> Checkpoint:
        """Everything needed to continue after `step` optimizer steps."""
        return Checkpoint(step=step, adapters=self.adapters(), optimizer=self.optimizer.state_dict(),
                          lr_scheduler=self.lr_scheduler.state_dict(), rng=rng_state(),
                          grad_scaler=self.grad_scaler.state_dict() if self.grad_scaler else None,
                          losses=list(losses), identity=identity)

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from `checkpoint` (made by a run with the same identity)."""
        load_lora_state(self.pipe.unet, checkpoint.adapters["unet"])
        if self.settings.train_text_encoder:
            load_lora_state(self.pipe.text_encoder, checkpoint.adapters["text_encoder"])
        self.optimizer.load_state_dict(checkpoint.optimizer)
        self.lr_scheduler.load_state_dict(checkpoint.lr_scheduler)
        if self.grad_scaler is not None and checkpoint.grad_scaler:
            self.grad_scaler.load_state_dict(checkpoint.grad_scaler)
        restore_rng(checkpoint.rng)

    def exported(self) -> dict[str, Any]:
        """The tensors of the output file (see adapters.export_state)."""
        weights = self.adapters()
        return export_state(weights["unet"], weights.get("text_encoder"), self.settings.rank,
                            self.settings.lora_alpha)
