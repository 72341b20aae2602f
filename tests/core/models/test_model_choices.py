"""What the pickers offer: installed catalogue entries by kind, then imports; a broken catalogue hides only itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from hear2see_desktop.core.models.choices import ModelChoice, lora_choices, model_choices, motion_choices
from hear2see_desktop.core.models.importing import import_file
from hear2see_desktop.core.models.registry import models_root


def catalogue(path: Path) -> Path:
    def entry(name: str, kind: str, folder: str, *files: str) -> dict:
        return {"name": name, "kind": kind, "title": name.title(), "licence": "MIT", "size_bytes": 10,
                "folder": folder, "marker": files[0],
                "files": [{"url": f"http://127.0.0.1:9/{file}", "path": file} for file in files]}

    path.write_text(json.dumps({"models": [
        entry("base", "sd", "sd/base", "model_index.json", "unet/config.json"),
        entry("missing-sd", "sd", "sd/other", "x.bin"),
        entry("style", "lora", "loras", "style.safetensors"), entry("voice", "vosk", "vosk/v", "am.bin"),
        entry("wave", "motion", "motion/wave", "config.json", "diffusion_pytorch_model.safetensors"),
        entry("missing-motion", "motion", "motion/gone", "config.json", "x"),
    ]}))
    return path


def test_installed_entries_come_first_then_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEAR2SEE_CATALOGUE", str(catalogue(tmp_path / "catalogue.json")))
    for relative in ("sd/base/model_index.json", "sd/base/unet/config.json", "loras/style.safetensors",
                     "vosk/v/am.bin", "motion/wave/config.json", "motion/wave/diffusion_pytorch_model.safetensors"):
        (models_root() / relative).parent.mkdir(parents=True, exist_ok=True)
        (models_root() / relative).write_text("{}")
    lora = tmp_path / "ink.safetensors"
    save_file({"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight":
               np.zeros((4, 768), np.float32)}, str(lora))
    _, installed = import_file(lora)
    # A diffusers folder is picked as its folder; a one-file entry (the LoRA) as its file.
    assert model_choices() == [ModelChoice("Base", str(models_root() / "sd" / "base"), "catalogue")]
    assert motion_choices() == [ModelChoice("Wave", str(models_root() / "motion" / "wave"), "catalogue")]
    assert lora_choices() == [ModelChoice("Style", str(models_root() / "loras" / "style.safetensors"), "catalogue"),
                              ModelChoice("ink (imported)", str(installed), "imported")]

    (tmp_path / "catalogue.json").write_text("{not json")
    assert model_choices() == [] == motion_choices()
    assert lora_choices() == [ModelChoice("ink (imported)", str(installed), "imported")]
