"""TAESD previews and draft decodes, and the 4-step LCM-LoRA draft, with tiny models in the models folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.errors import ModelMissingError
from hear2see_desktop.core.jobs import never_cancelled
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import LoraSpec, RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import probe_video
from tests.cli_helpers import run_cli

FOX = Transcript(text="A red fox runs.", engine="given", model="test",
                 words=[Word("A", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0),
                        Word("runs.", 0.7, 1.0, 1.0)])


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(folder))
    return folder


def install_tiny_taesd(models_dir: Path) -> Path:
    """A random AutoencoderTiny with TAESD's layout (8x upsampling, 4 latent channels) where the catalogue puts it."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    model = AutoencoderTiny(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                            num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1))
    folder = models_dir / "taesd"
    model.save_pretrained(folder)
    assert {p.name for p in folder.iterdir()} >= {"config.json", "diffusion_pytorch_model.safetensors"}
    return folder


def settings_for(model: Path, **changes: object) -> RenderSettings:
    base = RenderSettings(model=str(model), width=64, height=64, steps=2, fps=4, frames=2, seed=7, device="cpu")
    return replace(base, **changes)


def render(wav: Path, out: Path, settings: RenderSettings, previews: list[np.ndarray] | None = None,
           frames_dir: Path | None = None) -> dict:
    def progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        if preview is not None and previews is not None:
            previews.append(preview)

    request = RenderRequest(wav, out, settings, transcript=FOX, runs_log=out.with_suffix(".jsonl"),
                            frames_dir=frames_dir, use_cache=False)
    return RenderJob(request).run(progress, never_cancelled).record


def test_previews_are_latent_colours_without_taesd_and_true_size_with_it(
        tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path, models_dir: Path) -> None:
    plain_previews: list[np.ndarray] = []
    plain = render(narration_wav, tmp_path / "plain.mp4", settings_for(tiny_models[0]), plain_previews)
    assert plain.preview_decoder == "latent-colours" and plain.decoder == "vae"
    assert plain_previews and plain_previews[0].shape == (8, 8, 3)  # one pixel per latent

    install_tiny_taesd(models_dir)
    previews: list[np.ndarray] = []
    record = render(narration_wav, tmp_path / "taesd.mp4", settings_for(tiny_models[0], mode="smooth", fps=6),
                    previews)
    assert record.preview_decoder == "taesd" and record.decoder == "vae"
    assert previews and all(p.shape == (64, 64, 3) and p.dtype == np.uint8 for p in previews)


def test_the_taesd_draft_decodes_frames_with_taesd(tiny_models: tuple[Path, Path, Path], narration_wav: Path,
                                                   tmp_path: Path, models_dir: Path) -> None:
    import torch

    from hear2see_desktop.core.render.taesd import load_taesd, taesd_decode

    with pytest.raises(ModelMissingError, match="hear2see models download taesd"):
        render(narration_wav, tmp_path / "none.mp4", settings_for(tiny_models[0], decoder="taesd"))
    assert not (tmp_path / "none.mp4").exists()

    folder = install_tiny_taesd(models_dir)
    vae_dir, taesd_dir = tmp_path / "vae-frames", tmp_path / "taesd-frames"
    vae = render(narration_wav, tmp_path / "vae.mp4", settings_for(tiny_models[0]), frames_dir=vae_dir)
    draft = render(narration_wav, tmp_path / "draft.mp4", settings_for(tiny_models[0], decoder="taesd"),
                   frames_dir=taesd_dir)
    assert draft.decoder == "taesd" and draft.unet_evaluations == vae.unet_evaluations
    assert probe_video(tmp_path / "draft.mp4").frame_count == probe_video(tmp_path / "vae.mp4").frame_count
    from PIL import Image

    vae_frame = np.asarray(Image.open(vae_dir / "frame_0001.png"))
    draft_frame = np.asarray(Image.open(taesd_dir / "frame_0001.png"))
    assert vae_frame.shape == draft_frame.shape == (64, 64, 3)
    assert not np.array_equal(vae_frame, draft_frame)
    # TAESD's output range: what the tiny decoder makes of any latent is the picture written.
    taesd = load_taesd(folder, torch.device("cpu"), torch.float32)
    picture = taesd_decode(taesd, torch.zeros(1, 4, 8, 8))
    assert picture.shape == (1, 64, 64, 3) and picture.dtype == np.uint8


