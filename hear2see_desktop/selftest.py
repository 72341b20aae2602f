"""`hear2see --self-test`: prove an install (a packaged one above all) works end to end, offline, on the CPU.

Each stage prints PASS or FAIL with what failed, so a broken bundle names its missing piece (a resource
file, ffmpeg, Vosk's native library, Qt's plugins, the embedded Whisper model, the CLIP tokenizer data,
diffusers' modules) instead of failing later in front of a user. The pipeline stages run the real jobs:
the bundled example narration -> embedded Whisper -> prompt builder -> a tiny random-weight SD 1.5
pipeline (classic mode, 64x64, 2 steps, 2 images) -> H.264 MP4 -> decoded back. Everything is written
to a temporary HEAR2SEE_HOME that is removed afterwards, so the user's runs and caches stay untouched.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hear2see_desktop import __version__, runtime_packages
from hear2see_desktop.core import paths
from hear2see_desktop.core.asr.select import open_engine
from hear2see_desktop.core.ffmpeg import ffmpeg_exe
from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.prompt.builder import prompt_from_transcript
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.selftest_model import save_tiny_pipeline

REQUIRED_RESOURCES = (
    ("examples", "narration.wav"),
    ("styles", "cinematic.json"),
    ("prompt", "lexicon.json"),
    ("models", "catalogue.json"),
    ("sd15", "model_index.json"),
    ("sd15", "unet", "config.json"),
    ("sd15", "tokenizer", "tokenizer_config.json"),
    ("fonts", "DejaVuSansCondensed-Bold.ttf"),
    ("icons", "hear2see.png"),
)
SIZE_PX = 64
STEPS = 2
IMAGES = 2
FPS = 4

log = logging.getLogger("hear2see.selftest")


class StageFailed(Exception):
    """A check inside a stage did not hold; the message says what was found."""


@dataclass
class SelfTest:
    """Runs the stages in order; a stage whose inputs failed is skipped, not run on bad data."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    results: dict[str, bool] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def stage(self, name: str, needs: tuple[str, ...], check: Callable[[], str]) -> None:
        """Run one check; print PASS with its summary, FAIL with the error, or SKIP when a need failed."""
        missing = [need for need in needs if not self.results.get(need)]
        if missing:
            self.results[name] = False
            self.say(f"SKIP  {name:<10} (needs {', '.join(missing)})")
            return
        started = time.perf_counter()
        try:
            summary = check()
        except Exception as error:  # noqa: BLE001 - a self-test reports every failure and goes on
            self.results[name] = False
            log.info("self-test stage %s failed", name, exc_info=True)
            where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
            at = f" [{Path(where.filename).name}:{where.lineno}]" if where else ""
            self.say(f"FAIL  {name:<10} {type(error).__name__}: {error}{at}")
            return
        self.results[name] = True
        self.say(f"PASS  {name:<10} ({time.perf_counter() - started:.1f} s) {summary}")

    def say(self, line: str) -> None:
        """One line of the report, flushed at once (a stage can take seconds)."""
        print(line, file=self.out, flush=True)


@contextmanager
def _isolated_home() -> Iterator[Path]:
    """A temporary HEAR2SEE_HOME (runs, caches, thumbnails) for the duration of the self-test."""
    names = ("HEAR2SEE_HOME", "HEAR2SEE_MODELS_DIR", "HEAR2SEE_VOSK_MODEL")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="hear2see-selftest-") as tmp:
        for name in names:
            os.environ.pop(name, None)
        os.environ["HEAR2SEE_HOME"] = str(Path(tmp) / "home")
        try:
            yield Path(tmp)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def check_resources() -> str:
    """Every resource file the app reads at run time is where resource_path says."""

    missing = [os.path.join(*parts) for parts in REQUIRED_RESOURCES if not paths.resource_path(*parts).is_file()]
    if missing:
        raise StageFailed(f"missing from {paths.resources_dir()}: {', '.join(missing)}")
    return str(paths.resources_dir())


def check_ffmpeg() -> str:
    """The bundled ffmpeg program starts and has the H.264 encoder the video writer uses."""

    exe = ffmpeg_exe()
    result = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0 or "libx264" not in result.stdout:
        raise StageFailed(f"{exe} did not list the libx264 encoder (exit {result.returncode})")
    return exe


def check_vosk() -> str:
    """Vosk's native library loads (it is opened when the package is imported)."""
    import vosk

    vosk.SetLogLevel(-1)
    return str(Path(vosk.__file__).parent)


def check_qt() -> str:
    """PySide6 imports and its platform plugins (how Qt opens a window) are present."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    found = sorted(p.name for p in plugins.glob("*")) if plugins.is_dir() else []
    if not found:
        raise StageFailed(f"no Qt platform plugins in {plugins}")
    return f"{len(found)} platform plugins in {plugins}"


VERSIONS_OF = (("torch", "torch"), ("diffusers", "diffusers"), ("transformers", "transformers"), ("peft", "peft"),
               ("PySide6", "PySide6-Essentials"))


def versions_line() -> str:
    """The versions of the libraries that decide the pictures and the window, for a bug report."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for label, dist in VERSIONS_OF:
        try:
            parts.append(f"{label} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{label} (not installed)")
    return "Versions: " + ", ".join(parts)


