"""One table from `RenderSettings` fields to `hear2see render` flags, both ways.

The parser adds the flags from it (with the settings' defaults), and the render command makes its
`RenderSettings` from it, so a new setting is one row here instead of an argparse line and a copy line
kept in step by hand. `flag_of` names the flag of a field, for sentences that tell a CLI user what to change.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core.aspect import DRAFT_SIZES, FULL_SIZES, Aspect, aspect_of, other_side
from hear2see_desktop.core.caption_style import (
    HIGHLIGHTS,
    MAX_CHARS_RANGE,
    MAX_LINES_RANGE,
    OUTLINE_WIDTH_RANGE,
    POSITIONS,
    SIZE_RANGE_PCT,
    colour_hex,
)
from hear2see_desktop.core.errors import BadInputError, Fix
from hear2see_desktop.core.fonts import FONT_SUFFIXES
from hear2see_desktop.core.prompt.styles import style_names
from hear2see_desktop.core.settings import (
    ANIMATE_VERSIONS,
    CAPTION_LAYOUTS,
    DECODERS,
    DEFAULT_FPS,
    DEVICES,
    MODES,
    PLAN_VERSIONS,
    SCENE_CHANGES,
    SCHEDULERS,
    LoraSpec,
    RenderSettings,
)

if TYPE_CHECKING:
    from hear2see_desktop.core.settings import RenderSettings


def _same(value: Any) -> Any:
    return value


def _stripped(value: str | None) -> str:
    return (value or "").strip()


def _loras(texts: list[str]) -> list[Any]:

    return [LoraSpec.parse(text) for text in texts]


def _music_file(text: str | None) -> str | None:
    """`--music`: the file as an absolute path, so the run record and a replay find it from anywhere."""
    return str(Path(text).expanduser().absolute()) if text and text.strip() else None


def _caption_font(text: str | None) -> str:
    """`--caption-font`: a font's name as given, a font file as an absolute path (as `--music`)."""
    name = _stripped(text)
    return str(Path(name).expanduser().absolute()) if Path(name).suffix.lower() in FONT_SUFFIXES else name


def transition_seconds(text: str) -> float | None:
    """`--transition`: seconds, or 'whole' (None: the transition fills the time between keyframes)."""
    if text.strip().lower() == "whole":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds or 'whole'") from None


@dataclass(frozen=True)
class SettingFlag:
    """One field on the command line: its flag, argparse's options (the field's default unless they give
    one), and how the parsed value becomes the field's value."""

    field: str
    flag: str
    options: dict[str, Any] = field(default_factory=dict)
    to_setting: Callable[[Any], Any] = _same

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


