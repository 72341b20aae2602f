"""The tiny SD 1.5 test pipeline: its single-file (LDM layout) form must load back bit-for-bit.

Other tests trust `tests.tiny_pipeline` to stand in for real SD 1.5 checkpoints, so this checks that the
diffusers -> LDM mapping written there is the exact inverse of diffusers' own LDM -> diffusers conversion
(every tensor equal, no key left over or missing), that both on-disk forms render the same image, and that
rendering stays fast enough to use everywhere.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from diffusers.loaders.single_file_utils import infer_diffusers_model_type
from safetensors.torch import load_file
from transformers import CLIPTokenizer

from tests.tiny_pipeline import (
    LDM_CLIP_PREFIX,
    LDM_UNET_PREFIX,
    LDM_VAE_PREFIX,
    TINY_VOCAB_SIZE,
    build_tiny_pipeline,
    load_tiny_diffusers,
    load_tiny_single_file,
    tiny_model_paths,
    tiny_unet,
    tiny_vae,
    unet_to_ldm,
    vae_to_ldm,
)

COMPONENTS = ("unet", "vae", "text_encoder")


@contextmanager
def _no_network() -> Iterator[None]:
    """Fail loudly if anything tries to open a connection (the app must load models fully offline)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return tiny_model_paths(tmp_path_factory.mktemp("tiny-sd15"))


@pytest.fixture(scope="module")
def reference() -> StableDiffusionPipeline:
    return build_tiny_pipeline(seed=0)


@pytest.fixture(scope="module")
def from_folder(paths: tuple[Path, Path, Path]) -> StableDiffusionPipeline:
    with _no_network():
        return load_tiny_diffusers(paths[0])


@pytest.fixture(scope="module")
def from_single_file(paths: tuple[Path, Path, Path]) -> StableDiffusionPipeline:
    with _no_network():
        return load_tiny_single_file(paths[1], paths[2])


def _render(pipe: StableDiffusionPipeline, seed: int = 0) -> np.ndarray:
    generator = torch.Generator("cpu").manual_seed(seed)
    result = pipe(
        "a red fox", num_inference_steps=2, height=64, width=64, generator=generator, output_type="np"
    )
    return result.images


def _assert_same_weights(expected: torch.nn.Module, actual: torch.nn.Module) -> None:
    want, got = expected.state_dict(), actual.state_dict()
    assert sorted(got) == sorted(want)
    meta = [key for key, tensor in got.items() if tensor.is_meta]
    assert not meta, f"never loaded (left on the meta device): {meta}"
    different = [
        key for key in want if got[key].dtype != want[key].dtype or not torch.equal(got[key], want[key])
    ]
    assert not different, f"tensors that differ after the round trip: {different}"


