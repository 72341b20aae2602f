"""Animate mode's motion models: where they come from, which are refused, and how they join the loaded model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.paths import models_dir
from hear2see_desktop.core.render.devices import resolve_device
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.motion_pipeline import load_motion_adapter, motion_unet
from hear2see_desktop.core.render.motion_source import (
    MotionShape,
    check_motion_fits,
    motion_shape,
    resolve_motion_source,
)
from hear2see_desktop.core.settings import DEFAULT_MOTION_MODEL
from tests.tiny_motion_adapter import save_pickle_motion_file, save_tiny_motion_file, save_tiny_motion_folder
from tests.tiny_pipeline import build_tiny_pipeline

TINY_SHAPE = MotionShape((32, 64), (2, 2), 1, True, 32)


def test_a_folder_and_a_single_file_hold_the_same_motion_layers(tiny_motion_models: tuple[Path, Path]) -> None:
    folder, single_file = (resolve_motion_source(str(path)) for path in tiny_motion_models)
    assert (folder.kind, single_file.kind) == ("diffusers", "single_file")
    assert motion_shape(folder) == motion_shape(single_file) == TINY_SHAPE
    device = resolve_device("cpu")
    from_folder = load_motion_adapter(folder, TINY_SHAPE, device).state_dict()
    from_file = load_motion_adapter(single_file, TINY_SHAPE, device).state_dict()
    assert from_folder.keys() == from_file.keys()
    assert all(torch.equal(from_folder[key], from_file[key]) for key in from_folder)


def test_a_loaded_motion_model_is_reused(tiny_motion_models: tuple[Path, Path]) -> None:
    from hear2see_desktop.core.render import motion_pipeline

    source = resolve_motion_source(str(tiny_motion_models[0]))
    first = load_motion_adapter(source, TINY_SHAPE, resolve_device("cpu"))
    loads = motion_pipeline.adapter_load_count
    assert load_motion_adapter(source, TINY_SHAPE, resolve_device("cpu")) is first
    assert motion_pipeline.adapter_load_count == loads


def test_the_motion_unet_shares_the_loaded_unet_and_denoises_as_diffusers_copy_does(
        tiny_motion_models: tuple[Path, Path]) -> None:
    from diffusers import UNetMotionModel

    pipe = build_tiny_pipeline()
    source = resolve_motion_source(str(tiny_motion_models[0]))
    adapter = load_motion_adapter(source, TINY_SHAPE, resolve_device("cpu"))
    shared = motion_unet(pipe.unet, adapter, source, TINY_SHAPE)
    assert shared.down_blocks[0].attentions is pipe.unet.down_blocks[0].attentions, "spatial layers are not copied"
    assert shared.up_blocks[1].motion_modules is adapter.up_blocks[1].motion_modules
    copied = UNetMotionModel.from_unet2d(pipe.unet, adapter)
    generator = torch.Generator().manual_seed(0)
    clip = torch.randn(2, 4, 5, 8, 8, generator=generator)  # (batch, channels, frames, h, w)
    text = torch.randn(2 * 5, 77, 32, generator=generator)
    with torch.no_grad():
        ours = shared(clip, torch.tensor(500), encoder_hidden_states=text).sample
        theirs = copied(clip, torch.tensor(500), encoder_hidden_states=text).sample
    assert torch.equal(ours, theirs)


def test_a_motion_model_for_another_base_model_is_refused_in_one_sentence(tiny_models: tuple[Path, Path, Path],
                                                                          tmp_path: Path) -> None:
    model = resolve_model_source(str(tiny_models[0]))
    for wider in (save_tiny_motion_folder(tmp_path / "wide", channels=(64, 128)),
                  save_tiny_motion_file(tmp_path / "wide.safetensors", channels=(64, 128))):
        source = resolve_motion_source(str(wider))
        with pytest.raises(BadInputError) as caught:
            check_motion_fits(source, motion_shape(source), model)
        sentence = str(caught.value)
        assert "does not fit this model" in sentence and "64/128" in sentence and "32/64" in sentence
        assert "\n" not in sentence and caught.value.fixes[0].setting == "motion_model"
        with pytest.raises(BadInputError, match="does not fit"):  # and again on the loaded model
            motion_unet(build_tiny_pipeline().unet, None, source, motion_shape(source))


def test_pickle_motion_models_are_never_opened(tmp_path: Path) -> None:
    pickle = save_pickle_motion_file(tmp_path / "mm_sd_v15_v2.ckpt")
    with pytest.raises(BadInputError, match="pickle-based") as caught:
        resolve_motion_source(str(pickle))
    assert caught.value.fixes[0].setting == "motion_model"
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text('{"_class_name": "MotionAdapter"}')
    save_pickle_motion_file(folder / "diffusion_pytorch_model.bin")
    with pytest.raises(BadInputError, match="diffusion_pytorch_model.bin is a pickle-based file"):
        resolve_motion_source(str(folder))


def test_a_missing_motion_model_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError) as caught:
        resolve_motion_source("someone/motion-adapter")
    sentence = str(caught.value)
    assert "huggingface-cli download someone/motion-adapter" in sentence and "Hugging Face cache" in sentence
    # One the model manager knows names its download, and once it is there the hub id finds it.
    with pytest.raises(ModelMissingError) as caught:
        resolve_motion_source(DEFAULT_MOTION_MODEL)
    assert "`hear2see models download animatediff-v1-5-2` (File > Models… in the app" in str(caught.value)
    installed = save_tiny_motion_folder(models_dir() / "motion" / DEFAULT_MOTION_MODEL.split("/")[-1])
    assert resolve_motion_source(DEFAULT_MOTION_MODEL).path == installed.resolve()
    with pytest.raises(BadInputError, match="does not exist"):
        resolve_motion_source(str(tmp_path / "nowhere.safetensors"))
    with pytest.raises(BadInputError, match="holds no AnimateDiff motion layers"):
        not_motion = tmp_path / "lora.safetensors"
        from safetensors.torch import save_file

        save_file({"unet.down_blocks.0.attentions.0.lora.down.weight": torch.zeros(4, 32)}, str(not_motion))
        motion_shape(resolve_motion_source(str(not_motion)))


def test_a_hub_id_is_found_in_the_hugging_face_cache(tiny_motion_models: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    snapshot = tmp_path / "hub" / "models--someone--motion-adapter" / "snapshots" / "abc123"
    shutil.copytree(tiny_motion_models[0], snapshot)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    source = resolve_motion_source("someone/motion-adapter")
    assert source.kind == "diffusers" and source.path == snapshot.resolve()
    assert motion_shape(source) == TINY_SHAPE


def test_loras_active_on_the_loaded_model_are_active_in_animate_mode(tiny_models: tuple[Path, Path, Path],
                                                                     tiny_motion_models: tuple[Path, Path],
                                                                     tmp_path: Path) -> None:
    from hear2see_desktop.core.render.motion_pipeline import animate_pipeline
    from hear2see_desktop.core.render.pipeline_cache import apply_loras, get_pipeline
    from hear2see_desktop.core.settings import LoraSpec
    from tests.tiny_lora import save_tiny_lora

    loaded = get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu"))
    apply_loras(loaded, [])
    source = resolve_motion_source(str(tiny_motion_models[0]))
    unet = animate_pipeline(loaded, source, TINY_SHAPE).unet
    assert animate_pipeline(loaded, source, TINY_SHAPE).unet is unet, "built once while both stay loaded"
    generator = torch.Generator().manual_seed(1)
    clip, text = torch.randn(1, 4, 3, 8, 8, generator=generator), torch.randn(3, 77, 32, generator=generator)

    def denoised() -> torch.Tensor:
        with torch.no_grad():
            return unet(clip, torch.tensor(300), encoder_hidden_states=text).sample

    plain = denoised()
    apply_loras(loaded, [LoraSpec(str(save_tiny_lora(tiny_models[0], tmp_path / "lora")), 1.0)])
    assert not torch.allclose(denoised(), plain), "the LoRA changes the motion UNet's spatial layers"
    apply_loras(loaded, [])
    assert torch.allclose(denoised(), plain, atol=1e-6)
