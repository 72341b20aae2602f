"""`hear2see train-lora` as a user meets it: exit codes, one-sentence errors, Ctrl-C keeps a checkpoint."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from hear2see_desktop import cli_progress
from hear2see_desktop.cli import model_commands
from tests.cli_helpers import one_sentence, run_cli
from tests.tiny_dataset import write_shapes_dataset

FAST = ["--rank", "4", "--steps", "4", "--resolution", "64", "--batch", "2", "--lr", "1e-3", "--device", "cpu"]


def test_help_lists_train_lora(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0 and "train-lora" in out
    code, out, _ = run_cli(["train-lora", "--help"], capsys)
    assert code == 0
    for flag in ("--base", "--rank", "--alpha", "--steps", "--lr", "--resolution", "--batch", "--grad-accum",
                 "--seed", "--train-text-encoder", "--validation-prompt", "--every", "--resume", "--caption-prefix",
                 "--precision", "--gradient-checkpointing"):
        assert flag in out


def test_ctrl_c_keeps_a_checkpoint_and_resume_finishes_from_a_single_file_base(
    tiny_models: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, single_file, config_dir = tiny_models
    dataset = write_shapes_dataset(tmp_path / "shapes")
    out = tmp_path / "style.safetensors"
    args = ["train-lora", str(dataset), "-o", str(out), "--base", str(single_file), "--base-config",
            str(config_dir), "--every", "3", "--caption-prefix", "shp style", *FAST]

    class CtrlCAtStepTwo(cli_progress.TerminalProgress):
        def __call__(self, done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
            super().__call__(done, total, message, preview)
            if message.startswith("Training") and done == 2:
                os.kill(os.getpid(), signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    with monkeypatch.context() as patch:
        patch.setattr(model_commands, "TerminalProgress", CtrlCAtStepTwo)
        code, stdout, err = run_cli(args, capsys)
    assert code == 130, err
    assert "Traceback" not in err and stdout == ""
    assert "Training cancelled after step 2" in err.splitlines()[-1] and "--resume" in err.splitlines()[-1]
    assert not out.exists()
    assert (tmp_path / "style.checkpoints" / "step-000002" / "state.json").is_file()
    assert signal.getsignal(signal.SIGINT) is handler  # the CLI put Ctrl-C back

    code, stdout, err = run_cli([*args, "--resume"], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out)
    assert "4 steps, final loss" in err.splitlines()[-1]
    with safe_open(str(out), "pt") as handle:
        metadata = handle.metadata()
    assert (metadata["steps"], metadata["caption_prefix"], metadata["base_model"]) == ("4", "shp style",
                                                                                        str(single_file))


def _empty(folder: Path) -> None:
    folder.mkdir()


def _missing_caption(folder: Path) -> None:
    write_shapes_dataset(folder)
    (folder / "shape_3.txt").unlink()


def _unreadable(folder: Path) -> None:
    write_shapes_dataset(folder)
    (folder / "shape_0.png").write_bytes(b"\x89PNG but not really")


def _too_few(folder: Path) -> None:
    write_shapes_dataset(folder, count=3)


@pytest.mark.parametrize(("make", "words"), [
    (_empty, "has no images"),
    (_missing_caption, "has no caption: shape_3.png"),
    (_unreadable, "could not be read as an image: shape_0.png"),
    (_too_few, "needs at least 4"),
])
def test_a_bad_dataset_exits_2_with_one_sentence(make: object, words: str, tiny_models: tuple[Path, Path, Path],
                                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "data"
    make(folder)  # type: ignore[operator]
    out = tmp_path / "style.safetensors"
    code, stdout, err = run_cli(["train-lora", str(folder), "-o", str(out), "--base", str(tiny_models[0]), *FAST],
                                capsys)
    assert code == 2
    assert words in one_sentence(err) and stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(("extra", "words"), [
    (["--rank", "200"], "rank must be a whole number from 4 to 128 (got 200)"),
    (["--resolution", "60"], "multiple of 8 between 64 and 2048"),
    (["--resume"], "There is no checkpoint to resume"),
    (["--batch", "9"], "larger than the dataset's 6 images"),
])
def test_bad_settings_exit_2_with_one_sentence(extra: list[str], words: str, tiny_models: tuple[Path, Path, Path],
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = write_shapes_dataset(tmp_path / "shapes")
    args = ["train-lora", str(dataset), "-o", str(tmp_path / "s.safetensors"), "--base", str(tiny_models[0]),
            *FAST, *extra]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert words in one_sentence(err)


def test_the_output_must_end_in_safetensors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = write_shapes_dataset(tmp_path / "shapes")
    code, _, err = run_cli(["train-lora", str(dataset), "-o", str(tmp_path / "style.ckpt"), *FAST], capsys)
    assert code == 2
    assert "must end in .safetensors" in one_sentence(err)


def test_the_default_base_model_missing_is_the_sentence_render_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_shapes_dataset(tmp_path / "shapes")
    code, _, err = run_cli(["train-lora", str(dataset), "-o", str(tmp_path / "style.safetensors"), *FAST], capsys)
    assert code == 3
    assert "hear2see models download sd15" in one_sentence(err)


def test_fp16_and_gradient_checkpointing_run_on_the_cpu(
    tiny_models: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = write_shapes_dataset(tmp_path / "shapes")
    out = tmp_path / "style.safetensors"
    code, stdout, err = run_cli(["train-lora", str(dataset), "-o", str(out), "--base", str(tiny_models[0]), *FAST,
                                 "--steps", "2", "--precision", "fp16", "--gradient-checkpointing", "on"], capsys)
    assert code == 0, err
    assert stdout.strip() == str(out) and "2 steps, final loss" in err.splitlines()[-1]
    assert "cannot run" not in err  # diffusers' warning that a float16 pipeline fails on the CPU is not shown
    with safe_open(str(out), "pt") as handle:
        metadata = handle.metadata()
    assert (metadata["precision"], metadata["gradient_checkpointing"]) == ("fp16", "on")


@pytest.mark.parametrize(("flag", "value"), [("--precision", "fp8"), ("--gradient-checkpointing", "sometimes")])
def test_an_unknown_choice_is_a_usage_error(flag: str, value: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["train-lora", str(tmp_path), "-o", "x.safetensors", flag, value], capsys)
    assert code == 2
    sentence = one_sentence(err)
    assert f"Argument {flag}: invalid choice: '{value}' (choose from 'auto'," in sentence


def test_a_flag_that_is_not_a_number_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["train-lora", str(tmp_path), "-o", "x.safetensors", "--rank", "big"], capsys)
    assert code == 2
    assert "invalid int value" in one_sentence(err)
