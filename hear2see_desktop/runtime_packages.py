"""The Python packages the app needs at run time, read from the installed packages' own metadata.

A packaged app only carries what its build collected; a dependency that a new release starts to import
lazily, or a data file it reads beside its code (kernels' python_depends.json, for one), is missing from
the bundle until a user hits it. Both sides use this module so nothing is kept by hand: the PyInstaller
spec collects every run-time distribution's modules, data files and metadata and writes a manifest of
them into the bundle; `--self-test` checks that manifest inside the frozen app (every module imports,
every data file is there) and, from source, that every run-time requirement is installed at a version
that fits.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path, PurePosixPath

APP_DISTRIBUTION = "hear2see-desktop"
MANIFEST_NAME = "hear2see-runtime-packages.json"

# Run-time distributions' top-level modules that the app never imports, with the reason.
NOT_NEEDED: dict[str, str] = {
    "torchgen": "torch's code generator, used when torch itself is built",
    "functorch": "torch's old name for torch.func, imported by nothing the app runs",
    "isympy": "sympy's interactive console",
    "hf_xet": "the Hub's Xet transfer backend: models are downloaded by the app's own downloader",
    "srt_tools": "the srt package's command-line tools",
    "setuptools": "a build tool (torch lists it for compiling C++ extensions)",
    "_distutils_hack": "setuptools' distutils shim",
    "pkg_resources": "setuptools' old resource API",
    "triton": "GPU kernel compiler of torch's CUDA build",
}
# Files beside the code that a run never reads: sources, headers, type stubs, build files and tests.
NOT_DATA = ("*.h", "*.hpp", "*.cuh", "*.cu", "*.c", "*.cc", "*.cpp", "*.pyx", "*.pxd", "*.pyi", "*.typed",
            "*.cmake", "CMakeLists.txt", "*.a", "*.lib", "*/tests/*", "*/test/*", "*/testing/*")
# Suffixes of code and native libraries (found by the import system or the loader, not read as data).
CODE_SUFFIXES = (".py", ".pyc", ".pyd", ".so", ".dylib", ".dll")


def canonical(name: str) -> str:
    """The normalised distribution name (PEP 503): 'PySide6_Essentials' -> 'pyside6-essentials'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions(root: str = APP_DISTRIBUTION) -> list[Distribution]:
    """`root` and every distribution its requirements reach on this machine (markers evaluated, no extras)."""
    from packaging.requirements import Requirement

    found: dict[str, Distribution] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if canonical(name) in found:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # check_installed() reports it; the spec cannot collect what is not there
        found[canonical(name)] = dist
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return [found[key] for key in sorted(found)]


def _installed_files(dist: Distribution) -> list[PurePosixPath]:
    """The distribution's files inside site-packages (not its metadata, scripts or editable hooks)."""
    files = []
    for file in dist.files or ():
        path = PurePosixPath(file.as_posix())
        top = path.parts[0]
        if top == ".." or top.endswith((".dist-info", ".egg-info", ".data", ".pth")) or "__pycache__" in path.parts:
            continue
        if top.startswith("__editable__"):
            continue
        files.append(path)
    return files


def import_names(dist: Distribution) -> list[str]:
    """The top-level modules the distribution installs (packages and single-file modules), sorted."""
    names = set()
    for path in _installed_files(dist):
        if len(path.parts) > 1 and path.name == "__init__.py":
            names.add(path.parts[0])
        elif len(path.parts) == 1 and path.suffix in (".py", ".so", ".pyd"):
            names.add(path.name.split(".")[0])
    return sorted(names - set(NOT_NEEDED))


def data_files(dist: Distribution) -> list[str]:
    """The files a run may read beside the distribution's code, as posix paths under site-packages."""
    kept = []
    for path in _installed_files(dist):
        if len(path.parts) < 2 or path.parts[0] in NOT_NEEDED or path.parts[0].endswith(".libs"):
            continue
        if path.suffix in CODE_SUFFIXES or ".so." in path.name:
            continue
        text = path.as_posix()
        if any(fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern) for pattern in NOT_DATA):
            continue
        kept.append(text)
    return sorted(kept)


@dataclass
class PackageEntry:
    """One run-time distribution as the bundle must carry it."""

    name: str
    version: str
    modules: list[str]
    data: list[str] = field(default_factory=list)


def bundle_manifest(dists: Iterable[Distribution], data_checked: Iterable[str]) -> list[PackageEntry]:
    """What the bundle must hold; data files are listed for the distributions in `data_checked` (those
    whose data the spec collects from their files, not through a PyInstaller hook of their own)."""
    checked = {canonical(name) for name in data_checked}
    entries = []
    for dist in dists:
        name = canonical(dist.metadata["Name"])
        if name == APP_DISTRIBUTION:
            continue
        entries.append(PackageEntry(name, dist.version, import_names(dist),
                                    data_files(dist) if name in checked else []))
    return entries


def write_manifest(entries: Iterable[PackageEntry], path: Path) -> Path:
    """The manifest as JSON (the spec puts it at the bundle's top)."""
    path.write_text(json.dumps([asdict(entry) for entry in entries], indent=1), encoding="utf-8")
    return path


def check_bundle(base: Path) -> tuple[int, list[str]]:
    """(distributions checked, problems) for a frozen app whose files are under `base` (sys._MEIPASS)."""
    manifest = base / MANIFEST_NAME
    if not manifest.is_file():
        return 0, [f"{MANIFEST_NAME} is not in the bundle: it was not built by packaging/hear2see.spec"]
    entries = [PackageEntry(**entry) for entry in json.loads(manifest.read_text(encoding="utf-8"))]
    problems = []
    for entry in entries:
        missing_modules = [m for m in entry.modules if importlib.util.find_spec(m) is None]
        missing_data = [d for d in entry.data if not (base / d).is_file()]
        if missing_modules:
            problems.append(f"{entry.name} {entry.version}: module {', '.join(missing_modules)} not in the bundle")
        if missing_data:
            more = f" and {len(missing_data) - 3} more" if len(missing_data) > 3 else ""
            shown = ", ".join(missing_data[:3]) + more
            problems.append(f"{entry.name} {entry.version}: data file {shown} not in the bundle")
    return len(entries), problems


def check_installed(root: str = APP_DISTRIBUTION) -> tuple[int, list[str]]:
    """(distributions checked, problems): every run-time requirement installed at a version that fits."""
    from packaging.requirements import Requirement

    dists = runtime_distributions(root)
    problems = []
    for dist in dists:
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            try:
                version = distribution(requirement.name).version
            except PackageNotFoundError:
                problems.append(f"{dist.metadata['Name']} needs {requirement}, which is not installed")
                continue
            if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{dist.metadata['Name']} needs {requirement}, but {version} is installed")
    return len(dists), problems
