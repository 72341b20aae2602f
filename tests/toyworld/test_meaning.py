"""End to end, the video shows what is narrated: the toy world's models through the whole product.

A two-scene narration is spoken, transcribed, split into scenes and rendered by `hear2see render` in every
mode with the toy Stable Diffusion (the committed world, see build.py); the toy CLIP then judges each
frame of the MP4 against the clip's own scene prompts. A take with no words whose sound maps to one of
the world's settings renders that setting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli

NARRATION = "A red boat sails on the blue sea. Then a yellow sun rises over the desert."


@pytest.fixture(scope="module")
def world() -> Path:
    from tests.toyworld.build import build

    return build()


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.speech import speak

    return speak(NARRATION, tmp_path_factory.mktemp("meaning") / "boat_and_sun.wav")


def _render_and_judge(world: Path, audio: Path, mode: str, folder: Path,
                      capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`hear2see render` at the app's defaults (64x64), then `hear2see eval` with the toy CLIP."""
    video, log = folder / f"{mode}.mp4", folder / "runs.jsonl"
    code, _, err = run_cli(["render", str(audio), "-o", str(video), "--model", str(world / "sd"), "--style", "none",
                            "--mode", mode, "--width", "64", "--height", "64", "--device", "cpu",
                            "--runs-log", str(log)], capsys)
    assert code == 0, err
    code, out, err = run_cli(["eval", str(video), "--json", "--runs-log", str(log), "--clip-model",
                              str(world / "clip")], capsys)
    assert code == 0, err
    record = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    return record, json.loads(out)["scene_following"]


@pytest.mark.parametrize("mode", ["classic", "smooth", "fast"])
def test_each_scene_s_frames_show_that_scene(world: Path, spoken: Path, mode: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    record, judged = _render_and_judge(world, spoken, mode, tmp_path, capsys)
    prompts = [scene["prompt"] for scene in record["storyboard"]["scenes"]]
    assert len(prompts) == 2 and "boat" in prompts[0] and "sun" in prompts[1], prompts
    assert min(judged["per_scene_accuracy"]) >= 0.8, (mode, judged)
    if mode == "smooth":  # in-betweens are pictures, not double exposures
        assert judged["transition_keep"] >= 0.9, judged


def test_the_committed_world_measures_what_its_report_says(world: Path) -> None:
    """Measured again from the committed weights: the toy CLIP knows the world (>= 90% per attribute); the toy
    SD draws the named object and colour far above chance (1 in 35), at the issue's 80%, and as its report
    says (a few captions either way: 200 renders judged by a toy CLIP)."""
    from tests.toyworld.build import measure
    from tests.toyworld.pack import WEIGHTS

    assert WEIGHTS.stat().st_size <= 8_000_000
    reported = json.loads((WEIGHTS.parent / "report.json").read_text(encoding="utf-8"))["measured"]
    measured = measure(world)
    assert min(measured["clip_zero_shot"].values()) >= 0.9, measured
    assert measured["sd_named_by_clip"]["object_and_colour"] >= 0.77, measured
    for key in ("object", "colour", "object_and_colour"):
        assert measured["sd_named_by_clip"][key] == pytest.approx(reported["sd_named_by_clip"][key], abs=0.03)


def test_a_take_of_waves_without_words_shows_the_sea(world: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Sound events in the toy world (issue 23): a take without speech whose sound the tagger hears as "Ocean"
    becomes scenes prompted "waves, sea", and the toy CLIP sees the sea in the frames. No AudioSet weights reach
    these machines, so the tagger is the tests' loudness tagger (quiet noise is "Ocean"): this checks the way
    from a heard sound to the picture, not the tagger's ear."""
    import numpy as np
    import soundfile as sf

    from hear2see_desktop.core.metrics.clipsim import load_clip
    from hear2see_desktop.core.video import read_frames
    from tests.tiny_tagger import noise_take, save_loudness_tagger
    from tests.toyworld.world import SETTINGS

    take, video, log = tmp_path / "waves.wav", tmp_path / "waves.mp4", tmp_path / "runs.jsonl"
    sf.write(take, noise_take([-40.0], 4.0, seed=3), 16000)
    code, _, err = run_cli(["render", str(take), "-o", str(video), "--model", str(world / "sd"), "--style", "none",
                            "--mode", "classic", "--frames", "6", "--width", "64", "--height", "64", "--device", "cpu",
                            "--sound-model", str(save_loudness_tagger(tmp_path / "tagger")), "--runs-log", str(log)],
                           capsys)
    assert code == 0, err
    board = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])["storyboard"]
    assert board["scenes"] and all("sea" in scene["prompt"].split(", ") for scene in board["scenes"]), board
    scorer = load_clip(world / "clip")
    pictures = scorer.image_embeddings(list(read_frames(video)))
    settings = np.stack([np.asarray(scorer.text_embedding(setting)[0]) for setting in SETTINGS])
    seen = [SETTINGS[int(np.argmax(settings @ np.asarray(picture)))] for picture in pictures]
    assert seen.count("sea") / len(seen) >= 0.8, seen
