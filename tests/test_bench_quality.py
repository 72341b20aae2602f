"""bench/quality.py's animate rows: the toy motion models fit the toy world's UNet, and an animate render of the
toy world goes through the benchmark's own render and judgement into a table row.

The benchmark scripts import each other as top-level modules (`common`, `toy_motion`), as when run as files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import quality  # noqa: E402
import toy_motion  # noqa: E402

NARRATION = "A red boat sails on the blue sea. Then a yellow sun rises over the desert."
STEPS = 2


@pytest.fixture(scope="module")
def toy_sd() -> Path:
    from tests.toyworld.build import build

    return build() / "sd"


def _motion_and_image_outputs(sd: Path, variant: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One UNet call on a 6-frame clip: through the app's motion UNet with the toy motion model, and through
    the toy image UNet frame by frame, on the same noise, timestep and text."""
    from diffusers import UNet2DConditionModel

    from hear2see_desktop.core.render.motion_pipeline import motion_unet
    from hear2see_desktop.core.render.motion_source import MotionShape, MotionSource

    unet = UNet2DConditionModel.from_pretrained(sd / "unet").eval()
    channels, layers = toy_motion.unet_layout(sd)
    adapter = toy_motion.build_toy_motion_adapter(sd, variant, seed=0)
    shape = MotionShape(channels, (layers,) * len(channels), mid_block=True)
    model = motion_unet(unet, adapter, MotionSource("diffusers", sd), shape)  # refuses one that does not fit
    generator = torch.Generator().manual_seed(0)
    frames = 6
    clip = torch.randn(1, 4, frames, 8, 8, generator=generator)
    text = torch.randn(1, 77, unet.config.cross_attention_dim, generator=generator).expand(frames, -1, -1)
    with torch.no_grad():
        motion = model(clip, 500, text).sample[0].permute(1, 0, 2, 3)
        image = unet(clip[0].permute(1, 0, 2, 3), 500, text).sample
    return motion, image


def test_the_zero_toy_motion_model_leaves_the_image_model_frame_by_frame(toy_sd: Path) -> None:
    motion, image = _motion_and_image_outputs(toy_sd, "zero")
    assert torch.allclose(motion, image, atol=1e-4), "zero output projections add nothing to each frame"


def test_the_random_toy_motion_model_changes_every_prediction(toy_sd: Path) -> None:
    adapter = toy_motion.build_toy_motion_adapter(toy_sd, "random", seed=0)
    projections = [p for name, p in adapter.named_parameters() if ".proj_out." in name and name.endswith("weight")]
    assert projections and all(p.abs().sum() > 0 for p in projections), "diffusers' initialisation is not zero"
    motion, image = _motion_and_image_outputs(toy_sd, "random")
    assert (motion - image).abs().mean() > 0.1 * image.abs().mean()


def test_toy_motion_models_are_the_same_from_the_same_seed(toy_sd: Path, tmp_path: Path) -> None:
    first = toy_motion.build_toy_motion_adapter(toy_sd, "random", seed=4).state_dict()
    again = toy_motion.build_toy_motion_adapter(toy_sd, "random", seed=4).state_dict()
    other = toy_motion.build_toy_motion_adapter(toy_sd, "random", seed=5).state_dict()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not all(torch.equal(first[key], other[key]) for key in first)
    folder = toy_motion.toy_motion_folder(toy_sd, "zero", cache=tmp_path)
    assert (folder / "config.json").is_file() and (folder / "diffusion_pytorch_model.safetensors").is_file()
    assert toy_motion.toy_motion_folder(toy_sd, "zero", cache=tmp_path) == folder
    with pytest.raises(ValueError, match="unknown toy motion variant"):
        toy_motion.build_toy_motion_adapter(toy_sd, "trained")


def test_an_animate_row_renders_and_judges_the_toy_world(toy_sd: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from hear2see_desktop.core.render.animate import clip_timing
    from tests.speech import speak

    monkeypatch.setattr(toy_motion, "CACHE_DIR", tmp_path / "cache")  # not the benchmarks' cache folder
    audio = speak(NARRATION, tmp_path / "narration.wav")
    transcript = quality.transcribe(audio)
    row = quality.Mode("animate-zero", "animate", {"motion": "zero", "steps": STEPS})
    video, runs_log = tmp_path / "animate.mp4", tmp_path / "runs.jsonl"
    run = quality.render(toy_sd, audio, transcript, row, video, runs_log, seed=1)
    record = run["record"]
    assert record.settings.mode == "animate"
    assert Path(record.settings.motion_model).parent == tmp_path / "cache"
    timing = clip_timing(record.audio.duration_s, record.settings.fps)
    assert record.unet_evaluations == STEPS * 2 * timing.native_frames, "one UNet pass per native frame and step"
    assert run["vae_decodes"] == timing.native_frames, "each native frame decoded once; in-betweens are flow"

    run["quality"] = quality.judge(video, audio, toy_sd.parent / "clip", runs_log)
    assert run["quality"]["frames"] == timing.output_frames
    following = run["quality"]["scene_following"]
    assert following["transition_keep"] is None and following["worst_transition"] is None
    cells = dict(zip(quality.COLUMNS, quality.table_row(quality.summarise(row, [run])), strict=True))
    assert cells["transition keep (mean)"] == cells["worst in-between"] == "n/a"
    for column in ("prompt fidelity", "scene-following", "flicker (warped, 0-255)", "consecutive CLIP", "AV-Align",
                   "UNet samples / s video", "wall s / s video"):
        float(cells[column])  # a number, not a dash
