"""A render's pre-flight: everything a user can get wrong, checked before the first long stage.

So a bad input fails in a moment with one sentence, before any progress shows and before the model
loads: the output and subtitle paths, the model and LoRA files, animate mode's motion model (and that it
fits the model), the draft decoder, the storyboard against the narration's length, and a silent narration
with nothing else to draw from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core.errors import BadInputError, Fix
from hear2see_desktop.core.render.model_files import check_lora_file, check_model_files
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.motion_source import (
    MotionShape,
    MotionSource,
    check_motion_fits,
    motion_shape,
    resolve_motion_source,
)
from hear2see_desktop.core.settings import RenderSettings

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.render.model_source import ModelSource
    from hear2see_desktop.core.render_request import RenderRequest
    from hear2see_desktop.core.storyboard.board import Storyboard

STORYBOARD_TOLERANCE_S = 0.5
"""A storyboard may end this far from the narration's end (re-encoded audio shifts by a few ms)."""


@dataclass
class Checked:
    """What the checks loaded on the way: the narration, the model's files, and the ASR engine to run
    (None when the request brought its transcript or the narration is silent)."""

    audio: Audio
    source: ModelSource
    silent: bool
    engine: Any
    motion: MotionSource | None = None  # animate mode's motion model, and the shape of its layers
    motion_shape: MotionShape | None = None
    tagger: Any = None  # the sound-event tagger, when the request asks for one and makes its own scenes


def check_output_path(out_path: Path) -> None:
    """Refuse an output we can't write before doing any work."""
    if out_path.suffix.lower() != ".mp4":
        raise BadInputError(f"The output {out_path.name} must end in .mp4.")
    if out_path.is_dir():
        raise BadInputError(f"The output {out_path} is a folder: give a file name ending in .mp4.")
    if not out_path.parent.is_dir():
        raise BadInputError(f"The folder {out_path.parent} does not exist: create it or choose another output.")


def preflight(request: RenderRequest, settings: RenderSettings) -> Checked:
    """Check the request (see the module docstring); returns what was loaded for the checks."""
    from hear2see_desktop.core.audio import is_silent, load_audio

    settings.validate()
    check_output_path(request.out_path)
    for subtitle_path in request.subtitle_paths():
        if not subtitle_path.parent.is_dir():
            raise BadInputError(f"The folder {subtitle_path.parent} does not exist: create it or choose "
                                "another place for the subtitles.")
    if request.storyboard is not None:
        request.storyboard.validate()
    audio = load_audio(request.audio_path)
    source = resolve_model_source(settings.model, settings.model_config)
    check_model_files(source)
    for lora in settings.loras:
        lora_path = Path(lora.path).expanduser()
        if not lora_path.is_file():
            raise BadInputError(f"The LoRA file {lora.path} does not exist: check the path given to ", Fix("loras"),
                                ".")
        if lora_path.suffix.lower() == ".safetensors":
            check_lora_file(lora_path, source)
    motion, motion_layers = None, None
    if settings.mode == "animate":
        motion = resolve_motion_source(settings.motion_model)
        motion_layers = motion_shape(motion)
        check_motion_fits(motion, motion_layers, source)
    if settings.decoder == "taesd":
        from hear2see_desktop.core.render.taesd import require_taesd

        require_taesd()
    silent = is_silent(audio)
    if request.storyboard is not None:
        check_storyboard_length(request.storyboard, audio.duration_s)
    if silent and not settings.prompt.strip() and request.storyboard is None:
        raise no_speech(request.audio_path)
    engine = None
    if request.transcript is None and not silent:
        from hear2see_desktop.core.asr.select import open_engine

        engine = open_engine(request.engine, request.asr_model, request.asr_language)
    tagger = None
    if request.sound_model and request.storyboard is None and not silent and not settings.prompt.strip():
        from hear2see_desktop.core.sounds.tagger import load_tagger

        tagger = load_tagger(request.sound_model)  # a missing tagger: one sentence, before any work
    return Checked(audio, source, silent, engine, motion, motion_layers, tagger)


def no_speech(audio_path: Path) -> BadInputError:
    return BadInputError(f"No speech detected in {audio_path.name}: record the narration again, or give the picture "
                         "yourself with ", Fix("prompt"), ".")


def no_words(audio_path: Path) -> BadInputError:
    """A take with sound but no words, rendered without a sound model: which model would make its scenes."""
    from hear2see_desktop.core.sounds.tagger import DEFAULT_SOUND_MODEL

    return BadInputError(f"No speech detected in {audio_path.name}: record the narration again, give the picture "
                         "yourself with ", Fix("prompt"), ", or let its sounds make the scenes with ",
                         Fix("sound_model", DEFAULT_SOUND_MODEL), f" (hear2see models download {DEFAULT_SOUND_MODEL}).")


def check_storyboard_length(board: Storyboard, duration_s: float) -> None:
    if abs(board.duration_s - duration_s) > STORYBOARD_TOLERANCE_S:
        raise BadInputError(
            f"The storyboard lasts {board.duration_s:.1f} s but the narration {duration_s:.1f} s: "
            "make the storyboard from this narration (hear2see storyboard AUDIO -o board.json)."
        )
