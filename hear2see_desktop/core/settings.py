"""RenderSettings: the one type that says how a video is rendered.

The CLI flags, the GUI form, the run record and replay all read and write this type, so a logged
run can be rendered again with exactly the same settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from hear2see_desktop.core.caption_style import STYLE_FIELDS, CaptionStyle
from hear2see_desktop.core.choices import (
    CaptionHighlight,
    CaptionPosition,
    Choice,
    Decoder,
    Device,
    Mode,
    SceneChange,
    Scheduler,
)
from hear2see_desktop.core.errors import BadInputError

DEFAULT_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
DEFAULT_MOTION_MODEL = "guoyww/animatediff-motion-adapter-v1-5-2"
"""The motion model animate mode uses when none is given (AnimateDiff v2 for SD 1.5, in diffusers' layout)."""
SCHEDULERS = Scheduler.values()
DEVICES = Device.values()
MODES = Mode.values()
DECODERS = Decoder.values()
SCENE_CHANGES = SceneChange.values()
CHOICES: dict[str, type[Choice]] = {"scheduler": Scheduler, "device": Device, "mode": Mode, "decoder": Decoder,
                                    "scene_change": SceneChange, "caption_position": CaptionPosition,
                                    "caption_highlight": CaptionHighlight}
"""The settings with a fixed set of values, held as their `str` enums (core/choices.py)."""
MAX_TRANSITION_S = 10.0
"""Longest transition between two keyframes the settings accept."""
DEFAULT_FPS = {"classic": 8, "smooth": 12, "fast": 12, "animate": 12}
"""The frame rate a mode renders at when the user gives none."""
MUSIC_LEVEL_RANGE_DB = (-40.0, 0.0)
"""How far below the narration's voice background music may sit in the pauses (core/music_mix.py)."""


@dataclass(frozen=True)
class LoraSpec:
    """A LoRA file and the weight (strength) it is applied with."""

    path: str
    weight: float = 1.0

    @classmethod
    def parse(cls, text: str) -> LoraSpec:
        """Read the CLI form `FILE[:WEIGHT]`; a Windows drive letter is not taken for a weight."""
        head, sep, tail = text.rpartition(":")
        if sep and head and not (len(head) == 1 and head.isalpha()):
            try:
                return cls(head, float(tail))
            except ValueError:
                pass
        return cls(text, 1.0)


@dataclass
class RenderSettings:
    """Everything that shapes the frames of a render (not where the output goes)."""

    prompt: str = ""
    negative_prompt: str = ""
    style: str = "cinematic"
    model: str = DEFAULT_MODEL
    model_config: str | None = None
    loras: list[LoraSpec] = field(default_factory=list)
    scheduler: Scheduler = Scheduler.DPMPP_2M
    steps: int = 25
    cfg: float = 7.5
    frames: int | None = None
    fps: int = 8
    seed: int = 0
    width: int = 512
    height: int = 512
    device: Device = Device.AUTO
    mode: Mode = Mode.CLASSIC
    reactivity: float = 0.5  # 0 = transitions (animate: prompt travel) advance evenly, 1 = on onsets and loudness
    keyframe_interval_s: float = 3.0  # smooth/fast: a new keyframe at least this often inside a scene
    transition_s: float | None = 0.5  # smooth/fast: each picture holds, then dissolves this long into the next
    scene_change: SceneChange = SceneChange.CUT  # smooth/fast: cut between scenes, or dissolve across the cut
    min_scene_s: float = 2.0  # scene splitting of the narration (storyboard)
    max_scene_s: float = 8.0
    captions: bool = False  # burn the narration's words into the picture
    decoder: Decoder = Decoder.VAE  # TAESD: a draft decoded by the tiny autoencoder, when installed
    motion_model: str = DEFAULT_MOTION_MODEL  # animate: the AnimateDiff motion model (hub id, folder or file)
    animate_version: int = 2  # animate's way of rendering: see ANIMATE_VERSIONS
    plan_version: int = 2  # smooth/fast: how scene starts land on frames, see PLAN_VERSIONS
    caption_layout: int = 2  # how burned-in captions fit the frame: see CAPTION_LAYOUTS
    music_path: str | None = None  # background music mixed under the narration (core/music_mix.py)
    music_level_db: float = -15.0  # the music's level in the pauses, relative to the voice; ducked further under it
    # How captions look (core/caption_style.py; the defaults draw what captions drew before styles existed):
    caption_font: str = ""  # "" automatic; an installed font's full name or a .ttf/.otf file
    caption_size_pct: float = 5.5  # percent of the frame's shorter side
    caption_colour: str = "#FFFFFF"
    caption_outline_colour: str = "#000000"
    caption_outline_width: float = 1.0  # times the usual outline (a twelfth of the letters' size); 0 none
    caption_position: CaptionPosition = CaptionPosition.BOTTOM
    caption_max_chars: int = 42  # per line of a cue (burned-in and subtitle files alike)
    caption_max_lines: int = 2  # per cue
    caption_highlight: CaptionHighlight = CaptionHighlight.NONE  # word: the spoken word in the highlight colour
    caption_highlight_colour: str = "#FFD400"

    def __post_init__(self) -> None:
        """Known values become their enum members; an unknown one stays as given, for `validate` to name."""
        for name, kind in CHOICES.items():
            value = getattr(self, name)
            if value in kind.values():
                setattr(self, name, kind(value))

    def validate(self) -> None:
        """Raise BadInputError with one sentence for the first setting out of range."""
        checks: list[tuple[bool, str]] = [
            (self.scheduler in SCHEDULERS,
             f"Unknown scheduler '{self.scheduler}': use one of {', '.join(SCHEDULERS)}."),
            (self.device in DEVICES, f"Unknown device '{self.device}': use one of {', '.join(DEVICES)}."),
            (self.mode in MODES, f"Unknown mode '{self.mode}': use one of {', '.join(MODES)}."),
            (self.decoder in DECODERS, f"Unknown decoder '{self.decoder}': use one of {', '.join(DECODERS)}."),
            (self.animate_version in ANIMATE_VERSIONS,
             f"Unknown animate version {self.animate_version}: use one of {', '.join(map(str, ANIMATE_VERSIONS))}."),
            (self.plan_version in PLAN_VERSIONS,
             f"Unknown plan version {self.plan_version}: use one of {', '.join(map(str, PLAN_VERSIONS))}."),
            (self.caption_layout in CAPTION_LAYOUTS,
             f"Unknown caption layout {self.caption_layout}: use one of {', '.join(map(str, CAPTION_LAYOUTS))}."),
            (self.scene_change in SCENE_CHANGES,
             f"Unknown scene change '{self.scene_change}': use one of {', '.join(SCENE_CHANGES)}."),
            (1 <= self.steps <= 200, f"Steps must be between 1 and 200 (got {self.steps})."),
            (0.0 <= self.cfg <= 30.0, f"CFG must be between 0 and 30 (got {self.cfg})."),
            (1 <= self.fps <= 60, f"FPS must be between 1 and 60 (got {self.fps})."),
            (self.frames is None or 1 <= self.frames <= 10000,
             f"Frames must be at least 1 (got {self.frames})."),
            (0 <= self.seed < 2**32, f"Seed must be between 0 and {2**32 - 1} (got {self.seed})."),
            (0.0 <= self.reactivity <= 1.0, f"Reactivity must be between 0 and 1 (got {self.reactivity})."),
            (0.5 <= self.keyframe_interval_s <= 60.0,
             f"The keyframe interval must be between 0.5 and 60 seconds (got {self.keyframe_interval_s})."),
            (self.transition_s is None or 0.0 <= self.transition_s <= MAX_TRANSITION_S,
             f"The transition must be between 0 (a cut) and {MAX_TRANSITION_S:g} seconds (got {self.transition_s})."),
            (0.5 <= self.min_scene_s and 2 * self.min_scene_s <= self.max_scene_s <= 600.0,
             f"The longest scene must be at least twice the shortest (so any narration can be split), "
             f"with the shortest at least 0.5 s and the longest at most 600 s "
             f"(got {self.min_scene_s} and {self.max_scene_s})."),
            (MUSIC_LEVEL_RANGE_DB[0] <= self.music_level_db <= MUSIC_LEVEL_RANGE_DB[1],
             f"The music level must be between {MUSIC_LEVEL_RANGE_DB[0]:g} and {MUSIC_LEVEL_RANGE_DB[1]:g} dB "
             f"(got {self.music_level_db})."),
        ]
        for size_name, size in (("Width", self.width), ("Height", self.height)):
            checks.append((64 <= size <= 2048 and size % 8 == 0,
                           f"{size_name} must be a multiple of 8 between 64 and 2048 pixels (got {size})."))
        for lora in self.loras:
            checks.append((-4.0 <= lora.weight <= 4.0,
                           f"LoRA weight must be between -4 and 4 (got {lora.weight} for {lora.path})."))
        for ok, message in checks:
            if not ok:
                raise BadInputError(message)
        caption_problem = self.caption_style().problem()
        if caption_problem is not None:
            raise BadInputError(caption_problem)

    def caption_style(self) -> CaptionStyle:
        """The captions' look, from the `caption_*` fields."""
        return CaptionStyle(**{name: getattr(self, f"caption_{name}") for name in STYLE_FIELDS})

    def with_caption_style(self, style: CaptionStyle) -> RenderSettings:
        """A copy of these settings with `style`'s fields."""
        return replace(self, **{f"caption_{name}": getattr(style, name) for name in STYLE_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data for the run record and project files."""
        data = asdict(self)
        data["loras"] = [asdict(lora) for lora in self.loras]
        for name in CHOICES:
            data[name] = str(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderSettings:
        """Read `to_dict` data back, ignoring unknown keys from newer versions (missing ones take today's
        defaults: right for saved preferences and projects; a logged run uses `from_logged_run`)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["loras"] = [LoraSpec(str(d["path"]), float(d.get("weight", 1.0))) for d in data.get("loras", [])]
        return cls(**values)


LOGGED_BEFORE_ADDED: dict[str, Any] = {"transition_s": None, "scene_change": SceneChange.DISSOLVE.value,
                                       "animate_version": 1, "caption_layout": 1, "plan_version": 1}
"""Settings added after runs were logged, with the value that renders those runs as they were made:
before transitions had a length, smooth and fast moved over the whole time between keyframes; before scenes
cut, they dissolved across the cut from one noise shared by the clip; animate was first released as version 1
(see ANIMATE_VERSIONS); captions were laid out for landscape and square frames (see CAPTION_LAYOUTS); smooth and
fast rounded scene starts to the nearest frame (see PLAN_VERSIONS)."""

ANIMATE_VERSIONS = (1, 2)
"""How animate renders, so a logged run replays as it was made. 1: the prompt travels evenly across each cut,
nothing pulses, and the sampler uses the model's own noise schedule. 2: reactivity paces the travel and onsets
punch the picture in (as in smooth and fast), and the sampler uses the noise schedule the motion modules were
trained with (AnimateDiff's: linear betas, no sample clipping, evenly spaced timesteps)."""

PLAN_VERSIONS = (1, 2)
"""How smooth and fast put a scene's start on a frame, so a logged run replays as it was made. 1: its start time
rounded half up, so a new scene could show up to half a frame before it is narrated; 2: the first frame at or
after its start, the frame classic and the scene-following metric give it (frame i shows the last scene started by
i / fps). Measured on the toy world, bench/results/quality.md: the half-frame-early cuts were all of smooth's
scene-following misses against classic."""

CAPTION_LAYOUTS = (1, 2)
"""How burned-in captions fit the frame (core/captions.py), so a logged run replays as it was made. 1: the font a
share of the frame's height, 6% of it below the last line. 2: the font a share of the frame's shorter side, so
it stays the same on a narrow vertical frame as on a square one; a vertical frame's captions keep clear of the
bottom fifth and the side tenths, where short-video apps draw their buttons and titles. Landscape and square
frames look the same in both."""


def from_logged_run(data: dict[str, Any]) -> RenderSettings:
    """The settings of a logged run, for an exact replay: a field the run's version did not have yet
    takes the value that reproduces it (`LOGGED_BEFORE_ADDED`), not today's default."""
    return RenderSettings.from_dict({**LOGGED_BEFORE_ADDED, **data})


def frame_seeds(settings: RenderSettings, n_images: int) -> list[int]:
    """The paper's classic schedule: image i uses seed + i (wrapping at 2**32)."""
    return [(settings.seed + i) % 2**32 for i in range(n_images)]
