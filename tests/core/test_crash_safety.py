"""A render killed with SIGKILL loses nothing that was there before, and many renders in a row do not leak.

The first test runs a real render on the tiny pipeline in a child process and kills it (no clean-up
code can run) at the first denoising preview after the encoder has started writing the MP4, so the
video is half written and an image is half denoised. The second renders 30 times in one process
and watches the resident memory.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.project import Project, load_project, save_project
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.runlog import append_record, read_log
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import VideoWriter, probe_video, read_frames

ROOT = Path(__file__).resolve().parents[2]
FOX = Transcript(
    text="A red fox runs through the snowy forest at dawn.",
    words=[Word("a", 0.1, 0.2, 1.0), Word("red", 0.2, 0.4, 1.0), Word("fox", 0.4, 0.7, 1.0)],
    engine="given",
    model="test",
)

# The child renders, stopping at each denoising preview until the parent says "go on" (or kills it).
_CHILD = """
import json, sys
from pathlib import Path
from hear2see_desktop.core.render_job import RenderJob, RenderRequest
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript

args = json.loads(sys.argv[1])

def progress(done, total, message, preview=None):
    if preview is not None:
        print("PREVIEW", flush=True)
        sys.stdin.readline()

request = RenderRequest(Path(args["audio"]), Path(args["out"]), RenderSettings.from_dict(args["settings"]),
                        runs_log=Path(args["runs_log"]), transcript=Transcript.from_dict(args["transcript"]),
                        use_cache=False)
RenderJob(request).run(progress, lambda: False)
print("FINISHED", flush=True)
"""


def tiny_settings(model: Path, **changes: object) -> RenderSettings:
    base = RenderSettings(model=str(model), width=64, height=64, steps=2, fps=4, seed=7, device="cpu")
    return replace(base, **changes)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def earlier_mp4(path: Path, audio: Path) -> Path:
    """A finished video from an earlier session: eight coloured frames with the narration."""
    with VideoWriter(path, 64, 64, 4, audio_path=audio) as writer:
        for i in range(8):
            writer.write_frame(np.full((64, 64, 3), 30 * i, dtype=np.uint8))
    return path


def wait_for_line(proc: subprocess.Popen[str], wanted: str, timeout_s: float) -> list[str]:
    """The child's stdout lines up to and including `wanted`; fails when it exits or takes too long."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.strip() == wanted:
                return lines
    raise AssertionError(f"the child never printed {wanted}; it said {lines}")


def half_written(folder: Path, out: Path) -> list[Path]:
    """The encoder's temporary file for `out` once ffmpeg has written into it, else []."""
    return [p for p in folder.iterdir() if p.name.startswith(f".{out.name}.part") and p.stat().st_size > 0]


def processes_mentioning(token: str) -> list[int]:
    """Pids of running processes whose command line contains `token` (the orphaned ffmpeg)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and /proc are POSIX")
def test_a_render_killed_mid_frame_leaves_project_log_and_earlier_video_intact(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    runs_log = folder / "runs.jsonl"
    for n in range(2):
        append_record(runs_log, {"id": f"20260101-12000{n}-earlier", "prompt": f"earlier run {n}", "rating": 4})
    old_mp4 = earlier_mp4(folder / "earlier.mp4", narration_wav)
    project_path = save_project(
        Project(transcript=FOX, prompt="red fox", settings=tiny_settings(tiny_models[0], frames=6),
                last_render={"run_id": "20260101-120001-earlier", "mp4": str(old_mp4)}),
        folder / "fox.h2s", audio_source=narration_wav,
    )
    before = {path.name: sha256(path) for path in (runs_log, old_mp4, project_path)}
    old_frames = [frame.copy() for frame in read_frames(old_mp4)]
    project_before = load_project(project_path)
    out = folder / "new.mp4"

    args = {"audio": str(narration_wav), "out": str(out), "runs_log": str(runs_log),
            "settings": tiny_settings(tiny_models[0], frames=8, fps=24).to_dict(), "transcript": FOX.to_dict()}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(args)], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        # ffmpeg creates its file only after a few dozen frames (encoder look-ahead): go on until it has.
        previews = 0
        while not (parts := half_written(folder, out)):
            wait_for_line(proc, "PREVIEW", timeout_s=120)
            previews += 1
            if not (parts := half_written(folder, out)):
                assert proc.stdin is not None
                proc.stdin.write("go on\n")
                proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # The encoder it started sees its input close and exits on its own; make sure it has gone.
    deadline = time.monotonic() + 20
    while processes_mentioning(parts[0].name) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in processes_mentioning(parts[0].name):
        os.kill(pid, signal.SIGKILL)
    print(f"killed at preview {previews} with {parts[0].stat().st_size} bytes of video written; "
          f"the folder then held {sorted(p.name for p in folder.iterdir())}")

    assert not out.exists(), "a killed render must leave nothing under the output's final name"
    assert {path.name: sha256(path) for path in (runs_log, old_mp4, project_path)} == before
    log = read_log(runs_log)
    assert [r["id"] for r in log.records] == ["20260101-120000-earlier", "20260101-120001-earlier"]
    assert log.skipped_lines == []
    info = probe_video(old_mp4)
    assert (info.codec, info.frame_count, info.has_audio) == ("h264", 8, True)
    assert all(np.array_equal(a, b) for a, b in zip(read_frames(old_mp4), old_frames, strict=True))
    assert load_project(project_path) == project_before

    # The next render to the same name works, and its record follows the earlier ones.
    request = RenderRequest(narration_wav, out, tiny_settings(tiny_models[0], frames=2), runs_log=runs_log,
                            transcript=FOX, use_cache=False)
    result = RenderJob(request).run(no_progress, never_cancelled)
    assert probe_video(out).frame_count == result.record.output_frames
    assert [r["id"] for r in read_log(runs_log).records][-1] == result.run_id
    assert len(read_log(runs_log).records) == 3


def resident_mb() -> float:
    """This process's resident set size (VmRSS) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


RENDERS = 30
GROWTH_LIMIT_MB = 40.0
"""Measured: +0.1 MiB from render 5 to render 30 (about 700 MiB resident); the rest is allocator slack."""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_thirty_renders_in_a_row_do_not_grow_memory(
    tiny_models: tuple[Path, Path, Path], narration_wav: Path, tmp_path: Path
) -> None:
    settings = tiny_settings(tiny_models[0], frames=1, fps=2)  # one image, six frames: about 0.5 s a render
    samples: dict[int, float] = {}
    for n in range(1, RENDERS + 1):
        request = RenderRequest(narration_wav, tmp_path / "again.mp4", replace(settings, seed=n),
                                runs_log=tmp_path / "runs.jsonl", transcript=FOX, use_cache=False)
        RenderJob(request).run(no_progress, never_cancelled)
        if n in (5, RENDERS):
            gc.collect()
            samples[n] = resident_mb()
    growth = samples[RENDERS] - samples[5]
    print(f"resident after render 5: {samples[5]:.1f} MiB, after {RENDERS}: {samples[RENDERS]:.1f} MiB, "
          f"growth {growth:+.1f} MiB over {RENDERS - 5} renders")
    assert growth < GROWTH_LIMIT_MB, f"memory grew {growth:.1f} MiB over {RENDERS - 5} renders"
    assert len(read_log(tmp_path / "runs.jsonl").records) == RENDERS
