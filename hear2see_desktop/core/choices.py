"""Settings with a fixed set of values (mode, decoder, scheduler, device) as `str` enums.

A member is still its text: it compares, hashes, prints and serialises to JSON as the string it stands for
(`Mode.SMOOTH == "smooth"`, `json.dumps(Mode.SMOOTH) == '"smooth"'`), so settings files, project files, run
records, frame-cache keys and replays are byte for byte what they were with plain strings, while code and
type checkers see the values that exist.
"""

from __future__ import annotations

from enum import Enum


class Choice(str, Enum):
    """One of a setting's values, that is also its string (see the module docstring)."""

    __hash__ = str.__hash__  # Enum hashes by member name; as a string it must hash as its text

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every value as plain text, in order (argparse's choices, the combo boxes)."""
        return tuple(member.value for member in cls)


class Mode(Choice):
    """classic: the paper's independent image per frame (seed + i); smooth: keyframes with denoised
    in-betweens; fast: keyframes with optical-flow in-betweens (see core/render/sequence.py); animate: one
    continuous clip from an AnimateDiff motion model, its prompt travelling with the scenes
    (core/render/animate.py)."""

    CLASSIC = "classic"
    SMOOTH = "smooth"
    FAST = "fast"
    ANIMATE = "animate"


class Decoder(Choice):
    """The final decoder: the model's own VAE, or the tiny TAESD for quick drafts (core/render/taesd.py)."""

    VAE = "vae"
    TAESD = "taesd"


class SceneChange(Choice):
    """How smooth and fast go from one scene to the next. cut: on the new scene's first frame, its keyframes
    from noise of their own (a new sentence is a new shot); dissolve: a transition centred on the cut, every
    keyframe leaning on one noise shared by the clip (continuity across scenes, as runs logged before this
    setting were rendered). Measured on the toy world (bench/results/quality.md): dissolving across cuts puts
    frames of one scene into the next and shared noise costs prompt fidelity."""

    CUT = "cut"
    DISSOLVE = "dissolve"


class Scheduler(Choice):
    DPMPP_2M = "dpmpp-2m"
    EULER_A = "euler-a"
    DDIM = "ddim"
    LCM = "lcm"


class Device(Choice):
    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"
    MPS = "mps"


class CaptionPosition(Choice):
    """Where burned-in captions sit: along the bottom (as they always did), centred, or along the top."""

    BOTTOM = "bottom"
    MIDDLE = "middle"
    TOP = "top"


class CaptionHighlight(Choice):
    """none: every word of a caption in the text colour; word: the word being spoken in the highlight colour
    (the karaoke style of short videos)."""

    NONE = "none"
    WORD = "word"
