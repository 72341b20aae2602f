"""The reference set for FVD and IS: a folder of real videos and/or frame images, read as frame sequences.

Every video file (any depth) is one sequence. Image files are grouped by the folder that holds them, and
each folder's images, in natural name order (frame_2 before frame_10), are one sequence: the layout of
frame-folder video datasets (one sub-folder of PNG/JPG frames per video), which also lets a flat folder
of stills serve as the reference for IS. Hidden files are skipped. Frames stream one at a time, so a large
reference set costs time, not memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hear2see_desktop.core.analysis.optical_flow import load_cv2
from hear2see_desktop.core.errors import BadInputError

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif"})
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})


@dataclass(frozen=True)
class ReferenceSet:
    """folder: what the user gave; videos: video files; image_folders: per folder, its images in name order."""

    folder: Path
    videos: tuple[Path, ...]
    image_folders: tuple[tuple[Path, ...], ...]

    @property
    def sequences(self) -> int:
        """How many frame sequences (videos plus image folders) the set holds."""
        return len(self.videos) + len(self.image_folders)


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(path))]


def scan_reference_set(folder: str | Path) -> ReferenceSet:
    """List the videos and image folders under `folder`; BadInputError when it is missing or holds neither."""
    root = Path(folder).expanduser()
    if not root.exists():
        raise BadInputError(f"The reference folder {root} does not exist: check the path.")
    if not root.is_dir():
        raise BadInputError(f"The reference {root} is a file: give a folder of videos or images.")
    videos: list[Path] = []
    images: dict[Path, list[Path]] = {}
    for path in root.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(root).parts) or not path.is_file():
            continue
        suffix = path.suffix.lower()
        if suffix in VIDEO_SUFFIXES:
            videos.append(path)
        elif suffix in IMAGE_SUFFIXES:
            images.setdefault(path.parent, []).append(path)
    if not videos and not images:
        kinds = ", ".join(sorted(VIDEO_SUFFIXES | IMAGE_SUFFIXES))
        raise BadInputError(f"The reference folder {root} holds no videos or images ({kinds}).")
    folders = sorted(images, key=_natural_key)
    return ReferenceSet(
        folder=root,
        videos=tuple(sorted(videos, key=_natural_key)),
        image_folders=tuple(tuple(sorted(images[folder], key=_natural_key)) for folder in folders),
    )


def read_image(path: str | Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (alpha dropped, gray expanded); BadInputError when it is unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise BadInputError(f"The reference image {path} cannot be read: remove or replace it.") from exc


def image_frames(paths: Sequence[Path]) -> Iterator[np.ndarray]:
    """The images as one sequence of frames, each resized to the first image's size so they stack into clips."""

    size: tuple[int, int] | None = None
    for path in paths:
        frame = read_image(path)
        if size is None:
            size = (frame.shape[1], frame.shape[0])
        elif (frame.shape[1], frame.shape[0]) != size:
            frame = load_cv2().resize(frame, size, interpolation=load_cv2().INTER_AREA)
        yield frame


def video_frames(path: Path) -> Iterator[np.ndarray]:
    """A reference video's frames (HxWx3 uint8 RGB); BadInputError naming the file when it cannot be decoded."""
    from hear2see_desktop.core.video import read_frames

    try:
        yield from read_frames(path)
    except (RuntimeError, OSError) as exc:
        raise BadInputError(f"The reference video {path} cannot be decoded: remove or replace it.") from exc


def reference_sequences(reference: ReferenceSet) -> Iterator[Iterator[np.ndarray]]:
    """One lazy frame iterator per sequence: the videos first, then the image folders."""
    for video in reference.videos:
        yield video_frames(video)
    for paths in reference.image_folders:
        yield image_frames(paths)


def reference_frames(reference: ReferenceSet) -> Iterator[np.ndarray]:
    """Every frame of every sequence, one after another (for IS, where clips do not matter)."""
    for frames in reference_sequences(reference):
        yield from frames


def take_at_most(items: Iterable[np.ndarray], limit: int, more: list[bool]) -> Iterator[np.ndarray]:
    """At most `limit` items (frames or clips); sets `more[0]` when another one was there, so the
    result can say the reference set was capped (the extra item is decoded, never sent to a model)."""
    for index, item in enumerate(items):
        if index == limit:
            more[0] = True
            return
        yield item
