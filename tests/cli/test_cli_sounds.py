"""`hear2see sounds`, and --sound-model on storyboard and render, as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from tests.cli_helpers import FAST, one_sentence, run_cli
from tests.tiny_tagger import noise_take, save_loudness_tagger


@pytest.fixture(scope="module")
def tagger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_loudness_tagger(tmp_path_factory.mktemp("tagger") / "loudness")


@pytest.fixture(scope="module")
def rain_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six seconds of loud rain-like noise and no speech."""
    path = tmp_path_factory.mktemp("rain") / "rain.wav"
    sf.write(path, noise_take([-15.0], 6.0, seed=5), 16000)
    return path


def test_sounds_prints_a_table_or_json(rain_wav: Path, tagger_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["sounds", str(rain_wav), "--sound-model", str(tagger_dir), "--json"], capsys)
    assert code == 0
    track = json.loads(out)
    assert track["duration_s"] == pytest.approx(6.0) and track["windows"][-1]["end_s"] == pytest.approx(6.0)
    assert {w["events"][0]["label"] for w in track["windows"]} == {"Rain"}
    assert all(-17 < w["loudness_dbfs"] < -13 for w in track["windows"])
    code, out, _ = run_cli(["sounds", str(rain_wav), "--sound-model", str(tagger_dir)], capsys)
    lines = out.splitlines()
    assert code == 0 and "sound events" in lines[0] and len(lines) == 1 + len(track["windows"])
    assert lines[1].split()[0] == "0.00-" and "Rain 1.00" in lines[1] and "dBFS" in lines[1]


def test_sounds_without_the_model_is_one_sentence_saying_how_to_get_it(rain_wav: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["sounds", str(rain_wav)], capsys)
    assert code == 2 and not out
    assert "hear2see models download ast-audioset" in one_sentence(err)


def test_a_storyboard_of_a_take_without_speech_follows_its_sounds(rain_wav: Path, tagger_dir: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"text": "", "words": [], "duration_s": 6.0}), encoding="utf-8")
    board_path = tmp_path / "board.json"
    code, out, err = run_cli(["storyboard", str(rain_wav), "--transcript", str(empty), "--sound-model",
                              str(tagger_dir), "-o", str(board_path)], capsys)
    assert code == 0, err
    assert "No speech detected in rain.wav: the scenes follow its sounds." in err
    board = json.loads(board_path.read_text(encoding="utf-8"))
    assert board["sounds"]["windows"] and all("rain" in s["sound_words"] for s in board["scenes"])
    assert all("rain" in s["prompt"].split(", ") for s in board["scenes"]) and len(out.splitlines()) >= 1
    code, _, err = run_cli(["storyboard", "--transcript", str(empty), "-o", str(board_path)], capsys)
    assert code == 2 and "no timed words" in one_sentence(err), "without a sound model nothing changes"


def test_render_hears_the_take_and_the_record_keeps_what_it_added(rain_wav: Path, tagger_dir: Path,
                                                                  tiny_models: tuple[Path, Path, Path],
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out, log = tmp_path / "rain.mp4", tmp_path / "runs.jsonl"
    code, stdout, err = run_cli(["render", str(rain_wav), "-o", str(out), "--model", str(tiny_models[0]),
                                 "--frames", "1", "--sound-model", str(tagger_dir), "--runs-log", str(log), *FAST],
                                capsys)
    assert code == 0, err
    record = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert record["transcript"]["text"].strip() or "No speech detected in rain.wav" in err
    board = record["storyboard"]
    assert board["sounds"]["windows"] and any("rain" in s["prompt"].split(", ") for s in board["scenes"])
    # A replay needs no tagger (its request names none): the record's track and words make the same video.
    code, _, err = run_cli(["render", "--replay", record["id"], "-o", str(tmp_path / "again.mp4"),
                            "--runs-log", str(log)], capsys)
    again = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert code == 0, err
    assert again["storyboard"] == board and again["output"]["sha256"] == record["output"]["sha256"]
    code, _, err = run_cli(["render", str(rain_wav), "-o", str(tmp_path / "x.mp4"), "--model", str(tiny_models[0]),
                            "--sound-model", str(tmp_path / "no-tagger"), *FAST], capsys)
    assert code == 3 and "ast-audioset" in one_sentence(err) and not (tmp_path / "x.mp4").exists()