def check_packages() -> str:
    """Every run-time package is there: in a bundle, each module and data file its build listed;
    from source, each requirement installed at a version that fits."""

    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        count, problems = runtime_packages.check_bundle(Path(bundle))
        where = "in the bundle"
    else:
        count, problems = runtime_packages.check_installed()
        where = "installed at versions that fit"
    if problems:
        raise StageFailed("; ".join(problems))
    return f"{count} run-time packages {where}"


def run_self_test(out: TextIO | None = None) -> bool:
    """Run every stage, print one line each and a verdict; True when all passed."""

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    test = SelfTest(out or sys.stdout)
    frozen = " (frozen)" if getattr(sys, "frozen", False) else ""
    test.say(f"HEAR2SEE {__version__} self-test{frozen}, Python {sys.version.split()[0]}, {sys.platform}")
    test.say(versions_line())
    with _isolated_home() as tmp:
        test.stage("resources", (), check_resources)
        test.stage("packages", (), check_packages)
        test.stage("ffmpeg", (), check_ffmpeg)
        test.stage("vosk", (), check_vosk)
        test.stage("qt", (), check_qt)
        _pipeline_stages(test, tmp)
    failed = [name for name, ok in test.results.items() if not ok]
    test.say("Self-test PASSED" if not failed else f"Self-test FAILED: {', '.join(failed)}")
    return not failed


def _pipeline_stages(test: SelfTest, tmp: Path) -> None:
    """Narration -> transcript -> prompt -> tiny model -> MP4 -> decoded frames, each a stage."""
    state = test.state

    def audio() -> str:
        from hear2see_desktop.core.audio import is_silent, load_audio

        state["audio_path"] = paths.resource_path("examples", "narration.wav")
        state["audio"] = loaded = load_audio(state["audio_path"])
        if is_silent(loaded):
            raise StageFailed(f"{state['audio_path']} decoded as silence")
        return f"{loaded.duration_s:.1f} s of narration"

    def asr() -> str:

        engine = open_engine("whisper")
        transcript = engine.transcribe(state["audio"].samples, no_progress, never_cancelled)
        if not transcript.words:
            raise StageFailed(f"{engine.name} recognised no words")
        state["transcript"] = transcript
        return f"{engine.name}: {transcript.text!r} ({len(transcript.words)} timed words)"

    def prompt() -> str:

        state["prompt"] = result = prompt_from_transcript(state["transcript"])
        return repr(result.prompt)

    def model() -> str:

        state["model_dir"] = save_tiny_pipeline(tmp / "model")
        return "tiny SD 1.5 pipeline with random weights"

    def render() -> str:
        from diffusers.utils import logging as diffusers_logging


        settings = RenderSettings(
            prompt=state["prompt"].prompt, negative_prompt=state["prompt"].negative_prompt,
            model=str(state["model_dir"]), steps=STEPS, frames=IMAGES, fps=FPS, width=SIZE_PX,
            height=SIZE_PX, device="cpu", mode="classic", seed=0,
        )
        request = RenderRequest(audio_path=state["audio_path"], out_path=tmp / "self-test.mp4", settings=settings,
                                transcript=state["transcript"], runs_log=tmp / "runs.jsonl", use_cache=False)
        bars_were_on = diffusers_logging.is_progress_bar_enabled()
        diffusers_logging.disable_progress_bar()  # "Loading pipeline components" would cut into the report
        try:
            result = RenderJob(request).run(no_progress, never_cancelled)
        finally:
            if bars_were_on:
                diffusers_logging.enable_progress_bar()
        state["video"] = result.out_path
        return f"{result.out_path.stat().st_size} bytes, run {result.run_id}"

    def video() -> str:
        import numpy as np

        from hear2see_desktop.core.video import probe_video, read_frames

        info = probe_video(state["video"])
        expected = frame_count(state["audio"].duration_s, FPS)
        if (info.codec, info.width, info.height) != ("h264", SIZE_PX, SIZE_PX) or not info.has_audio:
            raise StageFailed(f"got {info.codec} {info.width}x{info.height}, audio {info.audio_codec}")
        frames = list(read_frames(state["video"]))
        if len(frames) != expected or frames[0].shape != (SIZE_PX, SIZE_PX, 3):
            raise StageFailed(f"decoded {len(frames)} frames of {frames[0].shape if frames else '-'}, "
                              f"expected {expected} of {(SIZE_PX, SIZE_PX, 3)}")
        distinct = len({np.asarray(f[::8, ::8] // 32).tobytes() for f in frames})
        if distinct < IMAGES:
            raise StageFailed(f"only {distinct} distinct picture(s) in the video, expected {IMAGES}")
        return f"{info.codec} {info.width}x{info.height} {info.fps:g} fps, {len(frames)} frames, {info.audio_codec}"

    test.stage("audio", ("resources",), audio)
    test.stage("asr", ("audio",), asr)
    test.stage("prompt", ("asr",), prompt)
    test.stage("model", (), model)
    test.stage("render", ("prompt", "model", "ffmpeg"), render)
    test.stage("video", ("render",), video)
