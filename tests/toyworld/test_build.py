"""The toy world's build writes folders the libraries and the app load offline (a few training steps only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import FAST, run_cli


def test_the_build_writes_clip_and_sd_folders_that_load_offline_and_render(
        tmp_path: Path, narration_wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPModel, CLIPProcessor

    from tests.toyworld.build import Recipes, train_into

    report = train_into(tmp_path / "world", recipes=Recipes.smoke())
    assert set(report["clip_zero_shot"]) == {"object", "colour", "setting", "time"}
    clip_dir, sd_dir = tmp_path / "world" / "clip", tmp_path / "world" / "sd"
    clip = CLIPModel.from_pretrained(clip_dir, local_files_only=True)
    processor = CLIPProcessor.from_pretrained(clip_dir, local_files_only=True)
    assert processor.tokenizer("red boat, sea").input_ids[0] == clip.config.text_config.bos_token_id
    pipe = StableDiffusionPipeline.from_pretrained(sd_dir, local_files_only=True)
    assert pipe.vae_scale_factor == 8 and pipe.scheduler.config.beta_schedule == "scaled_linear"
    assert pipe.unet.config.cross_attention_dim == pipe.text_encoder.config.hidden_size

    out = tmp_path / "boat.mp4"
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(out), "--model", str(sd_dir), "--frames", "2",
                            "--style", "none", "--runs-log", str(tmp_path / "runs.jsonl"), *FAST], capsys)
    assert code == 0, err
    code, stdout, err = run_cli(["eval", str(out), "--json", "--runs-log", str(tmp_path / "runs.jsonl"),
                                 "--clip-model", str(clip_dir)], capsys)
    assert code == 0, err
    assert -1.0 <= json.loads(stdout)["clipsim"]["score"] <= 1.0
