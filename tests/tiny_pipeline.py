"""A tiny Stable Diffusion 1.5-shaped pipeline with random weights, for tests that run real diffusers code.

The real SD 1.5 weights are gigabytes and cannot be downloaded in tests, yet the loader, the render loop,
LoRA handling and the single-file path all need a genuine `StableDiffusionPipeline`. This module builds one
with the same block structure as SD 1.5 (cross-attention and plain UNet levels, a KL VAE, a CLIP text
encoder, a byte-level BPE CLIP tokenizer) but ~2.6M random parameters (10 MB), and can save it as

* a diffusers folder (what `StableDiffusionPipeline.from_pretrained` reads), and
* one `.safetensors` file in the original CompVis/LDM (A1111) key layout plus a config folder (what
  `StableDiffusionPipeline.from_single_file(file, config=folder)` reads).

The diffusers -> LDM key mapping is written here from the LDM layout; reading the file back goes through
diffusers' own LDM -> diffusers conversion, so a round trip that reproduces every tensor proves both agree.
Nothing here downloads: every loader gets a local folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    DPMSolverMultistepScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from tests.tiny_tokenizer import (  # noqa: F401 - re-exported for older imports
    BOS_TOKEN,
    EOS_TOKEN,
    TINY_MAX_LENGTH,
    TINY_VOCAB_SIZE,
    tiny_vocab,
    write_tiny_tokenizer_files,
)

TINY_UNET_DOWN_BLOCKS = ("CrossAttnDownBlock2D", "DownBlock2D")
TINY_UNET_UP_BLOCKS = ("UpBlock2D", "CrossAttnUpBlock2D")
TINY_VAE_CHANNELS = (32, 32, 64, 64)  # SD 1.5: (128, 256, 512, 512)


# LDM resnet sub-layer names for the diffusers names (UNet: `ResBlock`, VAE: `ResnetBlock`).
_UNET_RESNET_NAMES = {
    "norm1": "in_layers.0",
    "conv1": "in_layers.2",
    "norm2": "out_layers.0",
    "conv2": "out_layers.3",
    "time_emb_proj": "emb_layers.1",
    "conv_shortcut": "skip_connection",
}
_VAE_RESNET_NAMES = {"conv_shortcut": "nin_shortcut"}
# The VAE mid-block attention is an `AttnBlock` of 1x1 convolutions in LDM, linear layers in diffusers.
_VAE_ATTENTION_NAMES = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}

LDM_UNET_PREFIX = "model.diffusion_model."
LDM_VAE_PREFIX = "first_stage_model."
LDM_CLIP_PREFIX = "cond_stage_model.transformer."

# ---------------------------------------------------------------------------------------------------------
# Tokenizer


def build_tiny_tokenizer() -> CLIPTokenizer:
    """A CLIPTokenizer loaded from freshly written vocab/merges files (the path real SD 1.5 folders take)."""
    with tempfile.TemporaryDirectory(prefix="tiny-clip-tokenizer-") as tmp:
        return CLIPTokenizer.from_pretrained(write_tiny_tokenizer_files(Path(tmp)), local_files_only=True)


# ---------------------------------------------------------------------------------------------------------
# Models


def tiny_unet(
    seed: int = 0,
    *,
    block_out_channels: tuple[int, ...] = (32, 64),
    down_block_types: tuple[str, ...] = TINY_UNET_DOWN_BLOCKS,
    up_block_types: tuple[str, ...] = TINY_UNET_UP_BLOCKS,
    layers_per_block: int = 2,
) -> UNet2DConditionModel:
    """SD 1.5's UNet layout (cross-attention levels, then a plain one) at toy width; random weights."""
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=down_block_types,
        up_block_types=up_block_types,
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=32,
    ).eval()


def tiny_vae(
    seed: int = 0, *, block_out_channels: tuple[int, ...] = TINY_VAE_CHANNELS, layers_per_block: int = 2
) -> AutoencoderKL:
    """A KL autoencoder shaped like SD 1.5's (4 levels, mid attention, quant convs); random weights.

    Four levels give SD's 8x latent downscale, so a 64x64 image is an 8x8 latent (UNet `sample_size`);
    with two levels the UNet would self-attend over 32x32 = 1024 tokens and a render takes ~0.4-7 s on
    2 CPU cores instead of ~0.1 s.
    """
    torch.manual_seed(seed)
    levels = len(block_out_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * levels,
        up_block_types=("UpDecoderBlock2D",) * levels,
        block_out_channels=block_out_channels,
        layers_per_block=layers_per_block,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
    ).eval()


