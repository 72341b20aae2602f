"""Which font can draw a caption: the bundled one when it has every letter, else an installed one that does.

The bundled DejaVu Sans Condensed Bold covers Latin, Greek and Cyrillic. A narration in Korean (the
embedded Vosk model's language), Japanese or Chinese needs glyphs DejaVu lacks; every system set up
for those languages has a font with them (Malgun Gothic on Windows, Apple SD Gothic Neo on macOS,
Noto CJK on Linux), so the caption uses the first installed font whose character map covers the
text, bold faces first. Fonts are only scanned when the bundled font falls short, once per process.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from hear2see_desktop.core.paths import resource_path

log = logging.getLogger(__name__)

FONT_DIRS_ENV = "HEAR2SEE_FONT_DIRS"
"""Extra font folders (os.pathsep-separated), searched before the system's."""
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
BUNDLED_FONT = "DejaVuSansCondensed-Bold.ttf"


def bundled_font() -> Path | None:
    """The font shipped in resources/fonts (None in a broken install: Pillow's own font is the last resort)."""

    path = resource_path("fonts", BUNDLED_FONT)
    return path if path.is_file() else None


def system_font_dirs() -> list[Path]:
    """Folders fonts are installed in on this platform, `HEAR2SEE_FONT_DIRS` first."""
    extra = [Path(part) for part in os.environ.get(FONT_DIRS_ENV, "").split(os.pathsep) if part]
    home = Path.home()
    if sys.platform == "win32":
        windows = Path(os.environ.get("WINDIR", r"C:\Windows"))
        local = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        found = [windows / "Fonts", local / "Microsoft" / "Windows" / "Fonts"]
    elif sys.platform == "darwin":
        found = [Path("/System/Library/Fonts"), Path("/Library/Fonts"), home / "Library" / "Fonts"]
    else:
        data_home = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
        found = [data_home / "fonts", home / ".fonts", Path("/usr/local/share/fonts"), Path("/usr/share/fonts")]
    return extra + found


@lru_cache(maxsize=64)
def characters_of(path: str) -> frozenset[int]:
    """The code points a font file maps to glyphs (the first face of a collection); empty if unreadable."""
    from fontTools.ttLib import TTFont  # lazy: only captions need it

    try:
        font = TTFont(path, lazy=True, fontNumber=0)
        try:
            return frozenset(font.getBestCmap() or ())
        finally:
            font.close()
    except Exception as error:  # noqa: BLE001 - any broken font file is simply not a candidate
        log.debug("Skipping font %s: %s", path, error)
        return frozenset()


def _needed(text: str) -> set[int]:
    return {ord(ch) for ch in text if not ch.isspace()}


@lru_cache(maxsize=1)
def _installed_fonts() -> tuple[str, ...]:
    """Every font file under the font folders, bold faces first, then by name (a stable choice)."""
    files: list[Path] = []
    for folder in system_font_dirs():
        if folder.is_dir():
            files.extend(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    unique = dict.fromkeys(str(p) for p in files)
    return tuple(sorted(unique, key=lambda p: ("bold" not in Path(p).name.lower(), Path(p).name.lower(), p)))


def font_for(text: str) -> str | None:
    """The font file a caption of `text` is drawn with: the bundled one if it covers every letter, else
    the first installed font that does, else whichever of them covers the most (None: Pillow's font)."""
    needed = _needed(text)
    bundled = bundled_font()
    bundled_chars = characters_of(str(bundled)) if bundled is not None else frozenset()
    if needed <= bundled_chars:
        return str(bundled) if bundled is not None else None
    best, best_count = (str(bundled) if bundled is not None else None), len(needed & bundled_chars)
    for path in _installed_fonts():
        count = len(needed & characters_of(path))
        if count == len(needed):
            return path
        if count > best_count:
            best, best_count = path, count
    if best_count < len(needed):
        log.warning("No installed font has every letter of the caption %r; some will show as boxes.", text[:40])
    return best


def forget_installed_fonts() -> None:
    """Scan the font folders again on the next caption (after fonts were installed, or in tests)."""
    _installed_fonts.cache_clear()
    font_faces.cache_clear()


@dataclass(frozen=True)
class FontFace:
    """A font a caption style can name: its full name ("DejaVu Sans Condensed Bold"), the family a subtitle
    player looks it up by, whether it is a bold face, and its file."""

    name: str
    family: str
    bold: bool
    path: str


@lru_cache(maxsize=256)
def face_of(path: str) -> FontFace | None:
    """The names of the font in `path` (the first face of a collection); None if it cannot be read."""
    from fontTools.ttLib import TTFont  # lazy: only caption styles need it

    try:
        font = TTFont(path, lazy=True, fontNumber=0)
        try:
            names = font["name"]
            family = names.getDebugName(1) or names.getBestFamilyName() or ""  # the legacy family: what GDI
            # and fontconfig-based players (libass) look a subtitle style's Fontname up by
            full = names.getBestFullName() or family
            bold = bool(font["OS/2"].fsSelection & 0x20) if "OS/2" in font else "bold" in full.lower()
        finally:
            font.close()
    except Exception as error:  # noqa: BLE001 - a broken font file is simply not offered
        log.debug("Skipping font %s: %s", path, error)
        return None
    return FontFace(str(full), str(family), bold, path) if full else None


@lru_cache(maxsize=1)
def font_faces() -> tuple[FontFace, ...]:
    """Every font a caption may be drawn with, by full name: the bundled one first, then the installed ones
    sorted by name (the first file of a name wins). Scans the font folders: call it off the UI thread."""
    bundled = bundled_font()
    paths = ([str(bundled)] if bundled is not None else []) + list(_installed_fonts())
    faces: dict[str, FontFace] = {}
    for path in paths:
        face = face_of(path)
        if face is not None and face.name.lower() not in faces:
            faces[face.name.lower()] = face
    first = list(faces.values())[:1] if bundled is not None else []
    return tuple(first + sorted((f for f in faces.values() if f not in first), key=lambda f: f.name.lower()))


def font_named(name: str) -> FontFace | None:
    """The font a caption style names: a font file's path, or an installed font's full name (any case)."""
    if Path(name).suffix.lower() in FONT_SUFFIXES:
        return face_of(str(Path(name).expanduser())) if Path(name).expanduser().is_file() else None
    wanted = name.strip().lower()
    return next((face for face in font_faces() if face.name.lower() == wanted), None)
