"""The toy LCM-LoRA's plumbing (a few distillation steps): the app's draft finds it, loads it as a LoRA, renders."""

from __future__ import annotations

from pathlib import Path


def adapted_layers(sd_folder: Path, lora: Path) -> int:
    """How many LoRA tensors the app's own loader puts into the UNet for the draft `lcm_draft` sets up."""
    from peft.utils import get_peft_model_state_dict

    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.lcm import lcm_draft
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline
    from hear2see_desktop.core.settings import RenderSettings
    from tests.toyworld.install import toy_models_folder

    with toy_models_folder(lcm_lora=lora):
        settings = lcm_draft(RenderSettings(model=str(sd_folder), width=64, height=64, device="cpu"))
        loaded = get_pipeline(resolve_model_source(settings.model), resolve_device("cpu"))
        apply_loras(loaded, settings.loras)
        try:
            return len(get_peft_model_state_dict(loaded.pipe.unet, adapter_name=loaded.adapter_names[0]))
        finally:
            apply_loras(loaded, [])


def test_a_few_steps_of_distillation_give_a_lora_the_apps_lcm_draft_loads_and_renders_with(tmp_path: Path) -> None:
    from safetensors import safe_open

    from hear2see_desktop.core.render.lcm import LCM_STEPS, installed_lcm_lora
    from tests.toyworld import lcm
    from tests.toyworld.build import build

    sd_folder = build() / "sd"
    student = lcm.train_lcm_lora(sd_folder, lcm.LcmTraining(steps=2, batch=2, pictures=4), log=lambda _: None)
    lora = lcm.save(student, tmp_path / "lcm_lora.safetensors", teacher=lcm.unet_fingerprint(sd_folder))
    assert lcm.toy_lcm_lora(sd_folder, lora) == lora
    with safe_open(str(lora), framework="pt") as handle:
        saved = len(list(handle.keys()))
    assert adapted_layers(sd_folder, lora) == saved, "the app's LoRA loader left out layers the distillation trained"

    pictures = lcm.render_draft(sd_folder, lora, ["red boat, sea"])
    assert len(pictures) == 1 and pictures[0].shape == (64, 64, 3)
    assert installed_lcm_lora() is None, "the throwaway models folder outlived the draft"
    assert LCM_STEPS == 4


def test_the_committed_toy_lcm_lora_belongs_to_the_committed_world() -> None:
    from tests.toyworld.lcm import WEIGHTS, toy_lcm_lora

    assert toy_lcm_lora() == WEIGHTS  # refuses a LoRA distilled from another UNet
