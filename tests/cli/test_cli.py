"""The `hear2see` command line as a user meets it: exit codes, one-sentence errors, JSON shapes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.cli_helpers import FAST, one_sentence, run_cli, start_cli_as_from_a_terminal


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    from hear2see_desktop import __version__

    assert run_cli(["--version"], capsys)[1].strip() == f"hear2see {__version__}"
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0 and all(name in out for name in ("transcribe", "prompt", "render", "runs"))
    for command in (["transcribe"], ["prompt"], ["render"], ["runs"], ["runs", "list"], ["runs", "show"]):
        code, out, _ = run_cli([*command, "--help"], capsys)
        assert code == 0 and "usage: hear2see" in out


def test_usage_errors_are_one_sentence_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["render", "x.wav"], capsys)  # -o missing
    assert code == 2 and "required" in one_sentence(err)
    code, _, err = run_cli(["render", "x.wav", "-o", "o.mp4", "--scheduler", "plms"], capsys)
    assert code == 2 and "invalid choice" in one_sentence(err)


def make_bad_inputs(folder: Path) -> dict[str, Path]:
    """One file per malformed input class the issue names."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["empty"] = folder / "empty.wav"
    files["empty"].write_bytes(b"")
    header = folder / "header.wav"
    sf.write(header, np.zeros(0, dtype=np.float32), 16000)
    files["header only"] = header
    full = folder / "full.wav"
    sf.write(full, (np.random.default_rng(0).standard_normal(32000) * 0.1).astype(np.float32), 16000)
    files["truncated"] = folder / "truncated.wav"
    files["truncated"].write_bytes(full.read_bytes()[:30])
    files["random bytes"] = folder / "noise.mp3"
    files["random bytes"].write_bytes(np.random.default_rng(1).bytes(4000))
    files["wrong extension"] = folder / "notes.wav"
    files["wrong extension"].write_text("these are my notes, not audio\n" * 20)
    files["blip"] = folder / "blip.wav"
    sf.write(files["blip"], np.sin(np.arange(2400) / 5).astype(np.float32) * 0.5, 16000)
    return files


