"""The GPU-only corners of LoRA training run for real on the CPU: fp16 with a loss scaler, bf16, gradient
checkpointing, and a base model that predicts velocity (v_prediction) rather than noise.

Every run is the tiny pipeline on the 64 px shapes for a few steps; a learning rate of 3e-2 makes the loss fall
clearly within 10 steps of batch 4.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.training import trainer as trainer_module
from hear2see_desktop.core.training.checkpoints import checkpoints_dir, latest_checkpoint, load_checkpoint
from hear2see_desktop.core.training.lora_train import TrainLoraJob, TrainResult, TrainSettings
from hear2see_desktop.core.training.trainer import LoraTrainer, choose_precision, loss_target
from tests.core.training.lora_setup import PROMPT, render
from tests.tiny_dataset import write_shapes_dataset

TINY = TrainSettings(rank=4, alpha=8.0, steps=10, learning_rate=3e-2, resolution=64, batch_size=4, seed=3,
                     device="cpu", every=0)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shapes_dataset(tmp_path_factory.mktemp("shapes") / "shapes")


def train(base: Path, dataset: Path, out: Path, settings: TrainSettings, resume: bool = False) -> TrainResult:
    return TrainLoraJob(dataset, out, replace(settings, base=str(base)), resume=resume).run(no_progress,
                                                                                          never_cancelled)


def metadata_of(path: Path) -> dict[str, str]:
    with safe_open(str(path), "pt") as handle:
        return dict(handle.metadata())


def assert_the_loss_falls(losses: list[float]) -> None:
    assert all(math.isfinite(loss) for loss in losses), losses
    first, last = float(np.mean(losses[:5])), float(np.mean(losses[-5:]))
    assert last < 0.9 * first, f"mean loss went from {first:.3f} to {last:.3f}"


def test_precision_auto_is_fp32_on_the_cpu_and_fp16_bf16_are_there_when_asked_for() -> None:
    cpu = DeviceChoice("cpu", "float32")
    assert choose_precision("auto", cpu).label == "fp32" and not choose_precision("auto", cpu).autocast
    assert choose_precision("fp32", cpu).label == "fp32"
    assert (choose_precision("fp16", cpu).label, choose_precision("fp16", cpu).autocast) == ("fp16", True)
    assert (choose_precision("bf16", cpu).label, choose_precision("bf16", cpu).autocast) == ("bf16", True)
    assert choose_precision("auto", DeviceChoice("mps", "float16")).label == "fp32"
    with pytest.raises(BadInputError, match="runs on a CUDA GPU or the CPU, not mps"):
        choose_precision("fp16", DeviceChoice("mps", "float16"))


def test_gradient_checkpointing_saves_memory_without_changing_the_weights(
    tiny_models: tuple[Path, Path, Path], shapes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same seed with checkpointing on and off (text encoder trained too): the same losses and LoRA weights."""
    checkpoint_calls: list[int] = []
    checkpoint = torch.utils.checkpoint.checkpoint

    def counting_checkpoint(*args: Any, **kwargs: Any) -> Any:
        checkpoint_calls.append(1)
        return checkpoint(*args, **kwargs)

    enabled: list[tuple[bool, bool]] = []
    train_step = LoraTrainer.train_step

    def recording_step(self: LoraTrainer, step: int) -> float:
        text_encoder = self.pipe.text_encoder  # transformers 5 renamed the property
        text_checkpointing = getattr(text_encoder, "is_activation_checkpointing", None)
        if text_checkpointing is None:
            text_checkpointing = text_encoder.is_gradient_checkpointing
        enabled.append((self.pipe.unet.is_gradient_checkpointing, text_checkpointing))
        return train_step(self, step)

    monkeypatch.setattr(torch.utils.checkpoint, "checkpoint", counting_checkpoint)
    monkeypatch.setattr(LoraTrainer, "train_step", recording_step)
    settings = replace(TINY, steps=3, batch_size=2, train_text_encoder=True)
    runs = {}
    for choice in ("off", "on"):
        checkpoint_calls.clear()
        enabled.clear()
        runs[choice] = train(tiny_models[0], shapes, tmp_path / f"{choice}.safetensors",
                             replace(settings, gradient_checkpointing=choice))
        if choice == "on":
            assert enabled == [(True, True)] * 3 and len(checkpoint_calls) > 0
        else:
            assert enabled == [(False, False)] * 3 and checkpoint_calls == []
        assert runs[choice].metadata["gradient_checkpointing"] == choice
        assert metadata_of(runs[choice].out_path)["gradient_checkpointing"] == choice

    assert runs["on"].losses == pytest.approx(runs["off"].losses, rel=0, abs=1e-5)
    with_, without = load_file(str(runs["on"].out_path)), load_file(str(runs["off"].out_path))
    assert set(with_) == set(without) and any(key.startswith("text_encoder.") for key in with_)
    for key, tensor in without.items():
        assert torch.allclose(with_[key], tensor, rtol=0, atol=1e-5), key
    assert any(tensor.abs().max() > 0 for key, tensor in with_.items() if ".lora_B." in key)  # it did train


