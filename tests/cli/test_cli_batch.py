"""`hear2see batch` as a user meets it: many narrations in, one MP4 each, a summary, exit codes, --resume."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.cli.batch_inputs import job_options
from hear2see_desktop.cli.parser import build_parser, job_options_parser
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.runlog import read_log
from hear2see_desktop.core.video import probe_video
from tests.cli_helpers import FAST, run_cli


def quiet(path: Path, seconds: float = 1.5) -> Path:
    """Silence: with --prompt there is nothing to transcribe, so each item costs one tiny image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(int(seconds * 16000), dtype=np.float32), 16000, subtype="PCM_16")
    return path


def tiny(model: Path, log: Path) -> list[str]:
    return ["--model", str(model), "--prompt", "a quiet lake", "--frames", "1", "--runs-log", str(log), *FAST]


ROW = re.compile(r"^\s*\d+  (?P<label>.+?)\s{2,}(?P<result>rendered|skipped|bad input|failed|cancelled)\s{2,}"
                 r"(?P<detail>.*)$")


def summary_rows(out: str) -> dict[str, list[str]]:
    """The summary table's rows by the item's file name: [result, output or reason]."""
    rows = {}
    for line in out.splitlines():
        if match := ROW.match(line):
            rows[Path(match["label"]).name] = [match["result"], match["detail"]]
    return rows


def test_three_good_inputs_and_a_bad_one_then_resume(tiny_models: tuple[Path, Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    takes = tmp_path / "takes"
    quiet(takes / "one.wav")
    quiet(takes / "two.wav", 2.0)
    (takes / "notes.wav").write_text("these are my notes, not audio\n" * 20)
    (takes / "readme.txt").write_text("not an input: a folder gives its audio files only")
    three = quiet(tmp_path / "three.wav")
    out_dir, log = tmp_path / "videos", tmp_path / "runs.jsonl"

    code, out, err = run_cli(["batch", str(takes), str(three), "-o", str(out_dir), *tiny(tiny_models[0], log)],
                             capsys)

    assert code == 2, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["one.mp4", "three.mp4", "two.mp4"]
    assert probe_video(out_dir / "two.mp4").frame_count == 8 and probe_video(out_dir / "one.mp4").has_audio
    rows = summary_rows(out)
    assert rows["notes.wav"][0] == "bad input" and "notes.wav is not an audio file" in rows["notes.wav"][1]
    assert rows["one.wav"] == ["rendered", str(out_dir / "one.mp4")] and rows["three.wav"][0] == "rendered"
    assert "4 items: 3 rendered, 1 bad input." in out and "Traceback" not in err
    assert "[4/4" in err  # the bar named each item's place in the batch
    assert len(read_log(log).records) == 3

    (out_dir / "two.mp4").unlink()
    code, out, err = run_cli(["batch", str(takes), str(three), "-o", str(out_dir), "--resume",
                              *tiny(tiny_models[0], log)], capsys)

    assert code == 2, err
    rows = summary_rows(out)
    assert rows["one.wav"][0] == rows["three.wav"][0] == "skipped" and "already complete" in rows["one.wav"][1]
    assert rows["two.wav"][0] == "rendered" and (out_dir / "two.mp4").is_file()
    assert len(read_log(log).records) == 4  # only two.wav rendered again

    code, out, _ = run_cli(["batch", str(three), "-o", str(out_dir), "--resume", *tiny(tiny_models[0], log)],
                           capsys)
    assert code == 0 and "1 item: 1 skipped." in out


def test_json_jobs_take_their_own_options_and_names(tiny_models: tuple[Path, Path, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    quiet(tmp_path / "lists" / "take.wav")
    jobs = tmp_path / "lists" / "jobs.json"
    jobs.write_text(json.dumps([{"audio": "take.wav", "out": "wide.mp4", "width": 96, "steps": 3},
                                {"audio": "take.wav", "stepz": 3},
                                {"audio": "take.wav", "mode": "sideways"}]))
    out_dir, log = tmp_path / "videos", tmp_path / "runs.jsonl"

    code, out, err = run_cli(["batch", str(jobs), str(tmp_path / "missing.wav"), "-o", str(out_dir),
                              *tiny(tiny_models[0], log)], capsys)

    assert code == 2, err
    assert [p.name for p in out_dir.iterdir()] == ["wide.mp4"]
    assert probe_video(out_dir / "wide.mp4").width == 96
    record = read_log(log).records[0]
    assert record["settings"]["steps"] == 3 and record["settings"]["frames"] == 1  # own option, and the batch's
    text = out.replace("\n", " ")
    assert "Job 2 in jobs.json: unknown option 'stepz'" in text
    assert "Job 3 in jobs.json: Argument --mode: invalid choice: 'sideways'" in text
    assert f"There is no file or folder at {tmp_path / 'missing.wav'}" in text


def test_a_job_overrides_the_batch_options_as_the_flags_would() -> None:
    parser = job_options_parser()
    batch = build_parser().parse_args(["batch", "x.wav", "-o", "out", "--steps", "4", "--lora", "a.safetensors",
                                       "--captions"])
    own = job_options({"steps": 9, "lora": ["b.safetensors:0.5"], "captions": False, "keyframe_interval": 2,
                       "negative": "-blurry"}, batch, parser)
    assert (own.steps, own.lora, own.captions, own.keyframe_interval, own.negative) == (
        9, ["b.safetensors:0.5"], False, 2.0, "-blurry")
    assert (own.width, own.mode) == (batch.width, batch.mode)
    assert (batch.steps, batch.lora, batch.captions) == (4, ["a.safetensors"], True)  # the batch's own untouched
    with pytest.raises(BadInputError, match="'captions' is a switch"):
        job_options({"captions": "yes"}, batch, parser)