@pytest.mark.parametrize("kind", ["empty", "header only", "truncated", "random bytes", "wrong extension", "blip"])
def test_malformed_audio_gets_exit_2_and_one_sentence(kind: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = make_bad_inputs(tmp_path / "bad")[kind]
    for command in (["transcribe", str(bad)], ["render", str(bad), "-o", str(tmp_path / "o.mp4"), *FAST]):
        code, out, err = run_cli(command, capsys)
        assert code == 2, (kind, command[0], err)
        sentence = one_sentence(err)
        assert sentence.startswith("hear2see: ") and sentence.endswith(".")
        assert out == ""
    assert not (tmp_path / "o.mp4").exists()


def test_silence_says_no_speech_unless_a_prompt_is_given(silence_wav: Path, tiny_models: tuple[Path, Path, Path],
                                                         tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["transcribe", str(silence_wav)], capsys)
    assert code == 2 and "No speech detected" in one_sentence(err)
    out = tmp_path / "quiet.mp4"
    code, _, err = run_cli(["render", str(silence_wav), "-o", str(out), "--model", str(tiny_models[0]),
                            "--frames", "1", *FAST], capsys)
    assert code == 2 and "No speech detected" in one_sentence(err) and not out.exists()
    code, stdout, _ = run_cli(["render", str(silence_wav), "-o", str(out), "--model", str(tiny_models[0]),
                               "--frames", "1", "--prompt", "a quiet lake", *FAST], capsys)
    assert code == 0 and stdout.strip() == str(out) and out.exists()


def test_transcribe_json_shape(narration_wav: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["transcribe", str(narration_wav), "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"text", "words", "engine", "model", "duration_s"}
    assert data["engine"] == "whisper" and "fox" in data["text"].lower()
    assert all(set(w) == {"word", "start", "end", "conf"} for w in data["words"])
    starts = [w["start"] for w in data["words"]]
    assert starts == sorted(starts) and 2.0 < data["duration_s"] < 5.0


def test_prompt_from_text_and_from_a_transcript_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["prompt", "Um, so a red fox runs through the snowy forest at dawn", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and set(data) == {"prompt", "negative_prompt", "keywords", "style", "dropped"}
    assert "fox" in data["prompt"] and "um" not in data["prompt"].lower().split()
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps({"text": "an owl at night", "words": [], "engine": "x", "model": "y",
                                      "duration_s": 1.0}))
    code, out, _ = run_cli(["prompt", "--transcript", str(transcript), "--style", "anime"], capsys)
    assert code == 0 and "owl" in out
    transcript.write_text("{not json")
    code, _, err = run_cli(["prompt", "--transcript", str(transcript)], capsys)
    assert code == 2 and "not a transcript JSON file" in one_sentence(err)
    code, _, err = run_cli(["prompt", "a fox", "--style", "vaporwave"], capsys)
    assert code == 2 and "Unknown style" in one_sentence(err)


def test_render_list_show_and_replay(narration_wav: Path, tiny_models: tuple[Path, Path, Path], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "runs.jsonl"
    out = tmp_path / "fox.mp4"
    code, stdout, _ = run_cli(["render", str(narration_wav), "-o", str(out), "--model", str(tiny_models[0]),
                               "--frames", "2", "--runs-log", str(log), "--seed", "5", *FAST], capsys)
    assert code == 0 and stdout.strip() == str(out)
    code, listing, _ = run_cli(["runs", "list", "--runs-log", str(log), "--json"], capsys)
    records = json.loads(listing)
    assert code == 0 and len(records) == 1 and records[0]["seeds"] == [5, 6]
    run_id = records[0]["id"]
    code, text, _ = run_cli(["runs", "list", "--runs-log", str(log)], capsys)
    assert run_id in text
    code, shown, _ = run_cli(["runs", "show", run_id[:-2], "--runs-log", str(log)], capsys)
    assert json.loads(shown)["id"] == run_id
    replayed = tmp_path / "again.mp4"
    code, stdout, _ = run_cli(["render", "--replay", run_id, "-o", str(replayed), "--runs-log", str(log)], capsys)
    assert code == 0
    records = json.loads(run_cli(["runs", "list", "--runs-log", str(log), "--json"], capsys)[1])
    assert records[1]["replay_of"] == run_id
    assert records[1]["output"]["sha256"] == records[0]["output"]["sha256"]
    code, text, _ = run_cli(["runs", "rate", run_id, "4", "--runs-log", str(log)], capsys)
    assert code == 0 and "4/5" in text
    code, text, _ = run_cli(["runs", "list", "--runs-log", str(log)], capsys)
    assert "Mean rating by settings" in text and "4.00  (1 rated)" in text
    code, _, err = run_cli(["runs", "rate", run_id, "9", "--runs-log", str(log)], capsys)
    assert code == 2 and "from 1 to 5" in one_sentence(err)


def test_missing_model_exits_3_and_says_how_to_get_it(narration_wav: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "o.mp4"), *FAST], capsys)
    sentence = one_sentence(err)
    assert code == 3 and "hear2see models download sd15" in sentence and "Hugging Face cache" in sentence
    assert "hear2see models import FILE" in sentence
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "o.mp4"), "--model", "someone/other",
                            *FAST], capsys)
    assert code == 3 and "huggingface-cli download someone/other" in one_sentence(err)  # not in the catalogue
    code, _, err = run_cli(["transcribe", str(narration_wav), "--engine", "vosk"], capsys)
    assert code == 3 and "Vosk" in one_sentence(err)


def test_pickle_checkpoints_and_bad_paths_are_refused(narration_wav: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"pickle")
    for model, words in ((str(ckpt), "pickle"), (str(tmp_path / "nope.safetensors"), "does not exist")):
        code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "o.mp4"), "--model", model,
                                *FAST], capsys)
        assert code == 2 and words in one_sentence(err)
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "o.gif")], capsys)
    assert code == 2 and ".mp4" in one_sentence(err)
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(tmp_path / "o.mp4"), "--steps", "0"], capsys)
    assert code == 2 and "Steps" in one_sentence(err)