def test_fp16_on_the_cpu_trains_with_a_loss_scaler_and_the_style_renders(
    tiny_models: tuple[Path, Path, Path], shapes: Path, tmp_path: Path
) -> None:
    from tests.tiny_pipeline import load_tiny_diffusers

    """Two micro-batches of 2 a step: the scaled losses add up, and the scaler unscales and steps once a step."""
    out = tmp_path / "fp16.safetensors"
    settings = replace(TINY, precision="fp16", batch_size=2, grad_accum=2, every=10, validation_prompt=PROMPT,
                       validation_steps=2)
    result = train(tiny_models[0], shapes, out, settings)
    assert len(result.losses) == 10
    assert_the_loss_falls(result.losses)
    assert (metadata_of(out)["precision"], metadata_of(out)["gradient_checkpointing"]) == ("fp16", "off")
    # The loss scaler's state is kept with the checkpoint for a resumed run: still at its initial scale, with
    # 10 updates in a row without an overflow (one per optimizer step, not per micro-batch).
    latest = latest_checkpoint(checkpoints_dir(out))
    assert latest is not None
    scaler = load_checkpoint(latest).grad_scaler
    assert scaler is not None and (scaler["scale"], scaler["_growth_tracker"]) == (2.0**16, 10)
    # The validation image drawn by the half-precision model is a picture, not a NaN-black square.
    (sample,) = result.samples
    pixels = np.asarray(Image.open(sample).convert("RGB"))
    assert pixels.shape == (64, 64, 3) and pixels.std() > 1.0

    pipe = load_tiny_diffusers(tiny_models[0])  # float32, the way a render loads it
    plain = render(pipe)
    pipe.load_lora_weights(str(out))
    styled = render(pipe)
    assert np.abs(styled.astype(int) - plain.astype(int)).mean() > 5.0, "the fp16-trained LoRA changed nothing"

    # The precision is part of what a resumed run must match; gradient checkpointing is not.
    with pytest.raises(BadInputError, match=r"different precision \(fp16, not fp32\)"):
        train(tiny_models[0], shapes, out, replace(settings, precision="fp32"), resume=True)
    resumed = train(tiny_models[0], shapes, out, replace(settings, gradient_checkpointing="on",
                                                         validation_prompt=None), resume=True)
    assert resumed.losses == result.losses and resumed.metadata["gradient_checkpointing"] == "on"


def test_bf16_on_the_cpu_trains_without_a_loss_scaler(
    tiny_models: tuple[Path, Path, Path], shapes: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bf16.safetensors"
    result = train(tiny_models[0], shapes, out, replace(TINY, steps=3, every=3, precision="bf16"))
    assert len(result.losses) == 3 and all(math.isfinite(loss) for loss in result.losses)
    assert metadata_of(out)["precision"] == "bf16"
    latest = latest_checkpoint(checkpoints_dir(out))
    assert latest is not None and load_checkpoint(latest).grad_scaler is None  # bf16 has fp32's range
    assert all(torch.isfinite(tensor).all() for tensor in load_file(str(out)).values())


def test_the_loss_target_is_the_noise_or_the_velocity_by_the_schedulers_prediction_type() -> None:
    from diffusers import DDPMScheduler

    schedule = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn((3, 4, 8, 8), generator=generator)
    noise = torch.randn((3, 4, 8, 8), generator=generator)
    timesteps = torch.tensor([0, 500, 999])

    epsilon = DDPMScheduler(**schedule, prediction_type="epsilon")
    assert loss_target(epsilon, latents, noise, timesteps) is noise
    v = DDPMScheduler(**schedule, prediction_type="v_prediction")
    alpha_bar = v.alphas_cumprod[timesteps].view(3, 1, 1, 1)
    velocity = alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * latents  # by hand: Salimans & Ho 2022, eq. 9
    assert torch.allclose(loss_target(v, latents, noise, timesteps), velocity, rtol=0, atol=1e-6)


def test_a_v_prediction_base_trains_on_the_velocity(
    tiny_models: tuple[Path, Path, Path], shapes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = shutil.copytree(tiny_models[0], tmp_path / "tiny-v")
    config_path = base / "scheduler" / "scheduler_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config_path.write_text(json.dumps({**config, "prediction_type": "v_prediction"}), encoding="utf-8")

    targets: list[tuple[str, bool]] = []

    def recording_target(noise_scheduler: Any, latents: Any, noise: Any, timesteps: Any) -> Any:
        target = loss_target(noise_scheduler, latents, noise, timesteps)
        targets.append((noise_scheduler.config.prediction_type, torch.equal(target, noise)))
        return target

    monkeypatch.setattr(trainer_module, "loss_target", recording_target)
    result = train(base, shapes, tmp_path / "v.safetensors", TINY)
    assert targets == [("v_prediction", False)] * 10  # one micro-batch a step, each against the velocity
    assert_the_loss_falls(result.losses)
