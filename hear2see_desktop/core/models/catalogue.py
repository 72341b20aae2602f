"""The catalogue of models the app knows how to download: what each is, its licence, size and files.

The data lives in `resources/models/catalogue.json` ($HEAR2SEE_CATALOGUE points at another file, for tests
and private mirrors). Each entry installs into one folder under the models root, chosen to match where the
app already looks (`sd/stable-diffusion-v1-5`, `vosk/<model>`, `clip`, `whisper/<size>`, `taesd`, `loras`,
`motion/<hub name>` for Animate mode's motion modules, `sounds/<name>` for sound-event taggers).

Hashes: a file's `sha256` is checked when the catalogue knows it; where it is null, the download checks the
SHA-256 the hub reports for the file (huggingface.co's `X-Linked-Etag` / `ETag` of an LFS file is its
SHA-256), and a Vosk zip is checked by the CRCs inside it when it unpacks. Sizes are approximate.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError

CATALOGUE_ENV_VAR = "HEAR2SEE_CATALOGUE"
KINDS = ("vosk", "sd", "taesd", "lora", "clip", "whisper", "motion", "sound")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ModelFile:
    """One file to fetch: `path` is relative to the install folder (for an archive, the archive's own name)."""

    url: str
    path: str
    sha256: str | None = None
    size_bytes: int = 0  # approximate; the server's Content-Length wins
    unpack: bool = False  # a zip whose contents become the install folder


@dataclass(frozen=True)
class CatalogueEntry:
    """A downloadable model: `folder` is relative to the models root; `marker` proves it is installed."""

    name: str
    kind: str
    title: str
    licence: str
    size_bytes: int  # approximate, for the list
    folder: str
    files: tuple[ModelFile, ...]
    marker: str
    homepage: str = ""
    language: str = ""

    def install_dir(self, root: Path) -> Path:
        """Where this entry lives under the models root `root`."""
        return root.joinpath(*PurePosixPath(self.folder).parts)

    @property
    def is_archive(self) -> bool:
        """True when the entry is one zip that unpacks into its folder (Vosk)."""
        return any(file.unpack for file in self.files)


def default_catalogue_path() -> Path:
    """$HEAR2SEE_CATALOGUE when set, else the bundled catalogue.json."""
    override = os.environ.get(CATALOGUE_ENV_VAR, "").strip()
    return Path(override).expanduser() if override else paths.resource_path("models", "catalogue.json")


def _safe_relative(text: object, where: str) -> str:
    """A relative POSIX path that stays inside its folder (no absolute paths, drives or `..`)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where} is missing")
    pure = PurePosixPath(text)
    if pure.is_absolute() or ".." in pure.parts or ":" in text or "\\" in text:
        raise ValueError(f"{where} {text!r} must be a plain relative path")
    return str(pure)


def _parse_file(raw: object, where: str) -> ModelFile:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not an object")
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError(f"{where} has no http(s) url")
    sha256 = raw.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.match(sha256.lower())):
        raise ValueError(f"{where} has a sha256 that is not 64 hex digits")
    size = raw.get("size", 0)
    if not isinstance(size, int) or size < 0:
        raise ValueError(f"{where} has a size that is not a whole number of bytes")
    return ModelFile(url, _safe_relative(raw.get("path"), f"{where} path"), sha256.lower() if sha256 else None,
                     size, bool(raw.get("unpack", False)))


def _parse_entry(raw: object, index: int) -> CatalogueEntry:
    if not isinstance(raw, dict):
        raise ValueError(f"entry {index} is not an object")
    name = raw.get("name")
    if not isinstance(name, str) or not re.match(r"^[a-z0-9][a-z0-9._-]*$", name):
        raise ValueError(f"entry {index} has no valid name (lower-case letters, digits, '.', '_', '-')")
    for field in ("title", "licence"):
        if not isinstance(raw.get(field), str) or not raw[field].strip():
            raise ValueError(f"{name} has no {field}")
    if raw.get("kind") not in KINDS:
        raise ValueError(f"{name} has kind {raw.get('kind')!r}, not one of {', '.join(KINDS)}")
    size = raw.get("size_bytes")
    if not isinstance(size, int) or size <= 0:
        raise ValueError(f"{name} has no size_bytes")
    files_raw = raw.get("files")
    if not isinstance(files_raw, list) or not files_raw:
        raise ValueError(f"{name} lists no files")
    files = tuple(_parse_file(item, f"{name} file {number}") for number, item in enumerate(files_raw, 1))
    if any(file.unpack for file in files) and len(files) != 1:
        raise ValueError(f"{name} mixes an archive with other files")
    if len({file.path for file in files}) != len(files):
        raise ValueError(f"{name} lists one path twice")
    return CatalogueEntry(
        name=name, kind=raw["kind"], title=raw["title"].strip(), licence=raw["licence"].strip(), size_bytes=size,
        folder=_safe_relative(raw.get("folder"), f"{name} folder"), files=files,
        marker=_safe_relative(raw.get("marker"), f"{name} marker"),
        homepage=str(raw.get("homepage", "")), language=str(raw.get("language", "")),
    )


def load_catalogue(path: Path | None = None) -> list[CatalogueEntry]:
    """Every entry of the catalogue at `path` (default: `default_catalogue_path()`), checked.

    Raises BadInputError naming the file and the first problem when it is unreadable or malformed.
    """
    source = path or default_catalogue_path()
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        raw_entries = data.get("models") if isinstance(data, dict) else None
        if not isinstance(raw_entries, list):
            raise ValueError('it has no "models" list')
        entries = [_parse_entry(raw, index) for index, raw in enumerate(raw_entries, 1)]
        names = [entry.name for entry in entries]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"the name {duplicates[0]} is used twice")
    except (OSError, ValueError) as error:
        raise BadInputError(f"The model catalogue {source} cannot be used: {error}.") from error
    return entries


def find_entry(name: str, entries: list[CatalogueEntry] | None = None) -> CatalogueEntry:
    """The entry called `name`; an unknown name is a BadInputError that suggests the closest ones."""
    entries = entries if entries is not None else load_catalogue()
    for entry in entries:
        if entry.name == name.strip().lower():
            return entry
    names = [entry.name for entry in entries]
    close = difflib.get_close_matches(name.strip().lower(), names, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else "see `hear2see models list` for the names."
    raise BadInputError(f"There is no model called '{name}' in the catalogue: {hint}")
