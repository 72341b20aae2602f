"""Model files in another precision than the render's: loaded at their own precision and converted a tensor
at a time, to exactly the weights the library's own conversion gives, with each tensor's file pages handed
back. (The CUDA and MPS path is the same call with another device; fp16 on the CPU stands in for it here.)"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from safetensors.torch import load_file, save_file

from hear2see_desktop.core.render import convert_weights, pipeline_cache
from hear2see_desktop.core.render.convert_weights import (
    convert,
    file_mappings,
    files_precision,
    hand_back_pages,
    libc_madvise,
)
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.render.model_source import resolve_model_source
from tests.tiny_pipeline import build_tiny_pipeline, pipeline_to_ldm, save_tiny_config_dir

CPU = DeviceChoice("cpu", "float32")
LINUX = sys.platform.startswith("linux")


def _save_half_folder(folder: Path, dtype: torch.dtype, *, keep_vae_fp32: bool = False) -> Path:
    pipe = build_tiny_pipeline(seed=3)
    pipe.save_pretrained(folder, safe_serialization=True)
    for part in ("unet", "vae", "text_encoder"):
        if part == "vae" and keep_vae_fp32:
            continue
        file = next((folder / part).glob("*.safetensors"))
        save_file({k: v.to(dtype).contiguous() for k, v in load_file(file).items()}, file, metadata={"format": "pt"})
    return folder


def _library_widened(folder: Path, dtype: torch.dtype = torch.float32) -> StableDiffusionPipeline:
    """What diffusers gives for the same files when asked for `dtype` directly (the old way)."""
    return StableDiffusionPipeline.from_pretrained(str(folder), torch_dtype=dtype, safety_checker=None,
                                                   requires_safety_checker=False, local_files_only=True,
                                                   feature_extractor=None)


def _assert_same_weights(ours: StableDiffusionPipeline, theirs: StableDiffusionPipeline,
                         dtype: torch.dtype = torch.float32) -> None:
    for part in ("unet", "vae", "text_encoder"):
        mine, reference = getattr(ours, part).state_dict(), getattr(theirs, part).state_dict()
        assert mine.keys() == reference.keys()
        for name, tensor in mine.items():
            assert tensor.dtype == reference[name].dtype, (part, name)
            assert torch.equal(tensor, reference[name]), (part, name)
        assert {p.dtype for p in getattr(ours, part).parameters()} == {dtype}


@pytest.mark.parametrize("dtype, name", [(torch.float16, "F16"), (torch.bfloat16, "BF16")])
def test_a_half_precision_folder_loads_as_exactly_the_fp32_weights(tmp_path: Path, dtype: torch.dtype,
                                                                   name: str) -> None:
    folder = _save_half_folder(tmp_path / "half", dtype)
    source = resolve_model_source(str(folder))
    assert files_precision(source) == name
    ours = pipeline_cache.load_pipeline(source, CPU)
    _assert_same_weights(ours, _library_widened(folder))
    image = ours("a lighthouse", num_inference_steps=2, height=64, width=64, output_type="np",
                 generator=torch.Generator().manual_seed(0)).images[0]
    assert np.isfinite(image).all() and image.std() > 0


def test_a_half_precision_single_file_loads_as_exactly_the_fp32_weights(tmp_path: Path) -> None:
    pipe = build_tiny_pipeline(seed=4)
    single = tmp_path / "half.safetensors"
    tensors = {k: v.half() for k, v in pipeline_to_ldm(pipe).items()}
    # As in many A1111 checkpoints: CLIP's position ids stored as fp32 beside the fp16 weights.
    tensors["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77.0)[None]
    save_file(tensors, single, metadata={"format": "pt"})
    config = save_tiny_config_dir(pipe, tmp_path / "config")
    source = resolve_model_source(str(single), str(config))
    assert files_precision(source) == "F16"
    ours = pipeline_cache.load_pipeline(source, CPU)
    theirs = StableDiffusionPipeline.from_single_file(str(single), config=str(config), torch_dtype=torch.float32,
                                                      local_files_only=True, safety_checker=None,
                                                      requires_safety_checker=False)
    _assert_same_weights(ours, theirs)


def _note_conversions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, str]]:
    """The (dtype, device) of every `convert` the loader makes (passed through to the real one)."""
    calls: list[tuple[object, str]] = []
    real = convert_weights.convert

    def noted(modules: object, dtype: object, device: str = "cpu") -> int:
        calls.append((dtype, device))
        return real(modules, dtype, device)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline_cache, "convert", noted)  # the loader's own name for it
    return calls


def test_fp32_files_bound_for_fp16_are_narrowed_a_tensor_at_a_time(tiny_models: tuple[Path, Path, Path],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tiny_models[0]
    calls = _note_conversions(monkeypatch)
    ours = pipeline_cache.load_pipeline(resolve_model_source(str(folder)), DeviceChoice("cpu", "float16"))
    assert calls == [(torch.float16, "cpu")]
    _assert_same_weights(ours, _library_widened(folder, torch.float16), torch.float16)
    pipeline_cache.load_pipeline(resolve_model_source(str(folder)), CPU)
    assert len(calls) == 1  # fp32 files for an fp32 CPU render are used in place: nothing to convert


def test_fp32_and_mixed_files_are_loaded_as_they_were(tmp_path: Path, tiny_models: tuple[Path, Path, Path]) -> None:
    folder, single, config = tiny_models
    assert files_precision(resolve_model_source(str(folder))) == "F32"  # used in place on the CPU
    assert files_precision(resolve_model_source(str(single), str(config))) == "F32"
    mixed = _save_half_folder(tmp_path / "mixed", torch.float16, keep_vae_fp32=True)
    source = resolve_model_source(str(mixed))
    assert files_precision(source) is None  # loading it at fp16 would round the fp32 VAE
    _assert_same_weights(pipeline_cache.load_pipeline(source, CPU), _library_widened(mixed))


def test_converting_turns_parameters_and_buffers_and_keeps_other_types() -> None:
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).half()
    module.register_buffer("positions", torch.arange(5))
    before = {name: tensor.clone() for name, tensor in module.state_dict().items()}
    convert([module], torch.float32)
    after = module.state_dict()
    for name, tensor in before.items():
        expected = tensor.float() if tensor.is_floating_point() else tensor
        assert after[name].dtype == expected.dtype and torch.equal(after[name], expected), name
    assert isinstance(module[0].weight, torch.nn.Parameter) and module[0].weight.requires_grad


def _rss_of_mapping(path: Path) -> int:
    """Resident kB of this process's mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
            inside = len(fields) == 6 and fields[5] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not LINUX, reason="pages are handed back on Linux only")
def test_file_pages_are_handed_back_and_read_again_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    values = torch.arange(4 * 2**20, dtype=torch.float32).reshape(1024, -1).half()  # 8 MiB of fp16
    save_file({"w": values}, path)
    tensors = load_file(path)  # memory-mapped, as the loaders do
    mapped = tensors["w"]
    assert torch.equal(mapped.float(), values.float())  # touches every page
    resident = _rss_of_mapping(path)
    assert resident >= 7 * 1024
    mappings = file_mappings()
    assert any(str(path) == m.path for m in mappings)
    handed = hand_back_pages(mapped.data_ptr(), mapped.numel() * 2, mappings, libc_madvise())
    assert handed >= 7.9 * 2**20
    assert _rss_of_mapping(path) <= resident - 7 * 1024
    assert torch.equal(mapped, values)  # read again from the file, unchanged


@pytest.mark.skipif(not LINUX, reason="pages are handed back on Linux only")
def test_memory_that_is_not_a_file_mapping_is_never_handed_back() -> None:
    anonymous = torch.full((2**20,), 7.0)
    handed = hand_back_pages(anonymous.data_ptr(), anonymous.numel() * 4, file_mappings(), libc_madvise())
    assert handed == 0 and bool((anonymous == 7.0).all())
