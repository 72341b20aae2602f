"""A tiny SD 1.5-shaped pipeline with random weights, saved as a diffusers folder, for `hear2see --self-test`.

The real weights are gigabytes and not bundled, yet a self-test must run the genuine diffusers render
path (loader, UNet, VAE, text encoder, scheduler) to prove a packaged app is complete. This model has
SD 1.5's block structure at toy width, and its tokenizer is the real CLIP one built from the bundled
data (resources/sd15 plus the BPE merges of instant-clip-tokenizer), so the self-test also checks that
the data a lone checkpoint needs made it into the bundle.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.render.sd15_config import write_clip_tokenizer_files

CLIP_MAX_LENGTH = 77
CLIP_VOCAB_SIZE = 49408


def write_tokenizer(folder: Path) -> Path:
    """SD 1.5's CLIP tokenizer files (configs from resources/sd15, vocab and merges from the BPE data)."""

    folder.mkdir(parents=True, exist_ok=True)
    for config in paths.resource_path("sd15", "tokenizer").glob("*.json"):
        shutil.copy2(config, folder / config.name)
    return write_clip_tokenizer_files(folder)


def save_tiny_pipeline(folder: Path, seed: int = 0) -> Path:
    """Build the tiny random-weight pipeline and save it as a diffusers folder; returns the folder."""
    import torch
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(folder / "tokenizer-src"), local_files_only=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32,
            attention_head_dim=4, norm_num_groups=32,
        )
        # Four levels give SD's 8x latent downscale: a 64x64 picture is an 8x8 latent.
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(32, 32, 32, 32),
            layers_per_block=1, latent_channels=4, norm_num_groups=32, sample_size=64,
        )
        text_encoder = CLIPTextModel(CLIPTextConfig(
            hidden_size=32, intermediate_size=37, projection_dim=32, num_hidden_layers=2,
            num_attention_heads=4, vocab_size=CLIP_VOCAB_SIZE, max_position_embeddings=CLIP_MAX_LENGTH,
            bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, hidden_act="quick_gelu",
        ))
    scheduler = DPMSolverMultistepScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="epsilon", steps_offset=1, timestep_spacing="leading", algorithm_type="dpmsolver++",
    )
    pipe = StableDiffusionPipeline(
        vae=vae.eval(), text_encoder=text_encoder.eval(), tokenizer=tokenizer, unet=unet.eval(),
        scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    model_dir = folder / "tiny-sd15"
    pipe.save_pretrained(model_dir, safe_serialization=True)
    shutil.rmtree(folder / "tokenizer-src", ignore_errors=True)
    return model_dir
