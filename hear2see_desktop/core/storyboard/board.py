"""The storyboard: the narration's scenes with their times and prompts, as a user-editable JSON file.

`hear2see storyboard AUDIO -o board.json` writes one, the user edits times and prompts, and
`hear2see render --storyboard board.json` renders it. A prompt the user changed is marked
`edited`, so rebuilding the prompts (another style, say) keeps it. With a sound-event tagger, a scene also
holds the words its sounds added (`sound_words`, part of its prompt; the user may edit them, marked
`sound_edited`, or switch them off with `sound_words_on`) and the board keeps the take's sound track
(`sounds`), so a replay needs no tagger. The JSON shape is:

    {"version": 1, "duration_s": 7.5, "style": "cinematic",
     "scenes": [{"start_s": 0.0, "end_s": 2.8, "text": "A red fox runs ...", "prompt": "red fox runs, ...",
                 "negative_prompt": "text, watermark, ...", "edited": false}, ...]}

(the sound keys, "sound_words", "sound_words_on", "sound_edited" and the board's "sounds", are written only
when the board has sounds).

Scenes are numbered from 1 in every message a user sees.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hear2see_desktop.core.atomic import write_bytes_atomically
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.prompt.builder import PromptResult, build_prompt
from hear2see_desktop.core.prompt.styles import load_style
from hear2see_desktop.core.sounds.track import SoundTrack
from hear2see_desktop.core.storyboard.scenes import split_scenes
from hear2see_desktop.core.storyboard.subjects import carry_subjects
from hear2see_desktop.core.transcript import Transcript, Word

FORMAT_VERSION = 1
TIME_TOLERANCE_S = 1e-3
"""How far scene edges may be from where they should be (JSON round trips, hand edits)."""
MIN_DRAGGED_SCENE_S = 0.25
"""The shortest a scene can be made by dragging one of its edges."""

_SCENE_KEYS = ("start_s", "end_s", "text", "prompt", "negative_prompt", "edited")
_SOUND_KEYS = ("sound_words", "sound_words_on", "sound_edited")


@dataclass
class Scene:
    """One stretch of the narration and the picture it shows; times in seconds from the start."""

    start_s: float
    end_s: float
    text: str  # what the narration says in this scene (its words joined)
    prompt: str  # the visual prompt rendered for this scene
    negative_prompt: str = ""
    edited: bool = False  # the user changed the prompt by hand: rebuilding keeps it
    sound_words: str = ""  # what the scene's sound events added to the prompt ("rain, wet streets, close-up")
    sound_words_on: bool = True  # False: the user switched the sound words off for this scene
    sound_edited: bool = False  # the user changed the sound words by hand: hearing the take again keeps them

    def to_dict(self) -> dict[str, Any]:
        keys = _SCENE_KEYS + (_SOUND_KEYS if self.has_sound_data() else ())
        return {key: getattr(self, key) for key in keys}

    def has_sound_data(self) -> bool:
        """Whether anything about sounds is kept for this scene (otherwise its JSON is as before sounds)."""
        return bool(self.sound_words) or not self.sound_words_on or self.sound_edited

    def sound_phrases(self) -> list[str]:
        """The sound words as prompt terms, when they are switched on."""
        if not self.sound_words_on:
            return []
        return [part.strip() for part in self.sound_words.split(",") if part.strip()]


@dataclass
class Storyboard:
    """The scenes of one narration, back to back from 0 to `duration_s`, in one style preset."""

    scenes: list[Scene]
    duration_s: float
    style: str = "cinematic"
    sounds: SoundTrack | None = None  # the take's sound events, when a tagger heard them

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a storyboard file (see the module docstring)."""
        data = {
            "version": FORMAT_VERSION,
            "duration_s": self.duration_s,
            "style": self.style,
            "scenes": [scene.to_dict() for scene in self.scenes],
        }
        if self.sounds is not None:
            data["sounds"] = self.sounds.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Storyboard:
        """Read the `to_dict` shape; BadInputError with one sentence naming the problem otherwise."""
        return _board_from(data, "The storyboard")

    def validate(self) -> None:
        """Raise BadInputError unless the scenes run back to back from 0 to the end, each with a prompt."""
        if not _is_number(self.duration_s) or self.duration_s <= 0:
            raise BadInputError(
                f"The storyboard's duration_s must be a positive number of seconds, not {self.duration_s!r}."
            )
        if not self.scenes:
            raise BadInputError("The storyboard has no scenes: build it again from the narration.")
        first = self.scenes[0]
        if abs(first.start_s) > TIME_TOLERANCE_S:
            raise BadInputError(f"Scene 1 must start at 0 s, not at {first.start_s:g} s.")
        for number, scene in enumerate(self.scenes, start=1):
            if not (_is_number(scene.start_s) and _is_number(scene.end_s)):
                raise BadInputError(f"Scene {number} has a start or end that is not a number of seconds.")
            if scene.end_s <= scene.start_s:
                raise BadInputError(
                    f"Scene {number} ends at {scene.end_s:g} s, not after it starts at {scene.start_s:g} s: "
                    "each scene must end after it starts."
                )
            if number > 1:
                before = self.scenes[number - 2]
                if abs(scene.start_s - before.end_s) > TIME_TOLERANCE_S:
                    raise BadInputError(
                        f"Scene {number} starts at {scene.start_s:g} s but scene {number - 1} ends at "
                        f"{before.end_s:g} s: each scene must start where the one before it ends."
                    )
            if not scene.prompt.strip():
                raise BadInputError(f"Scene {number} has an empty prompt: type what it should show.")
        last = self.scenes[-1]
        if abs(last.end_s - self.duration_s) > TIME_TOLERANCE_S:
            raise BadInputError(
                f"The last scene ends at {last.end_s:g} s but the narration lasts {self.duration_s:g} s: "
                "the last scene must end with the narration."
            )

    def scene_at(self, time_s: float) -> int:
        """The index of the scene showing at `time_s`; times before the start or after the end clamp.

        At an edge the later scene shows, so a cut at 2 s shows scene index 1 from 2 s on.
        """
        starts = [scene.start_s for scene in self.scenes]
        return min(max(bisect_right(starts, time_s) - 1, 0), len(self.scenes) - 1)

    def with_scene_prompt(self, index: int, prompt: str) -> Storyboard:
        """A copy with scene `index`'s prompt replaced and marked edited, so a rebuild keeps it."""
        self._check_index(index, 0)
        text = " ".join(prompt.split())
        if not text:
            raise BadInputError(f"Scene {index + 1}'s prompt cannot be empty: type what it should show.")
        board = self._copy()
        board.scenes[index] = dataclasses.replace(board.scenes[index], prompt=text, edited=True)
        return board

    def with_scene_sound_words(self, index: int, words: str, on: bool = True) -> Storyboard:
        """A copy with scene `index`'s sound words replaced (marked edited, so hearing the take again keeps them)
        or switched off (`on=False`), and its prompt built again unless the user wrote that prompt."""
        self._check_index(index, 0)
        board = self._copy()
        board.scenes[index] = dataclasses.replace(board.scenes[index], sound_words=" ".join(str(words).split()),
                                                  sound_words_on=bool(on), sound_edited=True)
        return rebuild_prompts(board)

    def with_boundary(self, index: int, time_s: float) -> Storyboard:
        """A copy with the cut between scenes `index - 1` and `index` moved to `time_s`.

        The time is clamped so both neighbours keep at least MIN_DRAGGED_SCENE_S (halfway when
        they are together shorter than twice that). Scene texts stay as they were.
        """
        self._check_index(index, 1)
        if not _is_number(time_s):
            raise BadInputError(f"A scene edge must be a time in seconds, not {time_s!r}.")
        before, after = self.scenes[index - 1], self.scenes[index]
        low_s, high_s = before.start_s + MIN_DRAGGED_SCENE_S, after.end_s - MIN_DRAGGED_SCENE_S
        cut_s = min(max(float(time_s), low_s), high_s) if low_s <= high_s else (before.start_s + after.end_s) / 2
        board = self._copy()
        board.scenes[index - 1] = dataclasses.replace(before, end_s=cut_s)
        board.scenes[index] = dataclasses.replace(after, start_s=cut_s)
        return board

    def _check_index(self, index: int, lowest: int) -> None:
        if not isinstance(index, int) or not lowest <= index < len(self.scenes):
            if lowest:
                raise BadInputError(
                    f"There is no edge before scene {_number(index)}: choose a scene from 2 to {len(self.scenes)}."
                )
            raise BadInputError(
                f"There is no scene {_number(index)}: the storyboard has {len(self.scenes)} scenes."
            )

    def _copy(self) -> Storyboard:
        return dataclasses.replace(self, scenes=[dataclasses.replace(s) for s in self.scenes])