def test_ctrl_c_exits_130_and_leaves_no_partial_video(narration_wav: Path, tiny_models: tuple[Path, Path, Path],
                                                      tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = start_cli_as_from_a_terminal(
        [sys.executable, "-m", "hear2see_desktop", "render", str(narration_wav), "-o", str(out_dir / "v.mp4"),
         "--model", str(tiny_models[0]), "--width", "128", "--height", "128", "--steps", "30", "--fps", "8",
         "--device", "cpu", "--prompt", "a fox"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:  # plain progress lines: stdout is not a TTY
        if line.startswith("Image 2/") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Cancelled" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []


def test_storyboard_then_render_with_the_edited_board(narration_wav: Path, tiny_models: tuple[Path, Path, Path],
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    transcript = {
        "text": "A red fox runs. It stops at the river.",
        "words": [{"word": w, "start": s, "end": e, "conf": 1.0} for w, s, e in [
            ("A", 0.1, 0.2), ("red", 0.2, 0.4), ("fox", 0.4, 0.7), ("runs.", 0.7, 1.0), ("It", 1.5, 1.6),
            ("stops", 1.6, 1.9), ("at", 1.9, 2.0), ("the", 2.0, 2.1), ("river.", 2.1, 2.6)]],
        "engine": "given", "model": "test", "duration_s": 3.0,
    }
    (tmp_path / "t.json").write_text(json.dumps(transcript), encoding="utf-8")
    board_path = tmp_path / "board.json"
    code, out, _ = run_cli(["storyboard", "--transcript", str(tmp_path / "t.json"), "-o", str(board_path),
                            "--min-scene", "1", "--max-scene", "2"], capsys)
    assert code == 0
    board = json.loads(board_path.read_text(encoding="utf-8"))
    assert len(board["scenes"]) == len(out.splitlines()) >= 2
    assert board["scenes"][1]["prompt"].startswith("red fox")  # "it" is still the fox

    board["scenes"][1]["prompt"] = "a lighthouse in a storm"
    board["duration_s"] = board["scenes"][-1]["end_s"] = round(float(sf.info(narration_wav).duration), 3)
    board_path.write_text(json.dumps(board), encoding="utf-8")
    out_mp4 = tmp_path / "board.mp4"
    code, _, err = run_cli(["render", str(narration_wav), "-o", str(out_mp4), "--model", str(tiny_models[0]),
                            "--storyboard", str(board_path), "--mode", "fast", "--srt", str(tmp_path / "b.srt"),
                            "--runs-log", str(tmp_path / "runs.jsonl"),
                            "--width", "64", "--height", "64", "--steps", "2", "--device", "cpu"], capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert record["mode"] == "fast" and record["fps"] == 12  # the mode's default rate
    assert record["storyboard"]["scenes"][1]["prompt"] == "a lighthouse in a storm"
    assert (tmp_path / "b.srt").read_text(encoding="utf-8").startswith("1\n")


def test_storyboard_and_mode_mistakes_are_one_sentence(narration_wav: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    cases = [
        (["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--storyboard", str(tmp_path / "broken.json")],
         "broken.json"),
        (["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--mode", "smooth", "--reactivity", "2"],
         "Reactivity must be between 0 and 1"),
        (["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--mode", "smooth", "--transition", "-1"],
         "The transition must be between 0 (a cut) and 10 seconds"),
        (["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--transition", "soon"],
         "'soon' is not a number of seconds or 'whole'"),
        (["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--srt", str(tmp_path / "x.txt")],
         "must end in .srt"),
        (["render", str(narration_wav), "-o", str(tmp_path / "x.mp4"), "--min-scene", "3", "--max-scene", "4"],
         "at least twice the shortest"),
        (["storyboard", str(narration_wav), "-o", str(tmp_path / "board.txt")], "must end in .json"),
    ]
    for args, expected in cases:
        code, _, err = run_cli(args, capsys)
        assert code == 2 and expected in one_sentence(err), (args, err)
    assert not (tmp_path / "x.mp4").exists()


def test_runs_list_shows_hand_edited_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "runs.jsonl"
    records = [{"id": "a", "rating": "five", "size": 512, "seeds": [], "prompt": "x"},
               {"id": "b", "rating": 9, "size": [64], "settings": "odd"},
               {"id": "c", "rating": 4, "size": [64, 64], "seeds": [7], "prompt": "a fox"}]
    log.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    code, out, err = run_cli(["runs", "list", "--runs-log", str(log)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("a ") and "?x?" in lines[0] and "★" not in lines[0]
    assert lines[1].startswith("b ") and "★" not in lines[1]
    assert lines[2].startswith("c ") and "64x64" in lines[2] and "seed 7" in lines[2] and "★★★★  a fox" in lines[2]


def test_runs_list_searches_prompts_and_marks_deleted_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "runs.jsonl"
    records = [{"id": "a", "prompt": "A red FOX", "size": [64, 64]},
               {"id": "b", "prompt": "an owl", "storyboard": {"scenes": [{"prompt": "a fox at dawn"}]}},
               {"id": "c", "prompt": "the sea", "storyboard": {"scenes": 5}, "seeds": 3},
               {"event": "deleted", "run": "a", "removed": []}]
    log.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    code, out, err = run_cli(["runs", "list", "--runs-log", str(log), "--search", "fox"], capsys)
    assert code == 0 and not err
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["a", "b"] and "(deleted)" in lines[0] and "(deleted)" not in lines[1]
    code, out, _ = run_cli(["runs", "list", "--runs-log", str(log), "--search", "SEA", "--json"], capsys)
    assert [record["id"] for record in json.loads(out)] == ["c"]
    code, out, err = run_cli(["runs", "list", "--runs-log", str(log), "--search", "giraffe"], capsys)
    assert code == 0 and not out and "No runs with 'giraffe'" in one_sentence(err)