def test_tokenizer_splits_prompts_into_ids_inside_the_vocabulary(reference: StableDiffusionPipeline) -> None:
    tokenizer = reference.tokenizer
    ids = tokenizer("a red fox")["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[0] == "<|startoftext|>" and tokens[-1] == "<|endoftext|>"
    assert "fox</w>" in tokens  # the merges apply, so words are not just single bytes
    padded = tokenizer(
        "The Quick brown fox, 42 ñ!", padding="max_length", max_length=tokenizer.model_max_length
    )
    assert tokenizer.model_max_length == 77 and len(padded["input_ids"]) == 77
    assert max(padded["input_ids"]) < TINY_VOCAB_SIZE
    assert reference.text_encoder.config.eos_token_id == tokenizer.eos_token_id


def test_config_folder_tokenizer_matches_the_saved_pipeline(paths: tuple[Path, Path, Path]) -> None:
    diffusers_dir, _, config_dir = paths
    assert (config_dir / "tokenizer" / "vocab.json").is_file() and (
        config_dir / "tokenizer" / "merges.txt"
    ).is_file()
    assert not list(config_dir.rglob("*.safetensors")), "the config folder must hold no weights"
    from_files = CLIPTokenizer.from_pretrained(config_dir / "tokenizer", local_files_only=True)
    from_saved = CLIPTokenizer.from_pretrained(diffusers_dir / "tokenizer", local_files_only=True)
    prompt = "the stars are shining over an ancient forest"
    assert from_files(prompt)["input_ids"] == from_saved(prompt)["input_ids"]


def test_same_seed_builds_the_same_weights() -> None:
    first, second, other = build_tiny_pipeline(3), build_tiny_pipeline(3), build_tiny_pipeline(4)
    for name in COMPONENTS:
        _assert_same_weights(getattr(first, name), getattr(second, name))
    assert not torch.equal(first.unet.conv_in.weight, other.unet.conv_in.weight)


def test_structure_is_sd15_like(reference: StableDiffusionPipeline) -> None:
    unet = reference.unet.config
    assert "CrossAttnDownBlock2D" in unet.down_block_types and "DownBlock2D" in unet.down_block_types
    assert unet.layers_per_block == 2 and unet.in_channels == 4 and unet.cross_attention_dim == 32
    assert reference.vae_scale_factor == 8  # latents are image/8, as in SD 1.5
    assert reference.scheduler.config.beta_schedule == "scaled_linear"


def test_single_file_uses_the_original_ldm_key_layout(paths: tuple[Path, Path, Path]) -> None:
    checkpoint = load_file(paths[1])
    prefixes = (LDM_UNET_PREFIX, LDM_VAE_PREFIX, LDM_CLIP_PREFIX)
    assert all(key.startswith(prefixes) for key in checkpoint)
    for key in (
        "model.diffusion_model.time_embed.0.weight",
        "model.diffusion_model.input_blocks.0.0.weight",
        "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight",
        "model.diffusion_model.input_blocks.3.0.op.weight",
        "model.diffusion_model.input_blocks.4.0.skip_connection.weight",
        "model.diffusion_model.middle_block.1.proj_in.weight",
        "model.diffusion_model.middle_block.2.out_layers.3.weight",
        "model.diffusion_model.output_blocks.2.1.conv.weight",
        "model.diffusion_model.output_blocks.5.1.proj_out.weight",
        "model.diffusion_model.out.2.weight",
        "first_stage_model.encoder.down.2.block.0.nin_shortcut.weight",
        "first_stage_model.decoder.up.0.block.2.conv2.weight",
        "first_stage_model.decoder.up.3.upsample.conv.weight",
        "first_stage_model.encoder.norm_out.weight",
        "first_stage_model.post_quant_conv.weight",
        "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight",
        "cond_stage_model.transformer.text_model.final_layer_norm.weight",
    ):
        assert key in checkpoint, key
    assert checkpoint["first_stage_model.decoder.mid.attn_1.q.weight"].shape == (64, 64, 1, 1)
    assert infer_diffusers_model_type(checkpoint) == "v1"  # what diffusers would take it for without config=


@pytest.mark.parametrize("component", COMPONENTS)
def test_single_file_loads_back_every_tensor_exactly(
    component: str, reference: StableDiffusionPipeline, from_single_file: StableDiffusionPipeline
) -> None:
    _assert_same_weights(getattr(reference, component), getattr(from_single_file, component))


@pytest.mark.parametrize(
    ("down", "up", "layers_per_block"),
    [
        # SD 1.5's pattern with an extra attention level: an up block with attention owns an upsampler,
        # which LDM stores at `output_blocks.N.2.conv` instead of `.1.conv`.
        (("CrossAttnDownBlock2D",) * 2 + ("DownBlock2D",), ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 2, 1),
        (("CrossAttnDownBlock2D",) * 2 + ("DownBlock2D",), ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 2, 3),
    ],
)
def test_unet_mapping_handles_other_depths(
    tmp_path: Path, down: tuple[str, ...], up: tuple[str, ...], layers_per_block: int
) -> None:
    unet = tiny_unet(
        1,
        block_out_channels=(32, 32, 64),
        down_block_types=down,
        up_block_types=up,
        layers_per_block=layers_per_block,
    )
    unet.save_config(tmp_path / "unet")
    checkpoint = {
        LDM_UNET_PREFIX + key: value for key, value in unet_to_ldm(unet.state_dict(), unet.config).items()
    }
    if "CrossAttnUpBlock2D" in up[:-1]:
        assert any(".2.conv." in key for key in checkpoint if "output_blocks" in key)
    with _no_network():
        loaded = UNet2DConditionModel.from_single_file(
            checkpoint, config=str(tmp_path), subfolder="unet", local_files_only=True
        )
    _assert_same_weights(unet, loaded)


@pytest.mark.parametrize(("channels", "layers_per_block"), [((32, 64), 1), ((32, 64, 64), 3)])
def test_vae_mapping_handles_other_depths(
    tmp_path: Path, channels: tuple[int, ...], layers_per_block: int
) -> None:
    vae = tiny_vae(1, block_out_channels=channels, layers_per_block=layers_per_block)
    vae.save_config(tmp_path / "vae")
    checkpoint = {
        LDM_VAE_PREFIX + key: value for key, value in vae_to_ldm(vae.state_dict(), vae.config).items()
    }
    with _no_network():
        loaded = AutoencoderKL.from_single_file(
            checkpoint, config=str(tmp_path), subfolder="vae", local_files_only=True
        )
    _assert_same_weights(vae, loaded)


def test_folder_and_single_file_render_the_same_image(
    reference: StableDiffusionPipeline,
    from_folder: StableDiffusionPipeline,
    from_single_file: StableDiffusionPipeline,
) -> None:
    image = _render(from_folder)
    assert image.shape == (1, 64, 64, 3) and np.isfinite(image).all() and image.std() > 0
    assert np.array_equal(_render(from_single_file), image)
    assert np.array_equal(_render(reference), image)
    assert not np.array_equal(_render(from_folder, seed=1), image)


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.mark.timing
def test_render_is_fast(reference: StableDiffusionPipeline) -> None:
    # One intra-op thread: the tensors are too small to gain from more, and on a 2-core machine shared
    # with another test run, OpenMP threads that wait on each other make the same render 5-10x slower.
    with _torch_threads(1):
        _render(reference)  # the first call pays one-off allocator/kernel warm-up
        timings = []
        for _ in range(3):
            start = time.perf_counter()
            _render(reference)
            timings.append(time.perf_counter() - start)
    assert min(timings) < 0.5, f"64x64, 2-step renders took {timings} s"
