"""Build the one-folder PyInstaller bundle (dist/hear2see/) and report its size and build time.

    python packaging/build.py                  build into dist/hear2see (work files in build/pyinstaller)
    python packaging/build.py --cache DIR      build into DIR/<key>/hear2see, or reuse it when nothing changed
    python packaging/build.py --clean          also empty PyInstaller's caches first
    python packaging/build.py --no-sync        build from the packages as installed, even if not the locked ones

Before building, the environment is brought to the committed lock (requirements/package.txt) when any
locked package differs from it, so a bundle is built from the versions the tests ran on. The cache key
hashes what the bundle is made of: the spec, this script, the entry point, the package's sources,
resources/, the Python version and every installed distribution's version. A cached bundle is
only used when it was completed (its marker file is written last), so a killed build is never reused.
The last line printed is the bundle's folder; `dist/hear2see/hear2see --self-test` checks it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "hear2see.spec"
APP_NAME = "hear2see"
MARKER = "hear2see-build.json"
LOCK = ROOT / "requirements" / "package.txt"
KEY_INPUTS = ("packaging/hear2see.spec", "packaging/build.py", "packaging/hear2see_entry.py", "hear2see_desktop",
              "resources")


def locked_versions(lock: Path) -> dict[str, str]:
    """{normalised name: version} of the lock's entries that apply to this interpreter and platform."""
    from packaging.markers import Marker

    versions = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)==([^\s;\\]+)\s*(?:;\s*(.+?))?\s*\\?$", line)
        if match and (not match[3] or Marker(match[3]).evaluate()):
            versions[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return versions


def differences_from_lock(lock: Path) -> list[str]:
    """'name: installed -> locked' for every locked package this environment has at another version or lacks."""
    installed = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version
                 for d in importlib.metadata.distributions()}
    return [f"{name}: {installed.get(name, 'missing')} -> {version}"
            for name, version in sorted(locked_versions(lock).items()) if installed.get(name) != version]


def sync_to_lock(lock: Path = LOCK) -> None:
    """Install the lock (hash-checked, no resolving) into this environment when it differs from it."""
    changes = differences_from_lock(lock)
    if not changes:
        return
    print(f"Bringing the environment to {lock.relative_to(ROOT)}: {'; '.join(changes)}", file=sys.stderr)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(lock)]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SystemExit(f"Installing {lock} failed; see pip's output above.")


def bundle_key() -> str:
    """A hash of everything that goes into the bundle; equal keys mean an equal bundle."""
    digest = hashlib.sha256(f"{sys.version}\n{sys.platform}\n".encode())
    for name in KEY_INPUTS:
        top = ROOT / name
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()[:16]


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, files) under a folder, links not followed."""
    total = count = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
            count += 1
    return total, count


def largest_parts(internal: Path, top: int = 12) -> list[tuple[int, str]]:
    """The biggest entries right under the bundle's _internal folder, to see what to exclude next."""
    sizes = []
    for entry in internal.iterdir() if internal.is_dir() else ():
        if entry.is_symlink():
            continue
        size = folder_size(entry)[0] if entry.is_dir() else entry.stat().st_size
        sizes.append((size, entry.name))
    return sorted(sizes, reverse=True)[:top]


def run_pyinstaller(dist_dir: Path, work_dir: Path, clean: bool) -> None:
    """Run PyInstaller on the spec with this interpreter; raises SystemExit with its exit code on failure."""
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(dist_dir), "--workpath", str(work_dir), str(SPEC)]
    if clean:
        cmd.insert(3, "--clean")
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"PyInstaller failed with exit code {result.returncode}; see its output above.")


def build(dist_dir: Path, work_dir: Path, clean: bool = False) -> tuple[Path, float]:
    """Build into dist_dir/hear2see; returns (bundle folder, seconds taken)."""
    started = time.perf_counter()
    run_pyinstaller(dist_dir, work_dir, clean)
    return dist_dir / APP_NAME, time.perf_counter() - started


def cached_build(cache_dir: Path, clean: bool = False) -> tuple[Path, float | None]:
    """The bundle for the current key from the cache, built (and older keys removed) when missing.

    Returns (bundle folder, build seconds or None when it was reused).
    """
    key = bundle_key()
    entry = cache_dir / key
    bundle = entry / APP_NAME
    if (entry / MARKER).is_file() and bundle.is_dir():
        return bundle, None
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.iterdir():  # a bundle is over a gigabyte: keep only the current one
        if old.is_dir() and old.name not in (key, "work"):
            shutil.rmtree(old, ignore_errors=True)
    staging = cache_dir / f"{key}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    built, seconds = build(staging, cache_dir / "work", clean)
    shutil.rmtree(entry, ignore_errors=True)
    entry.mkdir(parents=True)
    os.replace(built, bundle)
    shutil.rmtree(staging, ignore_errors=True)
    (entry / MARKER).write_text(json.dumps({"key": key, "build_s": round(seconds, 1)}), encoding="utf-8")
    return bundle, seconds


def report(bundle: Path, seconds: float | None) -> None:
    """Print the bundle's size, its largest parts and the build time (stderr), then its folder (stdout)."""
    size, files = folder_size(bundle)
    timing = "reused from the cache" if seconds is None else f"built in {seconds / 60:.1f} min"
    print(f"Bundle {bundle}: {size / 2**20:.0f} MiB in {files} files, {timing}", file=sys.stderr)
    for part_size, name in largest_parts(bundle / "_internal"):
        print(f"  {part_size / 2**20:8.1f} MiB  {name}", file=sys.stderr)
    print(bundle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", metavar="DIR", type=Path, help="build into DIR/<key>/ and reuse it when unchanged")
    parser.add_argument("--dist", metavar="DIR", type=Path, default=ROOT / "dist", help="output folder (no --cache)")
    parser.add_argument("--work", metavar="DIR", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's caches before building")
    parser.add_argument("--key", action="store_true", help="print the cache key and exit")
    parser.add_argument("--no-sync", action="store_true", help="do not bring the environment to the lock first")
    args = parser.parse_args()
    if args.key:
        print(bundle_key())
        return
    if importlib.util.find_spec("PyInstaller") is None:
        raise SystemExit("PyInstaller is not installed: `bash scripts/setup.sh --package` (or --test) first.")
    if not args.no_sync:
        sync_to_lock()
    if args.cache:
        bundle, seconds = cached_build(args.cache.expanduser().resolve(), args.clean)
    else:
        bundle, seconds = build(args.dist.resolve(), args.work.resolve(), args.clean)
    report(bundle, seconds)


if __name__ == "__main__":
    main()