def _number(index: Any) -> str:
    return str(index + 1) if isinstance(index, int) else repr(index)


# --- building ---------------------------------------------------------------------------------


def build_storyboard(
    transcript: Transcript,
    duration_s: float | None = None,
    style: str = "cinematic",
    negative: str | None = None,
    min_scene_s: float = 2.0,
    max_scene_s: float = 8.0,
) -> Storyboard:
    """Cut the narration into scenes and give each the prompt builder's prompt in one style.

    `duration_s` defaults to the transcript's (or its last word's end when that is 0). Subjects
    carry across scenes (`subjects.py`). A scene with nothing to picture (silence, only fillers)
    shows the scene before it, or the first one after it. A transcript with text but no word
    times (typed narration) gets times spread over the duration by word length.
    Raises BadInputError for an empty transcript, a zero length, bad limits or an unknown style.
    """
    words = list(transcript.words)
    if duration_s is None:
        duration_s = transcript.duration_s or max((w.end for w in words), default=0.0)
    if not _is_number(duration_s) or duration_s <= 0:
        raise BadInputError(
            "The narration has no length to cut into scenes: record or load the audio, or give its duration."
        )
    if not words and transcript.text.strip():
        words = _spread_words(transcript.text, duration_s)
    spans = split_scenes(words, duration_s, min_scene_s, max_scene_s)
    edges = _tidy_edges([start for start, _, _ in spans] + [float(duration_s)])
    scenes = [
        Scene(edges[k], edges[k + 1], " ".join(w.word.strip() for w in span_words), prompt="")
        for k, (_, _, span_words) in enumerate(spans)
    ]
    board = Storyboard(scenes, float(duration_s), load_style(style).name)
    return rebuild_prompts(board, negative=negative)


