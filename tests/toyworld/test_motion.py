"""The toy motion models: the untrained ones fit the toy UNet, the world's clips move as it says, a few training
steps give a model the app's animate mode loads, and the committed trained one belongs to the committed world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.toyworld import motion, world


@pytest.fixture(scope="module")
def toy_sd() -> Path:
    from tests.toyworld.build import build

    return build() / "sd"


def _motion_and_image_outputs(sd: Path, adapter: object) -> tuple[torch.Tensor, torch.Tensor]:
    """One UNet call on a 6-frame clip: through the app's motion UNet with `adapter`, and through the toy image
    UNet frame by frame, on the same noise, timestep and text."""
    from diffusers import UNet2DConditionModel

    from hear2see_desktop.core.render.motion_pipeline import motion_unet
    from hear2see_desktop.core.render.motion_source import MotionShape, MotionSource

    unet = UNet2DConditionModel.from_pretrained(sd / "unet").eval()
    channels, layers = motion.unet_layout(sd)
    shape = MotionShape(channels, (layers,) * len(channels), mid_block=True)
    model = motion_unet(unet, adapter, MotionSource("diffusers", sd), shape)  # refuses one that does not fit
    generator = torch.Generator().manual_seed(0)
    frames = 6
    clip = torch.randn(1, 4, frames, 8, 8, generator=generator)
    text = torch.randn(1, 77, unet.config.cross_attention_dim, generator=generator).expand(frames, -1, -1)
    with torch.no_grad():
        moving = model(clip, 500, text).sample[0].permute(1, 0, 2, 3)
        image = unet(clip[0].permute(1, 0, 2, 3), 500, text).sample
    return moving, image


def test_the_zero_toy_motion_model_leaves_the_image_model_frame_by_frame(toy_sd: Path) -> None:
    moving, image = _motion_and_image_outputs(toy_sd, motion.build_adapter(toy_sd, "zero"))
    assert torch.allclose(moving, image, atol=1e-4), "zero output projections add nothing to each frame"


def test_the_random_toy_motion_model_changes_every_prediction(toy_sd: Path) -> None:
    adapter = motion.build_adapter(toy_sd, "random", seed=0)
    projections = [p for name, p in adapter.named_parameters() if ".proj_out." in name and name.endswith("weight")]
    assert projections and all(p.abs().sum() > 0 for p in projections), "diffusers' initialisation is not zero"
    moving, image = _motion_and_image_outputs(toy_sd, adapter)
    assert (moving - image).abs().mean() > 0.1 * image.abs().mean()


def test_toy_motion_models_are_the_same_from_the_same_seed(toy_sd: Path, tmp_path: Path) -> None:
    first = motion.build_adapter(toy_sd, "random", seed=4).state_dict()
    again = motion.build_adapter(toy_sd, "random", seed=4).state_dict()
    other = motion.build_adapter(toy_sd, "random", seed=5).state_dict()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not all(torch.equal(first[key], other[key]) for key in first)
    folder = motion.toy_motion_folder(toy_sd, "zero", cache=tmp_path)
    assert (folder / "config.json").is_file() and (folder / "diffusion_pytorch_model.safetensors").is_file()
    assert motion.toy_motion_folder(toy_sd, "zero", cache=tmp_path) == folder
    with pytest.raises(ValueError, match="unknown untrained toy motion variant"):
        motion.build_adapter(toy_sd, "trained")


def test_the_worlds_clips_move_boats_and_suns_and_keep_trees_still() -> None:
    boat = world.Scene("boat", "red", "sea", "day", "bottom", 1)  # in the middle: never cut by the frame
    sun = world.Scene("sun", None, "desert", "day", "top", 1)
    tree = world.Scene("tree", None, "meadow", "day", "left", 1)
    frames = 16
    boat_clip, sun_clip, tree_clip = (world.draw_clip(scene, 3, frames) for scene in (boat, sun, tree))
    assert boat_clip.shape == (frames, world.SIZE_PX, world.SIZE_PX, 3)
    assert all(np.array_equal(picture, tree_clip[0]) for picture in tree_clip), "a tree stands still"

    # the boat's picture at the clip's middle is the still picture moved by half a frame's way
    still = world.draw_scene(boat, 3)
    assert np.abs(boat_clip[7].astype(int) - still).mean() < np.abs(boat_clip[0].astype(int) - still).mean() / 2

    first, last = boat_clip[0], boat_clip[-1]
    moved_px = np.abs(first.astype(int) - last.astype(int)).sum(axis=2) > 30
    columns = np.nonzero(moved_px.any(axis=0))[0]
    way = world.motion_of("boat")[0] * (frames - 1)
    assert columns.max() - columns.min() > way, "the boat crossed the picture by its clip's way"

    clip, masks = world.draw_clip_and_masks(boat, 3, frames)
    assert np.array_equal(clip, boat_clip) and masks.shape == (frames, world.SIZE_PX, world.SIZE_PX)
    xs = np.arange(world.SIZE_PX)
    centres = [(mask.sum(axis=0) * xs).sum() / mask.sum() for mask in masks]
    assert centres[-1] - centres[0] == pytest.approx(way, abs=1.0), "the objects' mask moves with them"

    # the measure the trained model is judged by reads each world clip as the world moves it
    for scene, clip in ((boat, boat_clip), (sun, sun_clip), (tree, tree_clip)):
        travelled = motion.drift(clip)
        assert motion.moves_as_the_world_does(scene.object, travelled, frames), (scene, travelled)
    x, y = motion.drift(sun_clip)
    assert y < 0.5 * world.motion_of("sun")[1] * (frames - 1) and abs(x) < 3, "the sun rises straight up"
    assert not motion.moves_as_the_world_does("boat", motion.drift(tree_clip), frames), "a still clip is no boat's"
    assert not motion.moves_as_the_world_does("tree", motion.drift(boat_clip), frames), "a moving clip is no tree's"


def test_a_few_training_steps_give_a_motion_model_the_apps_animate_mode_renders_with(toy_sd: Path,
                                                                                   tmp_path: Path) -> None:
    from tests.toyworld.lcm import unet_fingerprint

    recipe = motion.MotionTraining(steps=2, batch=1, frames=4, clips=2)
    adapter = motion.train_motion_adapter(toy_sd, recipe, log=lambda _: None)
    projections = [p for name, p in adapter.named_parameters() if ".proj_out." in name]
    assert any(p.abs().sum() > 0 for p in projections), "training moved the motion layers off their zero start"
    still = motion.train_motion_adapter(toy_sd, motion.MotionTraining(steps=1, batch=1, frames=4, clips=2, lr=0.0),
                                        log=lambda _: None, start=adapter)
    assert all(torch.equal(still.state_dict()[k], v) for k, v in adapter.state_dict().items()), \
        "a second run starts from the first one's weights"
    packed = motion.save(adapter, tmp_path / "motion.safetensors", teacher=unet_fingerprint(toy_sd))
    folder = motion.toy_motion_folder(toy_sd, "trained", cache=tmp_path / "cache", source=packed)
    reloaded = motion.load_trained(toy_sd, packed).state_dict()
    assert all(torch.allclose(reloaded[k], v.half().float()) for k, v in adapter.state_dict().items())

    frames = motion.render_clip(toy_sd, folder, "a red boat drifting on the sea", seed=2, folder=tmp_path, frames=4)
    assert frames.shape == (4, world.SIZE_PX, world.SIZE_PX, 3)

    other = motion.save(adapter, tmp_path / "other.safetensors", teacher="0123456789abcdef")
    with pytest.raises(RuntimeError, match="trained on another UNet"):
        motion.toy_motion_folder(toy_sd, "trained", cache=tmp_path / "cache", source=other)


def test_the_committed_toy_motion_model_belongs_to_the_committed_world(toy_sd: Path, tmp_path: Path) -> None:
    folder = motion.toy_motion_folder(toy_sd, "trained", cache=tmp_path)  # refuses one trained on another UNet
    adapter = motion.load_trained(toy_sd, motion.WEIGHTS)
    zero = motion.build_adapter(toy_sd, "zero").state_dict()
    assert set(adapter.state_dict()) == set(zero), "the committed model has the toy layout's motion layers"
    assert (folder / "config.json").is_file()
    moving, image = _motion_and_image_outputs(toy_sd, adapter)
    assert (moving - image).abs().mean() > 1e-3, "the trained motion layers do something"
