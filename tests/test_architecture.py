"""The import contracts in pyproject.toml's [tool.importlinter] hold: entry points above the window above the
pipeline, no import cycles anywhere in the pipeline, no Qt in it (see the README's Layout section)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _lint(folder: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """import-linter on `folder`'s pyproject.toml, in a fresh interpreter: the linter's console and click
    machinery stay out of the test process (run in-process, a later Qt test's error hook stopped reporting)."""
    script = ("import sys; from importlinter.cli import lint_imports; "
              "sys.exit(lint_imports(no_logo=True, no_cache=True))")
    env = {**os.environ, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    return subprocess.run([sys.executable, "-c", script], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_import_contracts_hold() -> None:
    done = _lint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and done.stdout.count("KEPT") >= 3, done.stdout


def test_a_cycle_breaks_the_contract(tmp_path: Path) -> None:
    """The check can fail: a copy of the package with an import added back across a removed cycle, linted
    in a fresh interpreter that finds the copy first."""
    shutil.copytree(REPO / "hear2see_desktop", tmp_path / "hear2see_desktop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "hear2see_desktop" / "core" / "render" / "out_of_memory.py", "a", encoding="utf-8") as module:
        module.write("\nfrom hear2see_desktop.core.render import memory_ladder  # noqa: E402, F401\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    done = _lint(tmp_path, pythonpath=tmp_path)
    assert done.returncode != 0 and ".out_of_memory -> .memory_ladder" in done.stdout, done.stdout + done.stderr
