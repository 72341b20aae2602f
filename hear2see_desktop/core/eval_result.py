"""What `hear2see eval` and the window's metrics line get from the eval job: a typed result.

Each metric keeps its own result type (metrics/); `to_dict()` is the `hear2see eval --json` shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hear2see_desktop.core.errors import FixWords, Sentence, plain_words
from hear2see_desktop.core.metrics.av_align import AvAlignResult
from hear2see_desktop.core.metrics.clipsim import ClipSimResult
from hear2see_desktop.core.metrics.flicker import FlickerResult
from hear2see_desktop.core.metrics.fvd import FvdResult
from hear2see_desktop.core.metrics.inception_score import InceptionScoreResult
from hear2see_desktop.core.metrics.scene_following import SceneFollowing


@dataclass(frozen=True)
class RunLink:
    """The logged run that made the video (found by the MP4's SHA-256), with its cost."""

    id: str
    timings_s: dict[str, float]
    unet_evaluations: int


@dataclass(frozen=True)
class EvalResult:
    """The numbers of one MP4. A metric that could not run is None, and a note says why."""

    video: str
    frames: int
    fps: float
    duration_s: float
    av_align: AvAlignResult  # TempoTokens' reference score, with the one-to-one variant inside
    flicker: FlickerResult
    clipsim: ClipSimResult | None  # None: no CLIP model, or no text
    scene_following: SceneFollowing | None  # None: no logged storyboard, no CLIP model, or a --text given
    fvd: FvdResult | None  # None: no reference set or no I3D model
    inception_score: InceptionScoreResult | None
    text: str  # what CLIPSIM compared the frames with
    run: RunLink | None
    notes: list[Sentence]  # how to read a number, or why one is missing (their advice may name a setting)

    def to_dict(self, words: FixWords = plain_words) -> dict[str, Any]:
        """Plain JSON-ready data (the `--json` output), the notes' advice worded by `words`."""
        return {**asdict(self), "notes": [note.worded(words) for note in self.notes]}
