"""`hear2see models ...` as a user meets it, against a catalogue served from 127.0.0.1 (internet blocked)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from hear2see_desktop.core import paths
from tests.cli_helpers import one_sentence, run_cli, start_cli_as_from_a_terminal
from tests.model_server import ModelServer, Served, block_internet, model_server, sha256

WEIGHTS = os.urandom(64 * 1024)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModelServer:
    """A local hub and a catalogue that points at it: a LoRA file, a Vosk zip, a slow file and a missing one."""
    block_internet(monkeypatch)
    monkeypatch.delenv("HEAR2SEE_MODELS_DIR", raising=False)
    with model_server() as running:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as bundle:
            bundle.writestr("vosk-model-small-xx/am/final.mdl", b"am")
            bundle.writestr("vosk-model-small-xx/conf/model.conf", b"conf")
        running.files["/lora.safetensors"] = Served(WEIGHTS, etag=sha256(WEIGHTS))
        running.files["/vosk.zip"] = Served(buffer.getvalue())
        running.files["/slow.bin"] = Served(os.urandom(2 * 1024 * 1024), delay_s=0.01)

        def entry(name: str, kind: str, folder: str, path: str, url: str, marker: str, unpack: bool = False) -> dict:
            return {"name": name, "kind": kind, "title": name.title(), "licence": "MIT", "size_bytes": 1000,
                    "folder": folder, "marker": marker,
                    "files": [{"url": running.url(url), "path": path, "sha256": None, "size": 1000, "unpack": unpack}]}

        catalogue = {"models": [
            entry("tiny-lora", "lora", "loras", "tiny.safetensors", "/lora.safetensors", "tiny.safetensors"),
            entry("vosk-xx", "vosk", "vosk/vosk-model-small-xx", "vosk.zip", "/vosk.zip", "am/final.mdl", True),
            entry("slow", "sd", "sd/slow", "slow.bin", "/slow.bin", "slow.bin"),
            entry("gone", "clip", "clip", "config.json", "/gone.json", "config.json"),
        ]}
        path = tmp_path / "catalogue.json"
        path.write_text(json.dumps(catalogue))
        monkeypatch.setenv("HEAR2SEE_CATALOGUE", str(path))
        yield running


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, dict]:
    code, out, _ = run_cli(["models", "list", "--json"], capsys)
    assert code == 0
    return {row["name"]: row for row in json.loads(out)}


def test_list_download_and_remove(server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    rows = listed(capsys)
    assert list(rows) == ["tiny-lora", "vosk-xx", "slow", "gone"]
    assert rows["tiny-lora"]["state"] == "missing" and rows["tiny-lora"]["licence"] == "MIT"

    code, out, _ = run_cli(["models", "download", "tiny-lora"], capsys)
    installed = paths.models_dir() / "loras" / "tiny.safetensors"
    assert code == 0 and out.strip() == str(installed) and installed.read_bytes() == WEIGHTS
    code, out, _ = run_cli(["models", "download", "vosk-xx"], capsys)
    assert code == 0 and (Path(out.strip()) / "conf" / "model.conf").read_bytes() == b"conf"

    rows = listed(capsys)
    assert rows["tiny-lora"]["installed"] and rows["vosk-xx"]["installed"] and not rows["slow"]["installed"]
    code, out, _ = run_cli(["models", "list"], capsys)
    assert code == 0 and f"Models folder: {paths.models_dir()}" in out
    assert any(line.startswith("✓ tiny-lora") for line in out.splitlines())

    code, out, err = run_cli(["models", "download", "tiny-lora"], capsys)
    assert code == 0 and "already installed" in one_sentence(err)
    assert len(server.ranges("/lora.safetensors")) == 1  # nothing fetched the second time

    code, _, err = run_cli(["models", "remove", "vosk-xx"], capsys)
    assert code == 0 and "Removed vosk-xx" in one_sentence(err)
    assert not (paths.models_dir() / "vosk" / "vosk-model-small-xx").exists()
    assert listed(capsys)["vosk-xx"]["state"] == "missing"


def test_download_errors_are_one_sentence(server: ModelServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["models", "download", "tiny-lor"], capsys)
    assert code == 2 and "did you mean tiny-lora" in one_sentence(err)
    code, _, err = run_cli(["models", "download", "gone"], capsys)
    assert code == 3 and server.url("/gone.json") in one_sentence(err)
    code, _, err = run_cli(["models"], capsys)
    assert code == 2 and "required" in one_sentence(err)


def test_path_set_moves_where_models_are_listed_and_downloaded(server: ModelServer, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["models", "path"], capsys)
    assert code == 0 and out.strip() == str(paths.data_dir() / "models")
    usb = tmp_path / "usb drive" / "models"
    code, out, err = run_cli(["models", "path", "--set", str(usb)], capsys)
    assert code == 0 and out.strip() == str(usb) and "stay where they are" in err
    assert listed(capsys)["tiny-lora"]["path"] == str(usb / "loras" / "tiny.safetensors")
    code, out, _ = run_cli(["models", "list"], capsys)
    assert f"Models folder: {usb}" in out
    assert run_cli(["models", "download", "tiny-lora"], capsys)[0] == 0
    assert (usb / "loras" / "tiny.safetensors").is_file()

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    code, _, err = run_cli(["models", "path", "--set", str(a_file)], capsys)
    assert code == 2 and "is a file" in one_sentence(err)
    code, out, _ = run_cli(["models", "path", "--reset"], capsys)
    assert code == 0 and out.strip() == str(paths.data_dir() / "models")


def test_ctrl_c_exits_130_and_leaves_only_the_part_file(server: ModelServer) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = start_cli_as_from_a_terminal(
        [sys.executable, "-m", "hear2see_desktop", "models", "download", "slow"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    part = paths.models_dir() / "sd" / "slow" / "slow.bin.part"
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "to resume it" in err
    assert part.is_file() and not (paths.models_dir() / "sd" / "slow" / "slow.bin").exists()


def test_import_of_a_missing_file_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["models", "import", str(tmp_path / "missing.ckpt")], capsys)
    assert code == 2 and "does not exist" in one_sentence(err)


def test_import_refuses_a_pickle_and_a_file_that_is_no_model(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    pickle_file = tmp_path / "old.ckpt"
    pickle_file.write_bytes(b"\x80\x04K\x01.")
    code, _, err = run_cli(["models", "import", str(pickle_file)], capsys)
    assert code == 2 and "--trust" in one_sentence(err)
    notes = tmp_path / "notes.safetensors"
    notes.write_bytes(b"not a safetensors file at all")
    code, _, err = run_cli(["models", "import", str(notes)], capsys)
    assert code == 2 and "notes.safetensors" in one_sentence(err)


def test_import_checks_a_checkpoint_against_the_given_model_config(tiny_models: tuple[Path, Path, Path],
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, single_file, config_dir = tiny_models
    code, _, err = run_cli(["models", "import", str(single_file)], capsys)
    assert code == 2 and "Traceback" not in err  # the tiny model is not SD 1.5's shape
    code, _, err = run_cli(["models", "import", str(single_file), "--model-config", str(tmp_path / "nope")], capsys)
    assert code == 2 and "does not exist" in one_sentence(err)
    code, out, err = run_cli(["models", "import", str(single_file), "--model-config", str(config_dir)], capsys)
    assert code == 0, err
    assert Path(out.strip()).is_file()
