"""The toy TAESD's plumbing (a few training steps): the app's model manager finds it, loads it, decodes with it."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def test_a_few_steps_of_distillation_give_a_taesd_the_app_finds_and_decodes_with(tmp_path: Path) -> None:
    from hear2see_desktop.core.models.registry import MODELS_DIR_ENV_VAR
    from hear2see_desktop.core.render.taesd import installed_taesd, load_taesd, require_taesd, taesd_decode
    from tests.toyworld import sd, taesd
    from tests.toyworld.install import toy_models_folder

    trained = taesd.train_taesd(sd.make_vae().eval(), taesd.TaesdTraining(steps=2, batch=2, pictures=4),
                                log=lambda _: None)
    packed = taesd.pack(trained, tmp_path / "taesd.safetensors", teacher="0123456789abcdef")
    folder, teacher = taesd.unpack(packed, tmp_path / "taesd")
    assert teacher == "0123456789abcdef"
    assert installed_taesd() is None

    with toy_models_folder(taesd=folder) as root:
        assert os.environ[MODELS_DIR_ENV_VAR] == str(root)
        found = require_taesd()
        assert found.parent == root
        model = load_taesd(found, torch.device("cpu"), torch.float32)
        assert model.config.scaling_factor == 1.0
        pictures = taesd_decode(model, torch.randn(2, 4, 8, 8))
        assert pictures.shape == (2, 64, 64, 3) and pictures.dtype.name == "uint8"
        assert model.encode(torch.zeros(1, 3, 64, 64)).latents.shape == (1, 4, 8, 8)
    assert installed_taesd() is None, "the throwaway models folder outlived its block"
    assert MODELS_DIR_ENV_VAR not in os.environ


def test_the_committed_toy_taesd_belongs_to_the_committed_world() -> None:
    from tests.toyworld.taesd import toy_taesd

    folder = toy_taesd()  # refuses a TAESD distilled from another VAE
    assert (folder / "config.json").is_file() and (folder / "diffusion_pytorch_model.safetensors").is_file()
