"""The training set: images with one caption each, checked up front so a bad folder fails in a moment.

Captions come from a `metadata.jsonl` (one `{"file_name": ..., "text": ...}` per line, the Hugging Face
image-folder layout) or from a `name.txt` beside `name.png`; metadata wins where both exist. Every image
is opened and decoded here, so an unreadable file is named before minutes of model loading, not after.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.hashing import sha256_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
METADATA_NAME = "metadata.jsonl"
MIN_IMAGES = 4
"""Fewer images than this teach a copy of those pictures, not a style."""

_NAMES_SHOWN = 3


@dataclass(frozen=True)
class TrainExample:
    """One image and the caption it is trained with (the prefix already applied)."""

    image_path: Path
    caption: str


@dataclass(frozen=True)
class LoraDataset:
    """The checked examples in file-name order, and the hash that identifies exactly this set."""

    folder: Path
    examples: tuple[TrainExample, ...]
    sha256: str

    @property
    def captions(self) -> list[str]:
        """The caption of each example, in order."""
        return [example.caption for example in self.examples]


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:_NAMES_SHOWN])
    more = len(paths) - _NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _read_metadata(folder: Path) -> dict[str, str]:
    """file_name (relative to `folder`, with forward slashes) -> caption, from metadata.jsonl."""
    path = folder / METADATA_NAME
    if not path.is_file():
        return {}
    captions: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path} could not be read as UTF-8 text: save it again as UTF-8.") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            name, text = entry["file_name"], entry["text"]
            if not isinstance(name, str) or not isinstance(text, str):
                raise TypeError("file_name and text must be strings")
        except (ValueError, KeyError, TypeError) as error:
            raise BadInputError(
                f"Line {number} of {path} is not a JSON object with a \"file_name\" and a \"text\" string."
            ) from error
        relative = Path(name.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts:
            raise BadInputError(f"Line {number} of {path} names {name}, which is outside the dataset folder.")
        captions[relative.as_posix()] = text
    return captions


def _caption_for(folder: Path, image: Path, metadata: dict[str, str]) -> str | None:
    relative = image.relative_to(folder).as_posix()
    if relative in metadata:
        return metadata[relative].strip()
    beside = image.with_suffix(".txt")
    if beside.is_file():
        try:
            return beside.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise BadInputError(f"The caption {beside} could not be read as UTF-8 text.") from error
    return None


def _is_readable_image(path: Path) -> bool:
    """Decode the whole file (not only its header), so a truncated download is caught here."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.width > 0 and image.height > 0
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return False


def with_prefix(caption: str, prefix: str) -> str:
    """Put a trigger word or style phrase before every caption: "sks style, a red circle"."""
    prefix = prefix.strip()
    if not prefix:
        return caption
    return f"{prefix}, {caption}" if caption else prefix


def dataset_sha256(folder: Path, examples: tuple[TrainExample, ...]) -> str:
    """SHA-256 over the sorted (file name, file bytes SHA-256, caption) of every example.

    Names the exact training set in the LoRA's metadata and lets a resumed run check it is the same.
    """
    entries = sorted(
        [example.image_path.relative_to(folder).as_posix(), sha256_file(example.image_path), example.caption]
        for example in examples
    )
    return hashlib.sha256(json.dumps(entries, ensure_ascii=False).encode("utf-8")).hexdigest()


def load_dataset(folder: Path, caption_prefix: str = "", min_images: int = MIN_IMAGES) -> LoraDataset:
    """Scan `folder` (top level, plus files metadata.jsonl names), check every image and caption.

    Raises BadInputError naming the files at fault: no images, images without a caption or with an empty
    one, files that do not decode as images, captions for images that are missing, or too few images.
    """
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise BadInputError(f"The dataset folder {folder} does not exist: check the path.")
    if not folder.is_dir():
        raise BadInputError(f"The dataset {folder} is a file: give the folder that holds the images and captions.")
    metadata = _read_metadata(folder)
    missing = sorted(name for name in metadata if not (folder / name).is_file())
    if missing:
        raise BadInputError(f"{METADATA_NAME} in {folder} lists images that are not there: {_names(missing)}.")
    images = {p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}
    images |= {folder / name for name in metadata}
    images = {p for p in images if not p.name.startswith(".")}
    if not images:
        raise BadInputError(
            f"The dataset folder {folder} has no images ({', '.join(IMAGE_SUFFIXES)}): "
            "put the training pictures there, each with a caption."
        )
    ordered = sorted(images, key=lambda p: p.relative_to(folder).as_posix())
    unreadable = [p.relative_to(folder).as_posix() for p in ordered if not _is_readable_image(p)]
    if unreadable:
        raise BadInputError(
            f"{len(unreadable)} file{'s' if len(unreadable) != 1 else ''} in {folder} could not be read as "
            f"an image: {_names(unreadable)}; replace or remove {'them' if len(unreadable) != 1 else 'it'}."
        )
    examples: list[TrainExample] = []
    uncaptioned: list[str] = []
    for image in ordered:
        caption = _caption_for(folder, image, metadata)
        if not caption:
            uncaptioned.append(image.relative_to(folder).as_posix())
            continue
        examples.append(TrainExample(image, with_prefix(caption, caption_prefix)))
    if uncaptioned:
        raise BadInputError(
            f"{len(uncaptioned)} image{'s' if len(uncaptioned) != 1 else ''} in {folder} "
            f"{'have' if len(uncaptioned) != 1 else 'has'} no caption: {_names(uncaptioned)}; add a non-empty "
            f"name.txt beside each image, or a line for it in {METADATA_NAME}."
        )
    if len(examples) < min_images:
        raise BadInputError(
            f"The dataset folder {folder} has {len(examples)} captioned image{'s' if len(examples) != 1 else ''}: "
            f"a LoRA style needs at least {min_images}, ideally 15 or more."
        )
    ready = tuple(examples)
    return LoraDataset(folder, ready, dataset_sha256(folder, ready))
