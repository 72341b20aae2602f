"""`hear2see render --aspect`: a vertical video for Shorts comes out vertical, its captions inside the frame."""

from __future__ import annotations

import json
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from hear2see_desktop.cli import build_parser
from hear2see_desktop.cli.render_flags import settings_from_args
from hear2see_desktop.core.aspect import FULL_SIZES
from hear2see_desktop.core.settings import RenderSettings
from tests.cli_helpers import one_sentence, run_cli

QUICK = ["--steps", "2", "--fps", "4", "--device", "cpu", "--frames", "2", "--seed", "3"]


def parse(*flags: str) -> RenderSettings:
    return settings_from_args(build_parser().parse_args(["render", "in.wav", "-o", "out.mp4", *flags]))


def decoded(path: Path) -> tuple[tuple[int, int], list[np.ndarray]]:
    """The video's (width, height) and its frames, as ffmpeg decodes them."""
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = reader.__next__()
    width, height = meta["size"]
    return (width, height), [np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy() for raw in reader]


def test_aspect_sets_the_presets_size() -> None:
    assert (parse("--aspect", "9:16").width, parse("--aspect", "9:16").height) == (384, 704)
    for aspect, size in FULL_SIZES.items():
        settings = parse("--aspect", aspect)
        assert (settings.width, settings.height) == size
    assert (parse().width, parse().height) == (512, 512), "no --aspect: the settings' default size"


def test_aspect_with_one_side_picks_the_size_and_the_other_side_follows() -> None:
    settings = parse("--aspect", "9:16", "--width", "192")
    assert (settings.width, settings.height) == (192, 320)
    settings = parse("--aspect", "16:9", "--height", "576")
    assert (settings.width, settings.height) == (1024, 576)
    settings = parse("--aspect", "16:9", "--width", "768", "--height", "432")
    assert (settings.width, settings.height) == (768, 432), "both sides of the aspect's shape: taken as given"


def test_an_aspect_that_disagrees_with_the_size_is_one_sentence_and_exit_2(
        narration_wav: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out, audio = tmp_path / "out.mp4", str(narration_wav)
    code, _, err = run_cli(["render", audio, "-o", str(out), "--aspect", "9:16", "--width", "512",
                            "--height", "512"], capsys)
    sentence = one_sentence(err)
    assert code == 2
    assert "--aspect 9:16 and --width 512 --height 512 disagree" in sentence
    assert "384x704" in sentence, "the sentence says what --aspect alone would give"
    code, _, err = run_cli(["render", audio, "-o", str(out), "--aspect", "16:9", "--width", "64"], capsys)
    assert code == 2 and "cannot keep its shape with --width 64" in one_sentence(err)
    code, _, err = run_cli(["render", audio, "-o", str(out), "--aspect", "3:2"], capsys)
    assert code == 2 and "--aspect" in one_sentence(err)
    assert not out.exists()


def test_aspect_9_16_renders_a_vertical_video_with_captions_inside_the_frame(
        narration_wav: Path, tiny_models: tuple[Path, Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "runs.jsonl"
    common = ["--model", str(tiny_models[0]), "--runs-log", str(log), "--aspect", "9:16", *QUICK]
    captioned, plain = tmp_path / "short.mp4", tmp_path / "plain.mp4"
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(captioned), "--captions", *common], capsys)
    assert code == 0, err
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(plain), *common], capsys)  # the same pictures
    assert code == 0, err

    (width, height), frames = decoded(captioned)
    assert (width, height) == (384, 704) and height > width, f"decoded as {width}x{height}, not a vertical video"
    record = json.loads(log.read_text(encoding="utf-8").splitlines()[0])
    assert record["size"] == [384, 704] and record["aspect"] == "9:16"
    assert record["settings"]["caption_layout"] == 2

    # The caption: what differs from the same pictures without it (well above the encoder's own noise).
    _, plain_frames = decoded(plain)
    middle = len(frames) // 2
    caption = np.abs(frames[middle].astype(int) - plain_frames[middle].astype(int)).max(axis=2) > 96
    rows, columns = np.flatnonzero(caption.any(axis=1)), np.flatnonzero(caption.any(axis=0))
    assert rows.size > 0, "no caption was burned into the vertical frame"
    assert columns.min() >= 0.08 * width and columns.max() <= 0.92 * width, \
        f"caption runs from column {columns.min()} to {columns.max()} of {width}: off or near the frame's sides"
    assert rows.max() <= 0.82 * height, "caption sits in the bottom fifth, under the apps' buttons and titles"
    bands = np.count_nonzero(np.diff(rows) > 1) + 1
    assert bands >= 2, "the narration's sentence was not wrapped onto lines that fit the narrow frame"