def test_the_lcm_draft_renders_four_unguided_steps_with_the_lcm_lora(
        tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path, models_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hear2see_desktop.core.render.lcm import lcm_draft
    from tests.tiny_lora import save_tiny_lora

    settings = settings_for(tiny_models[0], loras=[])
    with pytest.raises(ModelMissingError, match="hear2see models download lcm-lora-sd15"):
        lcm_draft(settings)
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--lcm",
                            "--model", str(tiny_models[0])], capsys)
    assert code == 3 and "lcm-lora-sd15" in err and "Traceback" not in err

    lora = save_tiny_lora(tiny_models[0], tmp_path / "lora-out")
    installed = models_dir / "loras" / "lcm-lora-sdv1-5.safetensors"
    installed.parent.mkdir(parents=True)
    installed.write_bytes(lora.read_bytes())
    draft = lcm_draft(settings)
    assert (draft.scheduler, draft.steps, draft.cfg) == ("lcm", 4, 1.0)
    assert draft.loras == [LoraSpec(str(installed), 1.0)]
    assert lcm_draft(draft).loras == draft.loras  # applying it twice adds the LoRA once

    from hear2see_desktop.core.models.thumbnails import load_thumbnail, thumbnail_path

    assert not thumbnail_path(str(installed)).exists()
    record = render(narration_wav, tmp_path / "lcm.mp4", draft)
    assert record.unet_evaluations == record.frames * 4  # one sample per step: no CFG
    assert record.loras[0].path == str(installed)
    # The first picture made with a model or LoRA becomes its thumbnail in the pickers.
    for used in (str(installed), str(tiny_models[0])):
        thumbnail = load_thumbnail(used)
        assert thumbnail is not None and thumbnail.shape == (96, 96, 3)
    code, out, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "cli.mp4"), "--lcm",
                              "--model", str(tiny_models[0]), "--width", "64", "--height", "64", "--frames", "2",
                              "--fps", "4", "--prompt", "a red fox"], capsys)
    assert code == 0, err


def test_the_animate_draft_is_animatelcm_with_its_own_lora_in_six_steps(
        tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path, models_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from hear2see_desktop.core.render import pipeline_cache
    from hear2see_desktop.core.render.devices import resolve_device
    from hear2see_desktop.core.render.lcm import lcm_draft
    from hear2see_desktop.core.render.model_source import resolve_model_source
    from tests.tiny_lora import save_tiny_lora
    from tests.tiny_motion_adapter import save_tiny_motion_folder

    settings = settings_for(tiny_models[0], mode="animate", fps=8, transition_s=0.0)
    with pytest.raises(ModelMissingError, match="hear2see models download animatelcm` and `hear2see models "
                                                "download animatelcm-lora"):
        lcm_draft(settings)
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--lcm", "--mode", "animate",
                            "--model", str(tiny_models[0])], capsys)
    assert code == 3 and "animatelcm-lora" in err and "Traceback" not in err

    # Installed where the catalogue puts them: the motion module as a folder, its LoRA beside the other LoRAs.
    motion = save_tiny_motion_folder(models_dir / "motion" / "AnimateLCM")
    lora = models_dir / "loras" / "AnimateLCM_sd15_t2v_lora.safetensors"
    lora.parent.mkdir(parents=True)
    lora.write_bytes(save_tiny_lora(tiny_models[0], tmp_path / "lora-out").read_bytes())
    image_lcm = models_dir / "loras" / "lcm-lora-sdv1-5.safetensors"
    image_lcm.write_bytes(lora.read_bytes())
    draft = lcm_draft(replace(settings, loras=[LoraSpec(str(image_lcm), 1.0)]))
    assert (draft.scheduler, draft.steps, draft.cfg, draft.motion_model) == ("lcm", 6, 2.0, str(motion))
    assert draft.loras == [LoraSpec(str(lora), 0.8)], "AnimateLCM's own LoRA, never the image LCM-LoRA beside it"
    assert lcm_draft(draft) == draft

    record = render(narration_wav, tmp_path / "draft.mp4", draft)
    assert record.mode == "animate" and record.unet_evaluations == 6 * 2 * record.frames
    assert record.motion_model is not None and record.motion_model.path == str(motion.resolve())
    loaded = pipeline_cache.get_pipeline(resolve_model_source(str(tiny_models[0])), resolve_device("cpu"))
    assert loaded.animate is not None
    scheduler = loaded.animate[1].scheduler
    assert type(scheduler).__name__ == "LCMScheduler" and scheduler.config.beta_schedule == "linear"
