"""Model thumbnails: found by path without hashing the model, saved once, centre-cropped, written atomically."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hear2see_desktop.core.models.registry import models_root
from hear2see_desktop.core.models.thumbnails import load_thumbnail, save_thumbnail, thumbnail_path

GREEN = (20, 200, 40)


def three_bands(height: int, width: int, horizontal: bool = True) -> np.ndarray:
    """Red | green | blue bands across the long side, the green one exactly the centre square."""
    rgb = np.zeros((height, width, 3), np.uint8)
    side = min(height, width)
    start = (max(height, width) - side) // 2
    if horizontal:
        rgb[:, :start] = (255, 0, 0)
        rgb[:, start:start + side] = GREEN
        rgb[:, start + side:] = (0, 0, 255)
    else:
        rgb[:start] = (255, 0, 0)
        rgb[start:start + side] = GREEN
        rgb[start + side:] = (0, 0, 255)
    return rgb


def test_the_path_is_under_the_models_folder_named_by_the_resolved_path(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "sd" / "dreamy.safetensors"
    model.parent.mkdir()
    model.write_bytes(b"weights")
    expected = hashlib.sha256(str(model.resolve()).encode()).hexdigest()
    assert thumbnail_path(str(model)) == models_root() / "thumbnails" / f"{expected}.png"
    monkeypatch.chdir(tmp_path)
    assert thumbnail_path("sd/../sd/dreamy.safetensors") == thumbnail_path(str(model))  # one model, one name
    hub_id = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert thumbnail_path(hub_id).name == hashlib.sha256(hub_id.encode()).hexdigest() + ".png"
    assert thumbnail_path(hub_id) != thumbnail_path(str(model))


@pytest.mark.parametrize(("height", "width", "horizontal"), [(100, 300, True), (240, 80, False), (50, 50, True)])
def test_a_thumbnail_is_the_centre_square_at_96_px(height: int, width: int, horizontal: bool) -> None:
    saved = save_thumbnail("model-a", three_bands(height, width, horizontal))
    assert saved == thumbnail_path("model-a") and saved.is_file()
    with Image.open(saved) as image:
        assert image.format == "PNG" and image.size == (96, 96) and image.mode == "RGB"
    pixels = load_thumbnail("model-a")
    assert pixels is not None and pixels.shape == (96, 96, 3) and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - GREEN).max() <= 2  # no red or blue from the cropped-off sides
    saved.unlink()


def test_an_existing_thumbnail_is_kept_and_no_temporary_file_is_left() -> None:
    first = save_thumbnail("model-b", np.full((64, 64, 3), 10, np.uint8))
    written = first.read_bytes()
    again = save_thumbnail("model-b", np.full((64, 64, 3), 250, np.uint8))
    assert again == first and first.read_bytes() == written
    assert [path.name for path in first.parent.iterdir()] == [first.name]


def test_nothing_to_load_or_a_broken_file_gives_none() -> None:
    assert load_thumbnail("never-rendered") is None
    broken = thumbnail_path("broken")
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a png")
    assert load_thumbnail("broken") is None


def test_an_unwritable_models_folder_gives_none_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "models-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("HEAR2SEE_MODELS_DIR", str(blocker))
    assert save_thumbnail("model-c", np.zeros((8, 8, 3), np.uint8)) is None


@pytest.mark.parametrize("rgb", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8),
                                 np.zeros((8, 8, 3), np.float32), np.zeros((0, 8, 3), np.uint8)])
def test_arrays_that_are_not_rgb_bytes_are_refused(rgb: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(h, w, 3\) uint8"):
        save_thumbnail("model-d", rgb)