def _table() -> tuple[SettingFlag, ...]:

    return (
        SettingFlag("prompt", "--prompt", {"default": None, "help": "the picture to draw (skips the prompt builder)"},
                    _stripped),
        SettingFlag("style", "--style"),
        SettingFlag("negative_prompt", "--negative",
                    {"default": None, "metavar": "TEXT", "help": "negative prompt (default: a standard one)"},
                    _stripped),
        SettingFlag("model", "--model", {"metavar": "ID|DIR|FILE.safetensors"}),
        SettingFlag("model_config", "--model-config",
                    {"metavar": "DIR",
                     "help": "component configs for a single-file checkpoint (default: the bundled SD 1.5 ones)"}),
        SettingFlag("loras", "--lora", {"action": "append", "default": [], "metavar": "FILE[:WEIGHT]"}, _loras),
        SettingFlag("scheduler", "--scheduler", {"choices": SCHEDULERS}),
        SettingFlag("steps", "--steps", {"type": int}),
        SettingFlag("cfg", "--cfg", {"type": float}),
        SettingFlag("frames", "--frames", {"type": int, "help": "distinct images held evenly across the narration "
                                                                "(default: one per output frame)"}),
        SettingFlag("fps", "--fps", {"type": int, "default": None,
                                     "help": "output frame rate (default: 8 classic, 12 smooth/fast/animate)"}),
        SettingFlag("seed", "--seed", {"type": int}),
        # No default here: an --aspect given beside them needs to know whether they were given (see `_sized`).
        SettingFlag("width", "--width", {"type": int, "metavar": "PX", "default": None,
                                         "help": f"frame width (default: {RenderSettings.width}, or --aspect's)"}),
        SettingFlag("height", "--height", {"type": int, "metavar": "PX", "default": None,
                                           "help": f"frame height (default: {RenderSettings.height}, or --aspect's)"}),
        SettingFlag("device", "--device", {"choices": DEVICES}),
        SettingFlag("mode", "--mode", {"choices": MODES, "help": "classic: an independent image per frame (the "
                                       "paper); smooth: keyframes with denoised in-betweens; fast: keyframes with "
                                       "optical-flow in-betweens; animate: one continuous clip of a motion model "
                                       "(--motion-model), its prompt travelling with the scenes"}),
        SettingFlag("reactivity", "--reactivity", {"type": float, "help": "0 = transitions (animate: the prompt's "
                                                   "travel) move evenly, 1 = they move on the narration's emphasis, "
                                                   "hold on pauses; onsets pulse"}),
        SettingFlag("keyframe_interval_s", "--keyframe-interval",
                    {"type": float, "metavar": "SECONDS",
                     "help": "smooth/fast: a new keyframe at least this often inside a scene"}),
        SettingFlag("transition_s", "--transition",
                    {"type": transition_seconds, "metavar": "SECONDS",
                     "help": "smooth/fast: each picture holds, then dissolves into the next over this long "
                             "(0 = a hard cut; 'whole' = morph all the time between keyframes, no hold); animate: "
                             "how long the prompt takes to travel to the next scene's, centred on the cut"}),
        SettingFlag("scene_change", "--scene-change",
                    {"choices": SCENE_CHANGES,
                     "help": "smooth/fast: cut = each scene starts on its first frame, from its own noise; "
                             "dissolve = the transition crosses the cut, centred on it, every keyframe leaning on "
                             "the clip's one noise"}),
        *SCENE_FLAGS,
        SettingFlag("captions", "--captions", {"action": "store_true",
                                               "help": "burn the narration's words into the picture"}),
        SettingFlag("decoder", "--decoder", {"choices": DECODERS, "help": "taesd: decode the frames with the tiny "
                                             "TAESD autoencoder (a quick draft; `hear2see models download taesd`)"}),
        SettingFlag("motion_model", "--motion-model",
                    {"metavar": "ID|DIR|FILE.safetensors",
                     "help": "animate: the AnimateDiff motion model, a hub id from the local cache, a diffusers "
                             "folder or one .safetensors file (default: %(default)s)"}),
        # Off --help: a new render has no reason to ask for an older animate; the flag exists so that every setting
        # of a logged run can be given on the command line.
        SettingFlag("animate_version", "--animate-version", {"type": int, "choices": ANIMATE_VERSIONS,
                                                             "help": argparse.SUPPRESS}),
        SettingFlag("caption_layout", "--caption-layout", {"type": int, "choices": CAPTION_LAYOUTS,
                                                           "help": argparse.SUPPRESS}),  # as --animate-version
        SettingFlag("plan_version", "--plan-version", {"type": int, "choices": PLAN_VERSIONS,
                                                       "help": argparse.SUPPRESS}),  # as --animate-version
        *CAPTION_FLAGS,
        SettingFlag("music_path", "--music", {"metavar": "FILE", "help": "background music mixed under the "
                                              "narration, looped or cut to its length and ducked while it speaks"},
                    _music_file),
        SettingFlag("music_level_db", "--music-level",
                    {"type": float, "metavar": "DB", "help": "the music's level in the pauses, in dB relative to "
                                                             "the voice, -40 to 0 (default: %(default)s)"}),
    )


CAPTION_FLAGS = (
    SettingFlag("caption_font", "--caption-font",
                {"metavar": "NAME|FILE", "help": "the captions' font: an installed font's full name (e.g. 'DejaVu "
                 "Sans Bold') or a .ttf/.otf file (default: the bundled bold font)"}, _caption_font),
    SettingFlag("caption_size_pct", "--caption-size",
                {"type": float, "metavar": "PERCENT", "help": f"the captions' letters, in percent of the frame's "
                 f"shorter side, {SIZE_RANGE_PCT[0]:g} to {SIZE_RANGE_PCT[1]:g} (default: %(default)s)"}),
    SettingFlag("caption_colour", "--caption-colour",
                {"metavar": "COLOUR", "help": "the captions' text colour, #RRGGBB or a name (default: white)"},
                colour_hex),
    SettingFlag("caption_outline_colour", "--caption-outline",
                {"metavar": "COLOUR", "help": "the colour of the outline around the letters (default: black)"},
                colour_hex),
    SettingFlag("caption_outline_width", "--caption-outline-width",
                {"type": float, "metavar": "TIMES", "help": f"the outline's width as a multiple of the usual one, "
                 f"{OUTLINE_WIDTH_RANGE[0]:g} (none) to {OUTLINE_WIDTH_RANGE[1]:g} (default: %(default)s)"}),
    SettingFlag("caption_position", "--caption-position",
                {"choices": POSITIONS, "help": "where captions sit in the frame (default: %(default)s)"}),
    SettingFlag("caption_max_chars", "--caption-max-chars",
                {"type": int, "metavar": "N", "help": f"characters per caption line, {MAX_CHARS_RANGE[0]} to "
                 f"{MAX_CHARS_RANGE[1]}, in the picture and subtitle files alike (default: %(default)s)"}),
    SettingFlag("caption_max_lines", "--caption-max-lines",
                {"type": int, "metavar": "N", "help": f"lines per caption, {MAX_LINES_RANGE[0]} to "
                 f"{MAX_LINES_RANGE[1]} (default: %(default)s)"}),
    SettingFlag("caption_highlight", "--caption-highlight",
                {"choices": HIGHLIGHTS, "help": "word: the word being spoken in the highlight colour, the karaoke "
                 "style of short videos (default: %(default)s)"}),
    SettingFlag("caption_highlight_colour", "--caption-highlight-colour",
                {"metavar": "COLOUR", "help": "the spoken word's colour with --caption-highlight word "
                 "(default: %(default)s)"}, colour_hex),
)
"""How burned-in captions look (core/caption_style.py); --caption-max-chars/-lines also cut the subtitle files."""


