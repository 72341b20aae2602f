"""A tiny LoRA training set: coloured squares and circles on a cream ground, each with a caption.

Small enough (64x64 PNGs) that the tiny pipeline trains on it in seconds, varied enough (colour and shape
named in the caption) that the loss has something to learn.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 200, 60),
    "blue": (30, 60, 220),
    "yellow": (230, 220, 40),
    "purple": (140, 40, 180),
    "orange": (240, 140, 20),
    "pink": (240, 120, 190),
    "teal": (20, 160, 160),
}


def shape_image(colour: str, circle: bool, size_px: int = 64) -> Image.Image:
    """One coloured shape, centred, on a cream background."""
    image = Image.new("RGB", (size_px, size_px), (245, 242, 230))
    draw = ImageDraw.Draw(image)
    box = (size_px // 5, size_px // 5, size_px - size_px // 5, size_px - size_px // 5)
    (draw.ellipse if circle else draw.rectangle)(box, fill=COLOURS[colour])
    return image


def write_shapes_dataset(folder: Path, count: int = 6, captions: str = "txt", size_px: int = 64) -> Path:
    """`count` images `shape_N.png`; captions as `shape_N.txt` ("txt") or one metadata.jsonl ("jsonl")."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, colour in enumerate(list(COLOURS)[:count]):
        circle = index % 2 == 1
        name = f"shape_{index}.png"
        shape_image(colour, circle, size_px).save(folder / name)
        caption = f"a {colour} {'circle' if circle else 'square'}"
        if captions == "txt":
            (folder / name).with_suffix(".txt").write_text(caption, encoding="utf-8")
        else:
            lines.append(json.dumps({"file_name": name, "text": caption}))
    if lines:
        (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