def tiny_text_encoder(
    seed: int = 0, *, bos_token_id: int, eos_token_id: int, pad_token_id: int
) -> CLIPTextModel:
    """A 2-layer CLIP text transformer; special-token ids match the tokenizer so pooling finds the EOS."""
    torch.manual_seed(seed)
    config = CLIPTextConfig(
        hidden_size=32,
        intermediate_size=37,
        projection_dim=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        vocab_size=TINY_VOCAB_SIZE,
        max_position_embeddings=TINY_MAX_LENGTH,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
        layer_norm_eps=1e-5,
        hidden_act="quick_gelu",
    )
    return CLIPTextModel(config).eval()


def tiny_scheduler() -> DPMSolverMultistepScheduler:
    """DPM++ 2M with the SD 1.5 noise schedule (the values in SD 1.5's scheduler_config.json)."""
    return DPMSolverMultistepScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        prediction_type="epsilon",
        steps_offset=1,
        timestep_spacing="leading",
        algorithm_type="dpmsolver++",
        solver_order=2,
        use_karras_sigmas=False,
    )


def build_tiny_pipeline(seed: int = 0, *, vae_channels: tuple[int, ...] = TINY_VAE_CHANNELS) -> StableDiffusionPipeline:
    """A complete SD 1.5-architecture pipeline with random weights, identical for the same seed.

    The global torch RNG is left as it was, so building one inside a test does not shift other seeds.
    `vae_channels` sets the VAE's levels: n levels downsample by 2**(n-1) (SD 1.5: 4 levels, 8x).
    """
    tokenizer = build_tiny_tokenizer()
    with torch.random.fork_rng(devices=[]):
        unet = tiny_unet(seed)
        vae = tiny_vae(seed, block_out_channels=vae_channels)
        text_encoder = tiny_text_encoder(
            seed,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=tiny_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


# ---------------------------------------------------------------------------------------------------------
# diffusers -> original LDM (A1111) key layout


def _convert_by_prefix(
    state_dict: Mapping[str, torch.Tensor],
    prefixes: Mapping[str, tuple[str, Mapping[str, str]]],
) -> dict[str, torch.Tensor]:
    """Rename each key by its longest mapped module prefix, then rename the sub-layer right under it.

    Every key must be covered: an unmapped weight is a bug in the mapping, not something to skip silently
    (diffusers would leave that parameter uninitialised on load without an error).
    """
    converted: dict[str, torch.Tensor] = {}
    for key, tensor in state_dict.items():
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            if prefix in prefixes:
                break
        else:
            raise KeyError(f"no LDM name for {key!r}")
        ldm_prefix, sub_names = prefixes[prefix]
        rest = ".".join(parts[cut:])
        for old, new in sub_names.items():
            if rest.startswith(old + "."):
                rest = new + rest[len(old) :]
                break
        new_key = f"{ldm_prefix}.{rest}"
        if new_key in converted:
            raise KeyError(f"two weights map to {new_key!r}")
        converted[new_key] = tensor
    return converted


def _layers_per_block(config: Mapping[str, Any]) -> int:
    value = config["layers_per_block"]
    if not isinstance(value, int):
        raise ValueError("the LDM layout has one layers_per_block for all levels")
    return value


def unet_to_ldm(state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """UNet2DConditionModel weights -> `openaimodel.UNetModel` names (without the `model.diffusion_model.`).

    LDM numbers the UNet as flat sequences: `input_blocks.0` is conv_in, then per level `layers_per_block`
    blocks of [ResBlock, SpatialTransformer?] and one Downsample (`.0.op`) except on the last level;
    `output_blocks` go deepest level first with `layers_per_block + 1` blocks per level, the Upsample sitting
    after the transformer when there is one (`.2.conv`) or right after the ResBlock (`.1.conv`).
    """
    per_level = _layers_per_block(config)
    levels = len(config["down_block_types"])
    plain: dict[str, str] = {}
    resnet = _UNET_RESNET_NAMES
    prefixes: dict[str, tuple[str, Mapping[str, str]]] = {
        "time_embedding.linear_1": ("time_embed.0", plain),
        "time_embedding.linear_2": ("time_embed.2", plain),
        "conv_in": ("input_blocks.0.0", plain),
        "conv_norm_out": ("out.0", plain),
        "conv_out": ("out.2", plain),
        "mid_block.resnets.0": ("middle_block.0", resnet),
        "mid_block.attentions.0": ("middle_block.1", plain),
        "mid_block.resnets.1": ("middle_block.2", resnet),
    }
    for level in range(levels):
        for j in range(per_level):
            index = level * (per_level + 1) + j + 1
            prefixes[f"down_blocks.{level}.resnets.{j}"] = (f"input_blocks.{index}.0", resnet)
            prefixes[f"down_blocks.{level}.attentions.{j}"] = (f"input_blocks.{index}.1", plain)
        if level < levels - 1:
            index = (level + 1) * (per_level + 1)
            prefixes[f"down_blocks.{level}.downsamplers.0.conv"] = (f"input_blocks.{index}.0.op", plain)
    for level, block_type in enumerate(config["up_block_types"]):
        for j in range(per_level + 1):
            index = level * (per_level + 1) + j
            prefixes[f"up_blocks.{level}.resnets.{j}"] = (f"output_blocks.{index}.0", resnet)
            prefixes[f"up_blocks.{level}.attentions.{j}"] = (f"output_blocks.{index}.1", plain)
        if level < levels - 1:
            index = level * (per_level + 1) + per_level
            slot = 2 if "CrossAttn" in block_type else 1
            prefixes[f"up_blocks.{level}.upsamplers.0.conv"] = (f"output_blocks.{index}.{slot}.conv", plain)
    return _convert_by_prefix(state_dict, prefixes)


def vae_to_ldm(state_dict: Mapping[str, torch.Tensor], config: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """AutoencoderKL weights -> `ldm.models.autoencoder` names (without the `first_stage_model.`).

    LDM's decoder numbers `up.N` from the lowest resolution's *last* index, so diffusers' up_blocks.i is
    `decoder.up.{levels-1-i}`; the mid attention's q/k/v/proj_out are 1x1 convolutions ([C, C, 1, 1]).
    """
    per_level = _layers_per_block(config)
    levels = len(config["block_out_channels"])
    plain: dict[str, str] = {}
    resnet = _VAE_RESNET_NAMES
    prefixes: dict[str, tuple[str, Mapping[str, str]]] = {
        "quant_conv": ("quant_conv", plain),
        "post_quant_conv": ("post_quant_conv", plain),
    }
    for coder in ("encoder", "decoder"):
        prefixes[f"{coder}.conv_in"] = (f"{coder}.conv_in", plain)
        prefixes[f"{coder}.conv_out"] = (f"{coder}.conv_out", plain)
        prefixes[f"{coder}.conv_norm_out"] = (f"{coder}.norm_out", plain)
        prefixes[f"{coder}.mid_block.resnets.0"] = (f"{coder}.mid.block_1", resnet)
        prefixes[f"{coder}.mid_block.resnets.1"] = (f"{coder}.mid.block_2", resnet)
        prefixes[f"{coder}.mid_block.attentions.0"] = (f"{coder}.mid.attn_1", _VAE_ATTENTION_NAMES)
    for level in range(levels):
        for j in range(per_level):
            prefixes[f"encoder.down_blocks.{level}.resnets.{j}"] = (f"encoder.down.{level}.block.{j}", resnet)
        if level < levels - 1:
            prefixes[f"encoder.down_blocks.{level}.downsamplers.0.conv"] = (
                f"encoder.down.{level}.downsample.conv",
                plain,
            )
        ldm_level = levels - 1 - level
        for j in range(per_level + 1):
            prefixes[f"decoder.up_blocks.{level}.resnets.{j}"] = (f"decoder.up.{ldm_level}.block.{j}", resnet)
        if level < levels - 1:
            prefixes[f"decoder.up_blocks.{level}.upsamplers.0.conv"] = (
                f"decoder.up.{ldm_level}.upsample.conv",
                plain,
            )
    converted = _convert_by_prefix(state_dict, prefixes)
    for key, tensor in converted.items():
        if ".mid.attn_1." in key and key.endswith(".weight") and tensor.ndim == 2:
            converted[key] = tensor[:, :, None, None]
    return converted


def text_encoder_to_ldm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CLIPTextModel weights -> the `FrozenCLIPEmbedder` names (without `cond_stage_model.transformer.`).

    The original checkpoints hold the HF CLIP model itself, so only the `text_model.` level differs:
    transformers >= 5.6 flattened CLIPTextModel and dropped it from its own keys.
    """
    return {
        key if key.startswith("text_model.") else f"text_model.{key}": tensor
        for key, tensor in state_dict.items()
    }


def pipeline_to_ldm(pipe: StableDiffusionPipeline) -> dict[str, torch.Tensor]:
    """One original-layout state dict for the whole pipeline, as A1111/CivitAI `.safetensors` files are."""
    parts = (
        (LDM_UNET_PREFIX, unet_to_ldm(pipe.unet.state_dict(), pipe.unet.config)),
        (LDM_VAE_PREFIX, vae_to_ldm(pipe.vae.state_dict(), pipe.vae.config)),
        (LDM_CLIP_PREFIX, text_encoder_to_ldm(pipe.text_encoder.state_dict())),
    )
    # Own, contiguous copies: safetensors refuses views and tensors that share storage.
    return {
        prefix + key: tensor.detach().contiguous().clone()
        for prefix, part in parts
        for key, tensor in part.items()
    }


# ---------------------------------------------------------------------------------------------------------
# Saving


def save_tiny_diffusers(dir: Path, *, seed: int = 0, vae_channels: tuple[int, ...] = TINY_VAE_CHANNELS) -> Path:
    """Save the tiny pipeline as a diffusers folder (safetensors weights); returns the folder."""
    dir = Path(dir)
    build_tiny_pipeline(seed, vae_channels=vae_channels).save_pretrained(dir, safe_serialization=True)
    return dir


def save_tiny_config_dir(pipe: StableDiffusionPipeline, dir: Path) -> Path:
    """Write the weight-less diffusers folder that `from_single_file(config=...)` reads the configs from.

    The tokenizer is written as vocab.json + merges.txt (no tokenizer.json), like the SD 1.5 repo's.
    """
    dir = Path(dir)
    dir.mkdir(parents=True, exist_ok=True)
    pipe.save_config(dir)  # model_index.json
    pipe.unet.save_config(dir / "unet")
    pipe.vae.save_config(dir / "vae")
    pipe.scheduler.save_config(dir / "scheduler")
    pipe.text_encoder.config.save_pretrained(dir / "text_encoder")
    write_tiny_tokenizer_files(dir / "tokenizer")
    return dir


def save_tiny_single_file(path: Path, config_dir: Path | None = None, *, seed: int = 0) -> tuple[Path, Path]:
    """Save the tiny pipeline as one original-layout `.safetensors` plus its config folder.

    `config_dir` defaults to `<stem>-config` next to the file. Returns (checkpoint_path, config_dir).
    """
    path = Path(path)
    config_dir = Path(config_dir) if config_dir is not None else path.with_name(f"{path.stem}-config")
    pipe = build_tiny_pipeline(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(pipeline_to_ldm(pipe), str(path), metadata={"format": "pt"})
    save_tiny_config_dir(pipe, config_dir)
    return path, config_dir


def tiny_model_paths(tmp_dir: Path, *, seed: int = 0) -> tuple[Path, Path, Path]:
    """Both on-disk forms of the same tiny model under `tmp_dir`: (diffusers_dir, single_file, config_dir).

    Meant for session fixtures, e.g. `tiny_model_paths(tmp_path_factory.mktemp("tiny-sd"))`.
    """
    tmp_dir = Path(tmp_dir)
    diffusers_dir = save_tiny_diffusers(tmp_dir / "tiny-sd15-diffusers", seed=seed)
    single_file, config_dir = save_tiny_single_file(
        tmp_dir / "tiny-sd15.safetensors", tmp_dir / "tiny-sd15-config", seed=seed
    )
    return diffusers_dir, single_file, config_dir


def load_tiny_single_file(single_file: Path, config_dir: Path) -> StableDiffusionPipeline:
    """Load a single-file checkpoint exactly the way the app does (local config folder, never the Hub)."""
    pipe = StableDiffusionPipeline.from_single_file(
        str(single_file),
        config=str(config_dir),
        local_files_only=True,
        safety_checker=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_tiny_diffusers(diffusers_dir: Path) -> StableDiffusionPipeline:
    """Load a diffusers folder exactly the way the app does."""
    pipe = StableDiffusionPipeline.from_pretrained(
        str(diffusers_dir),
        local_files_only=True,
        safety_checker=None,
        requires_safety_checker=False,
        feature_extractor=None,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