SCENE_FLAGS = (
    SettingFlag("min_scene_s", "--min-scene", {"type": float, "metavar": "SECONDS",
                                               "help": "shortest scene the narration is split into"}),
    SettingFlag("max_scene_s", "--max-scene", {"type": float, "metavar": "SECONDS",
                                               "help": "longest scene before it is split"}),
)


def render_flags() -> tuple[SettingFlag, ...]:
    """Every `RenderSettings` field `hear2see render` takes, in the order `--help` lists them."""
    return _table()


def flag_of(setting: str) -> str:
    """The flag of a `RenderSettings` field ('steps' -> '--steps')."""
    return next(flag.flag for flag in render_flags() if flag.field == setting)


OTHER_FLAGS = {"asr_model": "--asr-model", "base": "--base", "base_config": "--base-config", "resume": "--resume",
               "resolution": "--resolution", "batch_size": "--batch", "grad_accum": "--grad-accum", "every": "--every",
               "precision": "--precision", "learning_rate": "--lr", "audio": "--audio", "text": "--text",
               "clip_model": "--clip-model", "reference": "--reference", "runs_log": "--runs-log",
               "trust": "--trust"}
"""Flags that core errors name as fixes besides the render settings': a request's inputs, `train-lora`'s."""


def flag_words(fix: Fix) -> str:
    """A fix as the command line says it: `--device cpu`, or the flag alone when any value will do."""
    known = {flag.field: flag.flag for flag in render_flags()}
    flag = OTHER_FLAGS.get(fix.setting) or known.get(fix.setting) or "--" + fix.setting.replace("_", "-")
    return flag if fix.value is None else f"{flag} {fix.value}"


def add_setting_flags(parser: argparse.ArgumentParser, flags: Sequence[SettingFlag], defaults: RenderSettings) -> None:
    """Add `flags` to `parser`, each defaulting to the field's value in `defaults` unless its row says otherwise."""
    for flag in flags:
        options = dict(flag.options)
        if "default" not in options:
            options["default"] = getattr(defaults, flag.field)
        parser.add_argument(flag.flag, dest=flag.dest, **options)


def settings_from_args(args: argparse.Namespace) -> RenderSettings:
    """The render's settings from the parsed flags; an unknown style is one sentence naming the known ones."""

    if args.style not in style_names():
        raise BadInputError(f"Unknown style '{args.style}': use one of {', '.join(style_names())}.")
    values = {flag.field: flag.to_setting(getattr(args, flag.dest)) for flag in render_flags()}
    values["width"], values["height"] = _sized(getattr(args, "aspect", None), values["width"], values["height"])
    if values["fps"] is None:
        values["fps"] = DEFAULT_FPS[values["mode"]]
    settings = RenderSettings(**values)
    if args.lcm:
        from hear2see_desktop.core.render.lcm import lcm_draft

        settings = lcm_draft(settings)
    return settings


def add_aspect_flag(parser: argparse.ArgumentParser) -> None:
    """`--aspect 16:9|9:16|1:1|4:5`: the frame's shape at the size SD 1.5 renders well in it (core/aspect.py)."""
    sizes = ", ".join(f"{aspect} {width}x{height}" for aspect, (width, height) in FULL_SIZES.items())
    parser.add_argument("--aspect", choices=Aspect.values(), default=None,
                        help=f"the video's shape: {sizes}; with --width or --height, the other side follows the "
                             f"shape (draft sizes: {', '.join(f'{w}x{h}' for w, h in DRAFT_SIZES.values())})")


def _sized(aspect: str | None, width: int | None, height: int | None) -> tuple[int, int]:
    """The frame size from --aspect, --width and --height: the aspect's full size, or the given side with the
    other following the aspect; both sides given must have the aspect's shape."""
    if aspect is None:
        return (RenderSettings.width if width is None else width, RenderSettings.height if height is None else height)
    if width is not None and height is not None:
        if aspect_of(width, height) != aspect:
            full_width, full_height = FULL_SIZES[aspect]
            raise BadInputError(
                f"--aspect {aspect} and --width {width} --height {height} disagree ({width}x{height} is not "
                f"{aspect}): give --aspect alone for {full_width}x{full_height}, --aspect with only --width or "
                f"--height to choose the size, or --width and --height alone for a custom size.")
        return width, height
    size = other_side(aspect, width_px=width, height_px=height)
    if aspect_of(*size) != aspect:
        given = f"--width {width}" if width is not None else f"--height {height}"
        raise BadInputError(f"--aspect {aspect} cannot keep its shape with {given} (the other side would fall outside "
                            f"64 to 2048 pixels): give another {given.split()[0]}, or leave it out.")
    return size