def rebuild_prompts(board: Storyboard, style: str | None = None, negative: str | None = None) -> Storyboard:
    """A copy with every prompt not edited by hand built again from the scene texts, subjects carried.

    `style` replaces the board's style when given; `negative` is as for `build_prompt`.
    Raises the prompt builder's BadInputError when no scene has anything to picture.
    """
    style_name = load_style(style if style is not None else board.style).name
    texts = [scene.text for scene in board.scenes]
    results: list[PromptResult | None] = []
    for scene, subjects in zip(board.scenes, carry_subjects(texts), strict=True):
        try:
            results.append(build_prompt(scene.text, style=style_name, negative=negative, subjects=subjects,
                                        sounds=scene.sound_phrases()))
        except BadInputError:
            results.append(None)  # silence or only fillers: filled in from a neighbour below
    if all(result is None for result in results):
        build_prompt(" ".join(texts), style=style_name, negative=negative)  # raises the builder's sentence
        raise BadInputError("The narration has nothing to picture: say or type what the scenes show.")
    filled = _fill_from_neighbours(results)
    scenes = [
        scene if scene.edited else dataclasses.replace(scene, prompt=result.prompt,
                                                       negative_prompt=result.negative_prompt)
        for scene, result in zip(board.scenes, filled, strict=True)
    ]
    return dataclasses.replace(board, scenes=scenes, style=style_name)


def _fill_from_neighbours(results: list[PromptResult | None]) -> list[PromptResult]:
    """Each missing result taken from the scene before it, or for leading ones the first after."""
    first = next(r for r in results if r is not None)
    filled: list[PromptResult] = []
    for result in results:
        filled.append(result if result is not None else (filled[-1] if filled else first))
    return filled


def _tidy_edges(edges: list[float]) -> list[float]:
    """Inner edges rounded to the millisecond for a readable file, unless that would touch two edges."""
    tidy = [edges[0], *(round(e, 3) for e in edges[1:-1]), edges[-1]]
    if all(a < b for a, b in zip(tidy, tidy[1:], strict=False)):
        return tidy
    return edges


_TYPED_WORD_RE = re.compile(r"\S+")


def _spread_words(text: str, duration_s: float) -> list[Word]:
    """Word times for typed narration: back to back over the duration, each as long as its letters."""
    pieces = _TYPED_WORD_RE.findall(text)
    weights = [len(p) + 1 for p in pieces]
    per_unit_s = duration_s / sum(weights)
    words: list[Word] = []
    start_s = 0.0
    for piece, weight in zip(pieces, weights, strict=True):
        end_s = start_s + weight * per_unit_s
        words.append(Word(piece, start_s, end_s, 1.0))
        start_s = end_s
    return words


