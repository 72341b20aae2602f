"""The storyboard with ears: sound words in every scene, and scenes cut from the sounds of a take without speech.

`hear_scenes` gives each scene the words of the strong sound events inside it (kept apart from the scene's
text, so the user can edit or switch them off); `sound_storyboard` cuts a take with no words where its
sounds change. `storyboard_for_take` picks between the two and says when the take had no speech.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.prompt.styles import load_style
from hear2see_desktop.core.sounds.changes import sound_cuts, strong_onsets
from hear2see_desktop.core.sounds.job import SoundsJob
from hear2see_desktop.core.sounds.track import SoundTrack
from hear2see_desktop.core.sounds.visual_words import VisualWords, load_visual_words, scene_sound_words
from hear2see_desktop.core.storyboard.board import Scene, Storyboard, build_storyboard, rebuild_prompts
from hear2see_desktop.core.storyboard.scenes import split_at
from hear2see_desktop.core.transcript import Transcript


def hear_scenes(board: Storyboard, track: SoundTrack, negative: str | None = None,
                words: VisualWords | None = None) -> Storyboard:
    """A copy of `board` keeping `track`, each scene's sound words heard again from it (except those the user
    edited), and the prompts built again (except those the user wrote); `negative` as for `rebuild_prompts`."""
    words = words or load_visual_words()
    scenes = [scene if scene.sound_edited else
              dataclasses.replace(scene, sound_words=scene_sound_words(track, scene.start_s, scene.end_s, words))
              for scene in board.scenes]
    return rebuild_prompts(dataclasses.replace(board, scenes=scenes, sounds=track), negative=negative)


def sound_storyboard(track: SoundTrack, onsets_s: list[float], style: str = "cinematic", negative: str | None = None,
                     min_scene_s: float = 2.0, max_scene_s: float = 8.0,
                     words: VisualWords | None = None) -> Storyboard:
    """Scenes for a take without speech, cut where its sound events change and at strong onsets, each prompted
    from its events. Raises BadInputError when no sound in the take adds a picture."""
    words = words or load_visual_words()
    edges = split_at(sound_cuts(track, onsets_s, words), track.duration_s, min_scene_s, max_scene_s)
    edges = [edges[0], *(round(e, 3) for e in edges[1:-1]), edges[-1]]
    scenes = [Scene(start, end, "", "", sound_words=scene_sound_words(track, start, end, words))
              for start, end in zip(edges, edges[1:], strict=False)]
    if not any(scene.sound_words for scene in scenes):
        raise BadInputError("The take has no speech and no sound the app can picture: record the narration, "
                            "or type the picture yourself.")
    board = Storyboard(scenes, float(track.duration_s), load_style(style).name, track)
    return rebuild_prompts(board, negative=negative)


def storyboard_for_take(transcript: Transcript, track: SoundTrack | None, onsets_s: list[float],
                        style: str = "cinematic", negative: str | None = None, min_scene_s: float = 2.0,
                        max_scene_s: float = 8.0) -> tuple[Storyboard, bool]:
    """The take's storyboard, and whether it was cut from sounds alone (no speech: the caller tells the user).

    Without a track this is `build_storyboard` as before; with one, a take with words gets sound words in its
    scenes and a take without words is cut from its sounds."""
    duration_s = track.duration_s if track is not None else None  # the take's length, when it was heard
    if track is not None and not transcript.text.strip():
        return sound_storyboard(track, onsets_s, style, negative, min_scene_s, max_scene_s), True
    board = build_storyboard(transcript, duration_s=duration_s, style=style, negative=negative,
                             min_scene_s=min_scene_s, max_scene_s=max_scene_s)
    if track is None:
        return board, False
    return hear_scenes(board, track, negative), False


class HeardStoryboardJob:
    """The take heard by the tagger (unless its track is given) and its storyboard cut with its sounds, as one job
    a GUI worker runs: the result is `storyboard_for_take`'s (board, cut from sounds alone)."""

    def __init__(self, audio: Audio, audio_path: Path, transcript: Transcript, sound_model: str | None,
                 track: SoundTrack | None = None, style: str = "cinematic", min_scene_s: float = 2.0,
                 max_scene_s: float = 8.0) -> None:
        """`track`: the take's track heard before (hearing again costs seconds per second of audio on a CPU)."""
        self.audio, self.audio_path, self.transcript = audio, audio_path, transcript
        self.sound_model, self.track = sound_model, track
        self.style, self.min_scene_s, self.max_scene_s = style, min_scene_s, max_scene_s

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> tuple[Storyboard, bool]:
        track = self.track or SoundsJob(self.audio_path, self.sound_model, audio=self.audio).run(progress, cancelled)
        onsets_s = strong_onsets(self.audio) if not self.transcript.text.strip() else []
        return storyboard_for_take(self.transcript, track, onsets_s, style=self.style, min_scene_s=self.min_scene_s,
                                   max_scene_s=self.max_scene_s)
