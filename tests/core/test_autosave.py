"""The autosave survives a killed process, and a clean exit leaves nothing to recover."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.autosave import autosave_file, discard_autosave, end_session, start_session, write_autosave
from hear2see_desktop.core.project import Project, load_project, project_audio_path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import sys, time
from pathlib import Path
from hear2see_desktop.core.autosave import start_session, write_autosave
from hear2see_desktop.core.project import Project

start_session()
write_autosave(Project(prompt="an owl over a frozen lake", prompt_edited=True), Path(sys.argv[1]),
               project_path=Path(sys.argv[2]))
print("SAVED", flush=True)
time.sleep(120)
"""


@pytest.fixture
def take(tmp_path: Path) -> Path:
    path = tmp_path / "take.wav"
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    return path


def test_a_killed_session_leaves_an_autosave_that_the_next_start_offers(tmp_path: Path, take: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(take), str(tmp_path / "owl.h2s")],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "SAVED"
    finally:
        child.send_signal(signal.SIGKILL)  # no clean-up code can run
        child.wait(timeout=30)

    recovery = start_session()

    assert recovery is not None and recovery.path == autosave_file()
    assert recovery.project_path == tmp_path / "owl.h2s" and recovery.saved
    project = load_project(recovery.path)
    assert project.prompt == "an owl over a frozen lake" and project.prompt_edited
    assert project_audio_path(recovery.path, project).read_bytes() == take.read_bytes()
    assert start_session() is not None  # still offered until it is recovered, discarded or the app closes cleanly


def test_a_clean_exit_leaves_nothing_to_recover(take: Path) -> None:
    start_session()
    write_autosave(Project(prompt="fox"), take)
    assert autosave_file().is_file()

    end_session()

    assert not autosave_file().exists()
    assert start_session() is None


def test_a_discarded_autosave_is_not_offered(take: Path) -> None:
    start_session()
    write_autosave(Project(prompt="fox"), take)
    discard_autosave()

    assert start_session() is None
    assert list(autosave_file().parent.iterdir()) == [autosave_file().parent / "session.json"]


def test_the_narration_is_copied_once_and_again_only_when_it_changes(take: Path) -> None:
    start_session()
    write_autosave(Project(prompt="fox"), take)
    copy = project_audio_path(autosave_file(), load_project(autosave_file()))
    first = copy.stat().st_mtime_ns
    os.utime(copy, ns=(first - 10**9, first - 10**9))  # so a rewrite would show

    write_autosave(Project(prompt="fox in snow"), take)
    assert copy.stat().st_mtime_ns == first - 10**9 and load_project(autosave_file()).prompt == "fox in snow"

    sf.write(take, np.ones(8000, dtype=np.float32) * 0.5, 16000, subtype="PCM_16")
    write_autosave(Project(prompt="fox in snow"), take)
    assert copy.read_bytes() == take.read_bytes()
