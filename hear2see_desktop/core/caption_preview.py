"""A sample frame with a caption drawn in a style: what the app's caption style dialog shows as it is edited.

The caption is drawn by the render's own code (`burn_cue`), on a frame of the video's shape scaled down, so
the preview shows the style as the video will (font size, outline and margins are shares of the frame).
"""

from __future__ import annotations

import numpy as np

from hear2see_desktop.core.caption_style import CaptionStyle
from hear2see_desktop.core.captions import CAPTION_LAYOUT, burn_cue
from hear2see_desktop.core.subtitles import styled_cues
from hear2see_desktop.core.transcript import Word

SAMPLE_TEXT = "A red fox runs through the snowy forest at dawn"
SAMPLE_WORD_S = 0.4
HIGHLIGHTED_WORD = 1  # "red": the word the preview shows being spoken


def sample_frame(width_px: int, height_px: int) -> np.ndarray:
    """A picture with light and dark parts (a sky over dark ground), so the outline's use shows."""
    rows = np.linspace(0.0, 1.0, height_px, dtype=np.float32)[:, None]
    sky = np.array([70, 120, 190], dtype=np.float32) * (1 - rows) + np.array([230, 225, 210]) * rows
    ground = np.array([40, 55, 35], dtype=np.float32)
    columns = np.linspace(0.0, 1.0, width_px, dtype=np.float32)[None, :]
    horizon = 0.62 + 0.06 * np.sin(columns * 6.0)
    frame = np.where((rows > horizon)[..., None], ground, sky[:, None, :] * np.ones((1, width_px, 1)))
    return np.clip(frame, 0, 255).astype(np.uint8)


def preview_size(width_px: int, height_px: int, longest_px: int) -> tuple[int, int]:
    """The video's shape with its longer side `longest_px`."""
    scale = longest_px / max(width_px, height_px)
    return max(16, round(width_px * scale)), max(16, round(height_px * scale))


def caption_preview(style: CaptionStyle, width_px: int, height_px: int, longest_px: int = 360,
                    layout: int = CAPTION_LAYOUT) -> np.ndarray:
    """The sample frame at the video's shape with the sample caption's first cue in `style`, its second word
    being spoken (highlighted when the style highlights words)."""
    preview_w, preview_h = preview_size(width_px, height_px, longest_px)
    words = [Word(token, index * SAMPLE_WORD_S, (index + 0.8) * SAMPLE_WORD_S, 1.0)
             for index, token in enumerate(SAMPLE_TEXT.split())]
    cue = styled_cues(words, style)[0]
    time_s = words[min(HIGHLIGHTED_WORD, len(cue.words) - 1)].start + 0.1
    return burn_cue(sample_frame(preview_w, preview_h), cue, time_s, style, layout)
