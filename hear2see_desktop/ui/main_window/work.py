"""The work open in the window: the narration, its transcript and scenes, the rendered frames, the last render.

Plain data, no Qt: the parts of the window read and replace it, the project file saves it, New clears it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core.transcript import Transcript

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.storyboard.board import Storyboard


@dataclass
class Work:
    """What the user is working on; every field empty until a narration is recorded, imported or opened."""

    audio_path: Path | None = None
    audio: Audio | None = None
    transcript: Transcript | None = None  # as recognised (the prompt panel holds the user's edits of its text)
    storyboard: Storyboard | None = None
    scene_times_edited: bool = False  # the user dragged a cut (prompt edits are marked in the scenes)
    project_path: Path | None = None  # the project file it was saved to or opened from
    frame_pngs: dict[int, Path] = field(default_factory=dict)  # image index -> its PNG
    frame_times: dict[int, float] = field(default_factory=dict)  # image index -> where it shows, in seconds
    last_render: dict[str, Any] | None = None  # {"run_id": ..., "mp4": path}

    def clear(self) -> None:
        """Nothing open (New project)."""
        for name, value in vars(Work()).items():
            setattr(self, name, value)

    def forget_frames(self) -> None:
        self.frame_pngs, self.frame_times = {}, {}

    def storyboard_edited(self) -> bool:
        """Whether the scenes hold the user's work (a prompt typed into a scene, a cut moved)."""
        board = self.storyboard
        return board is not None and (self.scene_times_edited or any(scene.edited for scene in board.scenes))

    def has_output(self) -> bool:
        """Something to export: a finished render or a transcript."""
        return self.last_render is not None or self.transcript is not None

    def transcript_with_text(self, text: str) -> Transcript:
        """The transcript with `text` as the user has it now (typed, when nothing was recognised)."""
        if self.transcript is not None:
            return replace(self.transcript, text=text or self.transcript.text)
        duration = self.audio.duration_s if self.audio is not None else 0.0
        return Transcript(text=text, words=[], engine="typed", model="", duration_s=duration)

    def name(self) -> str:
        """What the "Save changes to ...?" question calls the work."""
        return self.project_path.name if self.project_path is not None else "the untitled project"


class WorkField:
    """An attribute of the window that reads and writes the same-named field of its `work`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, holder: Any, owner: type | None = None) -> Any:
        return self if holder is None else getattr(holder.work, self.name)

    def __set__(self, holder: Any, value: Any) -> None:
        setattr(holder.work, self.name, value)


__all__ = ["Work", "WorkField"]
