"""Prompt term kinds, ordered two ways: as the prompt lists them, and by importance when fitting.

Content kinds come from the narration (and "sound": the visual words of the sound events in a scene, after
the narration's own words); style kinds are a style preset's modifiers.
"""

from __future__ import annotations

CONTENT_KINDS = ("content", "subject", "object", "place", "time", "weather", "sound", "mood")
STYLE_KINDS = ("medium", "lighting", "camera")
PROMPT_ORDER = CONTENT_KINDS + STYLE_KINDS
IMPORTANCE_ORDER = ("content", "subject", "medium", "object", "place", "sound", "time", "weather", "lighting",
                    "mood", "camera")
