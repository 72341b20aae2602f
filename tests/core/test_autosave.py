"""Each running app autosaves into a slot of its own; a killed one's work is offered at the next start.

"Another app" is a real second Python process here, so the slot locks are checked across processes,
and a crash is a real SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from hear2see_desktop.core.autosave import autosave_dir, start_session
from hear2see_desktop.core.project import Project, load_project, project_audio_path, save_project

ROOT = Path(__file__).resolve().parents[2]
OWL = "an owl over a frozen lake"

_CHILD = """
import sys, time
from pathlib import Path
from hear2see_desktop.core.autosave import start_session
from hear2see_desktop.core.project import Project

session = start_session()
print(session.folder, flush=True)
session.write(Project(prompt=sys.argv[3], prompt_edited=True), Path(sys.argv[1]), project_path=Path(sys.argv[2]))
print("SAVED", flush=True)
time.sleep(120)
"""


@pytest.fixture
def take(tmp_path: Path) -> Path:
    path = tmp_path / "take.wav"
    sf.write(path, np.zeros(16000, dtype=np.float32), 16000, subtype="PCM_16")
    return path


@contextmanager
def other_app(take: Path, project_path: Path, prompt: str = OWL) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A second app (a real process) that claimed a slot and autosaved `prompt` there; SIGKILLed at the end."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(take), str(project_path), prompt],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        assert child.stdout is not None
        folder = Path(child.stdout.readline().strip())
        assert child.stdout.readline().strip() == "SAVED"
        yield child, folder
    finally:
        kill(child)


def kill(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)  # no clean-up code can run
    child.wait(timeout=30)


def test_a_killed_session_leaves_an_autosave_that_the_next_start_offers(tmp_path: Path, take: Path) -> None:
    with other_app(take, tmp_path / "owl.h2s") as (child, folder):
        kill(child)

    session = start_session()

    recovery = session.recovery
    assert recovery is not None and session.folder == folder and recovery.path == session.autosave_file
    assert recovery.project_path == tmp_path / "owl.h2s" and recovery.saved and recovery.waiting == 0
    project = load_project(recovery.path)
    assert project.prompt == OWL and project.prompt_edited
    assert project_audio_path(recovery.path, project).read_bytes() == take.read_bytes()
    session.abandon()  # crashes too, before the user answered
    assert start_session().recovery is not None  # still offered until recovered, discarded or closed cleanly


def test_two_running_apps_get_separate_slots_and_a_killed_ones_slot_becomes_recoverable(
        tmp_path: Path, take: Path) -> None:
    mine = start_session()
    mine.write(Project(prompt="a fox in the snow"), take)

    with other_app(take, tmp_path / "owl.h2s") as (child, theirs):
        assert theirs != mine.folder
        assert load_project(mine.autosave_file).prompt == "a fox in the snow"  # the other app left mine alone
        third = start_session()  # a third app while the other one still runs: its work is not up for grabs
        assert third.recovery is None and third.folder not in (mine.folder, theirs)
        kill(child)

    after = start_session()

    assert after.folder == theirs and after.recovery is not None
    assert load_project(after.recovery.path).prompt == OWL
    assert load_project(mine.autosave_file).prompt == "a fox in the snow"


def test_a_clean_exit_leaves_nothing_to_recover_and_frees_the_slot(take: Path) -> None:
    session = start_session()
    session.write(Project(prompt="fox"), take)
    assert session.autosave_file.is_file()

    session.end()

    assert not session.autosave_file.exists() and not session.active
    again = start_session()
    assert again.recovery is None and again.folder == session.folder


def test_a_discarded_autosave_is_not_offered(take: Path) -> None:
    session = start_session()
    session.write(Project(prompt="fox"), take)
    session.discard()
    session.abandon()

    assert start_session().recovery is None
    assert sorted(p.name for p in session.folder.iterdir()) == ["owner.lock", "session.json"]


def test_a_session_that_let_go_of_its_slot_never_writes_into_it(take: Path) -> None:
    ended = start_session()
    ended.end()
    successor = start_session()  # takes the freed slot
    assert successor.folder == ended.folder

    ended.write(Project(prompt="a late autosave"), take)  # e.g. a worker that finished after the close
    ended.discard()

    assert not successor.autosave_file.exists()
    successor.write(Project(prompt="fox"), take)
    ended.discard()
    assert load_project(successor.autosave_file).prompt == "fox"


def test_when_several_crashed_apps_left_work_the_newest_is_offered_and_the_others_wait(take: Path) -> None:
    older, newer = start_session(), start_session()
    older.write(Project(prompt="older work"), take)
    newer.write(Project(prompt="newer work"), take)
    os.utime(older.autosave_file, (1_000_000_000, 1_000_000_000))  # in 2001: certainly the older one
    older.abandon()
    newer.abandon()

    first = start_session()
    assert first.recovery is not None and first.folder == newer.folder and first.recovery.waiting == 1
    assert load_project(first.recovery.path).prompt == "newer work"

    first.end()  # recovered (or declined) and closed cleanly
    second = start_session()
    assert second.recovery is not None and second.folder == older.folder and second.recovery.waiting == 0
    assert load_project(second.recovery.path).prompt == "older work"


def test_the_autosave_of_a_version_before_slots_is_still_offered(tmp_path: Path, take: Path) -> None:
    root = autosave_dir()  # the one autosave of earlier versions, with no lock file
    save_project(Project(prompt="work from before the upgrade"), root / "autosave.h2s", take)
    (root / "autosave-info.json").write_text(json.dumps({"project_path": str(tmp_path / "old.h2s"),
                                                         "saved": "2024-05-01T10:00:00"}))
    (root / "session.json").write_text(json.dumps({"clean_exit": False, "pid": 999_999}))

    session = start_session()

    assert session.recovery is not None and session.recovery.path == root / "autosave.h2s"
    assert session.recovery.project_path == tmp_path / "old.h2s" and session.recovery.saved == "2024-05-01T10:00:00"
    assert load_project(session.recovery.path).prompt == "work from before the upgrade"


def test_the_narration_is_copied_once_and_again_only_when_it_changes(take: Path) -> None:
    session = start_session()
    session.write(Project(prompt="fox"), take)
    autosave = session.autosave_file
    copy = project_audio_path(autosave, load_project(autosave))
    first = copy.stat().st_mtime_ns
    os.utime(copy, ns=(first - 10**9, first - 10**9))  # so a rewrite would show

    session.write(Project(prompt="fox in snow"), take)
    assert copy.stat().st_mtime_ns == first - 10**9 and load_project(autosave).prompt == "fox in snow"

    sf.write(take, np.ones(8000, dtype=np.float32) * 0.5, 16000, subtype="PCM_16")
    session.write(Project(prompt="fox in snow"), take)
    assert copy.read_bytes() == take.read_bytes()


def test_without_a_usable_autosave_folder_the_app_still_starts_with_autosave_off(isolated_home: Path,
                                                                                take: Path) -> None:
    (isolated_home / "autosave").write_text("a file where the folder should be")

    session = start_session()
    session.write(Project(prompt="fox"), take)
    session.discard()
    session.end()

    assert session.recovery is None and not session.active
    assert (isolated_home / "autosave").read_text() == "a file where the folder should be"
