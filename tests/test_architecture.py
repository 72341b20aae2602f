"""The import contracts in pyproject.toml's [tool.importlinter] hold: entry points above the window above the
pipeline, no import cycles anywhere in the pipeline, no Qt in it (see the README's Layout section)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_import_contracts_hold(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(REPO)  # the contracts name the package; it is found from the repository root
    code = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert code == 0, report
    assert "BROKEN" not in report and report.count("KEPT") >= 3, report


def test_a_cycle_breaks_the_contract(tmp_path: Path) -> None:
    """The check can fail: a copy of the package with an import added back across a removed cycle, linted
    in a fresh interpreter that finds the copy first."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(REPO / "hear2see_desktop", tmp_path / "hear2see_desktop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "hear2see_desktop" / "core" / "render" / "out_of_memory.py", "a", encoding="utf-8") as module:
        module.write("\nfrom hear2see_desktop.core.render import memory_ladder  # noqa: E402, F401\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    script = ("import sys; from importlinter.cli import lint_imports; "
              "sys.exit(lint_imports(no_logo=True, no_cache=True))")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0 and ".out_of_memory -> .memory_ladder" in done.stdout, done.stdout + done.stderr
