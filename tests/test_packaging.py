"""The packaged app: `hear2see --self-test`, frozen-app safety nets, desktop metadata, and the real bundle.

The bundle test builds dist/hear2see with PyInstaller (cached outside the repo by a hash of what goes in,
so an unchanged tree reuses it), runs the frozen `--self-test`, and opens the frozen GUI for a few seconds.
Set HEAR2SEE_BUNDLE_TEST=0 to skip it; HEAR2SEE_BUNDLE_CACHE moves its cache (default ~/.cache/hear2see-bundle).
"""

from __future__ import annotations

import configparser
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hear2see_desktop import cli, logging_setup, selftest
from hear2see_desktop.core import paths

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.hear2see.Hear2See"
BUNDLE_BUILD_TIMEOUT_S = 75 * 60
STAGES = ("resources", "packages", "ffmpeg", "vosk", "qt", "audio", "asr", "prompt", "model", "render", "video")


def _stage_lines(output: str) -> dict[str, str]:
    """{stage: PASS|FAIL|SKIP} from the self-test's output."""
    found = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("PASS", "FAIL", "SKIP"):
            found[words[1]] = words[0]
    return found


def test_self_test_from_source_passes_every_stage(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--self-test"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert _stage_lines(out) == dict.fromkeys(STAGES, "PASS"), out
    assert out.rstrip().endswith("Self-test PASSED")


def test_self_test_names_the_versions_that_decide_pictures_and_window(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert cli.main(["--self-test"]) == 0
    versions = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Versions: "))
    for label, dist in (("torch", "torch"), ("diffusers", "diffusers"), ("transformers", "transformers"),
                        ("peft", "peft"), ("PySide6", "PySide6-Essentials")):
        assert f"{label} {version(dist)}" in versions, versions


def test_a_bundle_missing_a_data_file_or_module_fails_the_packages_stage(tmp_path: Path) -> None:
    """What the frozen self-test does with the manifest its build wrote (kernels' python_depends.json once)."""
    from hear2see_desktop import runtime_packages

    (tmp_path / "kernels" / "_internals").mkdir(parents=True)
    (tmp_path / "kernels" / "_internals" / "present.json").write_text("{}", encoding="utf-8")
    runtime_packages.write_manifest([
        runtime_packages.PackageEntry("kernels", "0.19.1", ["json"],
                                      ["kernels/_internals/present.json", "kernels/_internals/python_depends.json"]),
        runtime_packages.PackageEntry("lost", "1.0", ["hear2see_not_a_module"], []),
    ], tmp_path / runtime_packages.MANIFEST_NAME)
    count, problems = runtime_packages.check_bundle(tmp_path)
    assert count == 2
    assert problems == ["kernels 0.19.1: data file kernels/_internals/python_depends.json not in the bundle",
                        "lost 1.0: module hear2see_not_a_module not in the bundle"]
    assert runtime_packages.check_bundle(tmp_path / "elsewhere")[1] == [
        "hear2see-runtime-packages.json is not in the bundle: it was not built by packaging/hear2see.spec"]


def test_the_run_time_packages_are_read_from_the_installed_metadata() -> None:
    from hear2see_desktop import runtime_packages

    names = {runtime_packages.canonical(d.metadata["Name"]) for d in runtime_packages.runtime_distributions()}
    assert {"hear2see-desktop", "torch", "diffusers", "transformers", "peft", "huggingface-hub", "safetensors",
            "pyside6-essentials", "vosk"} <= names
    assert "pytest" not in names and "pyinstaller" not in names  # test and packaging extras are not run time
    whisper = next(d for d in runtime_packages.runtime_distributions() if d.metadata["Name"] == "faster-whisper")
    assert runtime_packages.import_names(whisper) == ["faster_whisper"]
    assert any(name.endswith(".onnx") for name in runtime_packages.data_files(whisper))  # the VAD model it reads
    assert runtime_packages.check_installed()[1] == []


def test_self_test_leaves_the_users_data_alone(isolated_home: Path) -> None:
    assert selftest.run_self_test(io.StringIO())
    assert not paths.runs_log_path().exists(), "the self-test's render was logged in the user's runs.jsonl"
    assert os.environ["HEAR2SEE_HOME"] == str(isolated_home)


def test_a_failing_stage_says_what_failed_and_skips_what_needs_it() -> None:
    out = io.StringIO()
    test = selftest.SelfTest(out)

    def broken() -> str:
        raise selftest.StageFailed("missing from /x: styles/cinematic.json")

    test.stage("resources", (), broken)
    test.stage("audio", ("resources",), lambda: "never run")
    test.stage("model", (), lambda: "fine")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("FAIL  resources") and "styles/cinematic.json" in lines[0]
    assert lines[1].startswith("SKIP  audio") and "needs resources" in lines[1]
    assert lines[2].startswith("PASS  model")
    assert test.results == {"resources": False, "audio": False, "model": True}


def test_missing_resources_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(paths, "resources_dir", lambda: tmp_path)
    with pytest.raises(selftest.StageFailed, match=r"examples/narration\.wav.*icons/hear2see\.png"):
        selftest.check_resources()


def test_a_broken_install_fails_the_self_test_with_exit_code_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(paths, "resources_dir", lambda: tmp_path)
    assert cli.main(["--self-test"]) == 1
    out = capsys.readouterr().out
    stages = _stage_lines(out)
    assert stages["resources"] == "FAIL" and stages["audio"] == "SKIP" and stages["video"] == "SKIP", out
    assert out.rstrip().endswith("Self-test FAILED: resources, audio, asr, prompt, render, video"), out


def test_resources_come_from_the_frozen_bundle_when_frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "resources").mkdir()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"
    assert paths.resource_path("styles", "none.json") == tmp_path / "resources" / "styles" / "none.json"


def test_from_source_resources_are_the_repos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert paths.resources_dir() == ROOT / "resources"


def test_a_windowed_build_without_streams_gets_writable_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    logging_setup.ensure_std_streams()
    try:
        print("progress that a library prints anyway")
        sys.stderr.write("a warning\n")
    finally:
        sys.stdout.close()
        sys.stderr.close()


def test_an_uncaught_exception_is_written_to_the_crash_log() -> None:
    try:
        raise RuntimeError("boom in a worker")
    except RuntimeError as error:
        path = logging_setup.write_crash_report(type(error), error, error.__traceback__)
    assert path == paths.log_dir() / "crash.log"
    text = path.read_text(encoding="utf-8")
    assert "RuntimeError: boom in a worker" in text and "Traceback" in text


def _run(cmd: list[str], home: Path, timeout_s: float, **env: str) -> subprocess.CompletedProcess[str]:
    # One OpenMP thread: on a busy 2-core machine torch's spinning threads made a 1 s render take a minute.
    environment = {**os.environ, "HEAR2SEE_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1",
                   **env}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=environment,
                          stdin=subprocess.DEVNULL, check=False)


