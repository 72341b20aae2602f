"""Draw the app icon, resources/icons/hear2see.png (512 px), with Pillow: `python packaging/make_icon.py`.

The icon is generated, not hand-drawn, so it can be re-made at any size without a design tool: a sound
wave on the left turning into a picture (a sun over hills) on the right, on a rounded square. PyInstaller
turns the PNG into the .ico (Windows) and .icns (macOS) it needs.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
ICON_PNG = ROOT / "resources" / "icons" / "hear2see.png"
BACKGROUND = (32, 38, 66)
WAVE = (94, 200, 255)
SKY = (255, 196, 86)
HILLS = (72, 176, 120)


def draw_icon(size_px: int = 512) -> Image.Image:
    """The icon at `size_px` (drawn 4x larger and scaled down for smooth edges)."""
    scale = 4
    s = size_px * scale
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=BACKGROUND)
    # The sound wave: bars whose height follows a decaying sine, on the left half.
    bars, left, right, mid = 7, s * 0.12, s * 0.50, s * 0.5
    width = (right - left) / bars
    for i in range(bars):
        height = s * 0.34 * (0.35 + 0.65 * abs(math.sin(1.3 * i + 0.6))) * (1 - i / (bars * 1.6))
        x = left + i * width
        draw.rounded_rectangle((x + width * 0.2, mid - height / 2, x + width * 0.8, mid + height / 2),
                               radius=int(width * 0.3), fill=WAVE)
    # The picture: a framed sun over hills on the right half.
    frame = (s * 0.54, s * 0.27, s * 0.88, s * 0.73)
    draw.rounded_rectangle(frame, radius=s // 28, fill=(250, 246, 236))
    inner = (frame[0] + s * 0.03, frame[1] + s * 0.03, frame[2] - s * 0.03, frame[3] - s * 0.03)
    draw.rectangle(inner, fill=(126, 190, 240))
    sun_r = s * 0.055
    sun = (inner[0] + (inner[2] - inner[0]) * 0.68, inner[1] + (inner[3] - inner[1]) * 0.32)
    draw.ellipse((sun[0] - sun_r, sun[1] - sun_r, sun[0] + sun_r, sun[1] + sun_r), fill=SKY)
    draw.polygon([(inner[0], inner[3]), (inner[0], inner[3] - s * 0.12), (inner[0] + s * 0.12, inner[3] - s * 0.2),
                  (inner[0] + s * 0.25, inner[3] - s * 0.07), (inner[2], inner[3] - s * 0.14), (inner[2], inner[3])],
                 fill=HILLS)
    return image.resize((size_px, size_px), Image.Resampling.LANCZOS)


def main() -> None:
    ICON_PNG.parent.mkdir(parents=True, exist_ok=True)
    draw_icon(512).save(ICON_PNG, optimize=True)
    print(ICON_PNG)


if __name__ == "__main__":
    main()