# --- reading and writing ----------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    """A finite int or float; a JSON integer too long for a float (1 followed by 400 zeros) is not one."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _board_from(data: Any, name: str) -> Storyboard:
    """The storyboard in `data`; `name` starts each error ("The storyboard board.json")."""
    if not isinstance(data, dict):
        raise BadInputError(f"{name} must be a JSON object with version, duration_s and scenes.")
    if "version" not in data:
        raise BadInputError(f"{name} has no version: it is not a HEAR2SEE storyboard.")
    version = data["version"]
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise BadInputError(
            f"{name} has version {version!r}, but this HEAR2SEE reads version {FORMAT_VERSION}: "
            "build the storyboard again."
        )
    duration_s = data.get("duration_s")
    if not _is_number(duration_s):
        raise BadInputError(f"{name} has no duration_s in seconds.")
    style = data.get("style", "cinematic")
    if not isinstance(style, str) or not style.strip():
        raise BadInputError(f"{name} has a style that is not a preset name.")
    raw_scenes = data.get("scenes")
    if not isinstance(raw_scenes, list):
        raise BadInputError(f"{name} has no scenes list.")
    sounds = None
    if data.get("sounds") is not None:
        try:
            sounds = SoundTrack.from_dict(data["sounds"])
        except (KeyError, TypeError, ValueError):
            raise BadInputError(f"{name} has a sounds track that cannot be read: build the storyboard again.") from None
    return Storyboard([_scene_from(raw, n, name) for n, raw in enumerate(raw_scenes, start=1)],
                      float(duration_s), style, sounds)


def _scene_from(raw: Any, number: int, name: str) -> Scene:
    where = f"Scene {number} of {name[0].lower()}{name[1:]}"
    if not isinstance(raw, dict):
        raise BadInputError(f"{where} is not a JSON object.")
    for key in ("start_s", "end_s"):
        if not _is_number(raw.get(key)):
            raise BadInputError(f"{where} has no {key} in seconds.")
    for key in ("text", "prompt", "negative_prompt"):
        if not isinstance(raw.get(key, ""), str):
            raise BadInputError(f"{where} has a {key} that is not text.")
    if "prompt" not in raw:
        raise BadInputError(f"{where} has no prompt.")
    edited = raw.get("edited", False)
    if not isinstance(edited, bool):
        raise BadInputError(f"{where} has an edited flag that is not true or false.")
    if not isinstance(raw.get("sound_words", ""), str):
        raise BadInputError(f"{where} has sound_words that are not text.")
    for key in ("sound_words_on", "sound_edited"):
        if not isinstance(raw.get(key, key == "sound_words_on"), bool):
            raise BadInputError(f"{where} has a {key} flag that is not true or false.")
    return Scene(float(raw["start_s"]), float(raw["end_s"]), raw.get("text", ""), raw["prompt"],
                 raw.get("negative_prompt", ""), edited, raw.get("sound_words", ""),
                 raw.get("sound_words_on", True), raw.get("sound_edited", False))


def load_storyboard(path: Path) -> Storyboard:
    """Read and validate a storyboard file; BadInputError with one sentence for every way it is unusable."""
    path = Path(path)
    name = f"The storyboard {path.name}"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"There is no storyboard file at {path}: check the path.") from None
    except IsADirectoryError:
        raise BadInputError(f"{path} is a folder, not a storyboard file: choose a .json file.") from None
    except OSError as error:
        raise BadInputError(f"{name} cannot be read ({error.strerror or error}): check that you may read it.") from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except json.JSONDecodeError as error:
        raise BadInputError(
            f"{name} is not valid JSON (line {error.lineno}, column {error.colno}): fix it or build it again."
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadInputError(f"{name} is not a UTF-8 JSON file: fix it or build it again.") from None
    board = _board_from(data, name)
    board.validate()
    return board


def save_storyboard(board: Storyboard, path: Path) -> None:
    """Validate, then write through a hidden part file in the same folder and rename it into place."""
    board.validate()
    path = Path(path)
    text = json.dumps(board.to_dict(), ensure_ascii=False, indent=2) + "\n"
    try:
        write_bytes_atomically(path, text.encode("utf-8"))
    except OSError as error:
        raise BadInputError(
            f"The storyboard cannot be saved to {path} ({error.strerror or error}): choose a folder you may write to."
        ) from None