def _assert_gui_started_and_quit(result: subprocess.CompletedProcess[str], home: Path) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Traceback" not in output, output
    crash_log = home / "logs" / "crash.log"
    assert not crash_log.exists() or not crash_log.read_text(encoding="utf-8").strip(), crash_log.read_text()


def test_the_gui_quits_by_itself_when_asked(tmp_path: Path) -> None:
    result = _run([sys.executable, "-m", "hear2see_desktop", "gui"], tmp_path, 120, HEAR2SEE_QUIT_AFTER_S="1")
    _assert_gui_started_and_quit(result, tmp_path)


def test_desktop_entry_and_appstream_metadata_agree() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment, method-assign]
    entry.read(ROOT / "packaging" / "linux" / f"{APP_ID}.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].split()[0] == "hear2see"
    assert desktop["Icon"] == APP_ID and desktop["Categories"].endswith(";")
    component = ET.parse(ROOT / "packaging" / "linux" / f"{APP_ID}.metainfo.xml").getroot()
    assert component.findtext("id") == APP_ID
    assert component.find("launchable").text == f"{APP_ID}.desktop"  # type: ignore[union-attr]
    assert component.findtext("metadata_license") and component.findtext("summary")


def test_the_app_icon_is_a_square_png() -> None:
    from PIL import Image

    with Image.open(paths.resource_path("icons", "hear2see.png")) as icon:
        assert icon.format == "PNG" and icon.size[0] == icon.size[1] >= 256


# ---------------------------------------------------------------------------------------------------------
# The real bundle


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The built one-folder app (from the cache when nothing that goes into it changed)."""
    if os.environ.get("HEAR2SEE_BUNDLE_TEST", "1") == "0":
        pytest.skip("HEAR2SEE_BUNDLE_TEST=0: the PyInstaller bundle test is switched off")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.skip("PyInstaller is not installed (pip install -e .[package])")
    if sys.platform.startswith("linux") and shutil.which("objdump") is None:
        pytest.skip("PyInstaller needs objdump on Linux: install binutils")
    cache = Path(os.environ.get("HEAR2SEE_BUNDLE_CACHE", "~/.cache/hear2see-bundle")).expanduser()
    result = subprocess.run([sys.executable, str(ROOT / "packaging" / "build.py"), "--cache", str(cache)],
                            capture_output=True, text=True, timeout=BUNDLE_BUILD_TIMEOUT_S, check=False)
    assert result.returncode == 0, f"the bundle did not build:\n{result.stderr[-6000:]}"
    sys.stderr.write(result.stderr[-2000:])
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert (folder / "hear2see").is_file()
    return folder


def test_the_frozen_app_passes_its_self_test(bundle: Path, tmp_path: Path) -> None:
    result = _run([str(bundle / "hear2see"), "--self-test"], tmp_path, 600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(frozen)" in result.stdout
    assert _stage_lines(result.stdout) == dict.fromkeys(STAGES, "PASS"), result.stdout


def test_the_frozen_gui_starts_and_transcribes_without_errors(bundle: Path, tmp_path: Path) -> None:
    narration = ROOT / "resources" / "examples" / "narration.wav"
    result = _run([str(bundle / "hear2see"), "gui", str(narration)], tmp_path, 300, HEAR2SEE_QUIT_AFTER_S="10")
    _assert_gui_started_and_quit(result, tmp_path)
    log = (tmp_path / "logs" / "hear2see.log").read_text(encoding="utf-8")
    assert " ERROR " not in log and " CRITICAL " not in log, log


def test_the_frozen_app_renders_a_single_file_checkpoint_with_a_lora_and_evaluates_it(
    bundle: Path, tmp_path: Path, tiny_models: tuple[Path, Path, Path]
) -> None:
    from tests.tiny_lora import save_tiny_lora_kohya

    diffusers_dir, single_file, config_dir = tiny_models
    lora = save_tiny_lora_kohya(diffusers_dir, tmp_path / "style.safetensors")
    out = tmp_path / "fox.mp4"
    narration = ROOT / "resources" / "examples" / "narration.wav"
    result = _run([str(bundle / "hear2see"), "render", str(narration), "-o", str(out), "--model", str(single_file),
                   "--model-config", str(config_dir), "--lora", f"{lora}:0.8", "--frames", "2", "--width", "64",
                   "--height", "64", "--steps", "2", "--fps", "4", "--srt", str(tmp_path / "fox.srt")],
                  tmp_path / "home", 600)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == out and (tmp_path / "fox.srt").read_text(encoding="utf-8").strip()
    result = _run([str(bundle / "hear2see"), "eval", str(out), "--json"], tmp_path / "home", 300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["run"] is not None and report["flicker"]["plain_mad"] >= 0
