"""A procedural world of captioned 64x64 pictures, drawn the way narrations talk about things.

No real Stable Diffusion or CLIP weights can reach the machines this project is built on, so picture
quality can only be measured in a world small enough to learn here: a boat, the sun, a tree... in a
setting (sea, desert, meadow, snow field, sky), at a time of day, at a position, one or two of them.
Every picture is deterministic from its `Scene` and a seed; every scene has several captions: plain
English in a few phrasings, and the comma-separated form the app's own prompt builder makes of them,
so toy models trained here understand the prompts the app sends. Some (object, colour, setting)
combinations are held out of training to measure generalisation.

Test and bench infrastructure only: never behind a user-facing default.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE_PX = 64
_DRAW_PX = 128  # drawn at twice the size and reduced: smooth edges, as a photo's would be

OBJECTS = ("boat", "sun", "moon", "tree", "house", "bird", "mountain")
PLURALS = {"boat": "boats", "sun": "suns", "moon": "moons", "tree": "trees", "house": "houses", "bird": "birds",
           "mountain": "mountains"}
COLOURED = ("boat", "sun", "tree", "house", "bird")  # objects that take a colour word
COLOURS = ("red", "yellow", "green", "blue", "white")
SETTINGS = ("sea", "desert", "meadow", "snow field", "sky")
TIMES = ("day", "night", "sunset")
POSITIONS = ("left", "right", "top", "bottom")
COUNTS = (1, 2)

RGB = {"red": (214, 40, 40), "yellow": (245, 205, 40), "green": (40, 160, 60), "blue": (40, 80, 220),
       "white": (245, 245, 245)}
# Default looks of the objects that take no colour word, and of the coloured ones when none is said.
NATURAL = {"sun": (250, 200, 40), "moon": (235, 235, 215), "mountain": (120, 110, 105), "tree": (40, 150, 60),
           "boat": (150, 90, 40), "house": (190, 120, 80), "bird": (40, 40, 40)}
SKY = {"day": ((110, 170, 240), (190, 220, 250)), "sunset": ((90, 60, 140), (250, 150, 80)),
       "night": ((10, 15, 45), (35, 45, 90))}
GROUND = {"sea": (30, 90, 170), "desert": (225, 190, 120), "meadow": (80, 170, 70), "snow field": (240, 243, 250)}
DIM = {"day": 1.0, "sunset": 0.8, "night": 0.45}  # how much light the ground gets
OBJECT_LIGHT = {"day": 1.0, "sunset": 0.92, "night": 0.78}  # objects stay legible: their colour is their meaning
# Objects are drawn this much larger than the shapes' base sizes: at 1.0 a bird was a few pixels of a 64x64
# picture, less than one cell of SD's 8x8 latent grid, and the toy VAE and UNet lost what the captions name.
OBJECT_SCALE = 1.5


@dataclass(frozen=True)
class Scene:
    """What one picture shows."""

    object: str
    colour: str | None
    setting: str
    time: str
    position: str
    count: int

    def name(self) -> str:
        """The object with its colour and count, as a caption says it: 'two red boats'."""
        noun = self.object if self.count == 1 else PLURALS[self.object]
        words = ["two" if self.count == 2 else None, self.colour, noun]
        return " ".join(w for w in words if w)


def all_scenes() -> Iterator[Scene]:
    """Every scene the world can show, in a fixed order."""
    for obj in OBJECTS:
        colours = (None, *COLOURS) if obj in COLOURED else (None,)
        for colour in colours:
            for setting in SETTINGS:
                for time in TIMES:
                    for position in POSITIONS:
                        for count in COUNTS:
                            yield Scene(obj, colour, setting, time, position, count)


def held_out(scene: Scene) -> bool:
    """One setting per (object, colour) never appears in training, rotating so every object, colour and
    setting has held-out pictures: 'a blue boat in the desert' is judged having seen blue boats elsewhere
    and other things in the desert, never that combination."""
    colour = 0 if scene.colour is None else 1 + COLOURS.index(scene.colour)
    return SETTINGS.index(scene.setting) == (OBJECTS.index(scene.object) + colour) % len(SETTINGS)


def training_scenes() -> list[Scene]:
    return [s for s in all_scenes() if not held_out(s)]


def evaluation_scenes() -> list[Scene]:
    return [s for s in all_scenes() if held_out(s)]


# --- captions ----------------------------------------------------------------------------------

_SETTING_PHRASES = {"sea": ("on the sea", "over the sea", "on the blue sea"),
                    "desert": ("in the desert", "over the desert", "in the sandy desert"),
                    "meadow": ("in a meadow", "in the green meadow", "on a meadow"),
                    "snow field": ("in a snow field", "on the snow field", "in the snowy field"),
                    "sky": ("in the sky", "high in the sky", "in the open sky")}
_TIME_PHRASES = {"day": ("by day", "in the daytime", "on a bright day"),
                 "night": ("at night", "in the night", "on a dark night"),
                 "sunset": ("at sunset", "at dusk", "in the evening at sunset")}
_POSITION_PHRASES = {"left": ("on the left", "to the left"), "right": ("on the right", "to the right"),
                     "top": ("at the top", "up high"), "bottom": ("at the bottom", "down low")}
_VERBS = {"boat": "drifting", "sun": "shining", "moon": "glowing", "tree": "standing", "house": "standing",
          "bird": "flying", "mountain": "rising"}


ATTRIBUTES = ("object", "colour", "count", "setting", "time", "position")


@dataclass(frozen=True)
class Caption:
    """A text and the attributes of its scene it mentions (a text says nothing about what it leaves out)."""

    text: str
    mentions: frozenset[str]

    def fits(self, said_of: Scene, other: Scene) -> bool:
        """Whether this caption, written of `said_of`, is also true of `other`."""
        return all(getattr(said_of, name) == getattr(other, name) for name in self.mentions)


ALL = frozenset(ATTRIBUTES)


def captions(scene: Scene, rng: random.Random) -> list[Caption]:
    """Captions of `scene`: plain English, a looser phrasing, the comma-separated form, and a partial one."""
    article = "" if scene.count == 2 else "a "
    where = rng.choice(_SETTING_PHRASES[scene.setting])
    when = rng.choice(_TIME_PHRASES[scene.time])
    side = rng.choice(_POSITION_PHRASES[scene.position])
    plain = f"{article}{scene.name()} {where} {when}, {side}"
    noun = scene.object if scene.count == 1 else PLURALS[scene.object]
    count = "two " if scene.count == 2 else "a "
    colour = f", {scene.colour}," if scene.colour else ""
    loose = f"{count}{noun}{colour} {_VERBS[scene.object]} {where} {when} {side}".replace(" ,", ",")
    comma_setting = rng.choice((scene.setting, scene.setting.replace("snow field", "field, snow")))
    comma = ", ".join([scene.name(), comma_setting, scene.time, scene.position])
    return [Caption(plain, ALL), Caption(loose, ALL), Caption(comma, ALL), partial_caption(scene, rng)]


def partial_caption(scene: Scene, rng: random.Random) -> Caption:
    """A comma caption naming only some of the scene (as narrations and the app's prompts often do)."""
    while True:
        said = {name for name in ("object", "setting", "time", "position") if rng.random() < 0.5}
        if "object" in said:
            said |= {name for name in ("colour", "count") if rng.random() < 0.6}
        if scene.colour is None:
            said.discard("colour")
        if said:
            break
    parts = []
    if "object" in said:
        two = "count" in said and scene.count == 2
        words = ["two" if two else None, scene.colour if "colour" in said else None,
                 PLURALS[scene.object] if two else scene.object]
        parts.append(" ".join(w for w in words if w))
    parts += [getattr(scene, name) for name in ("setting", "time", "position") if name in said]
    return Caption(", ".join(parts), frozenset(said))


_KEYWORDS = {"setting": {"sea": "sea", "desert": "desert", "meadow": "meadow", "snow": "snow field",
                         "field": "snow field", "sky": "sky"},
             "time": {"day": "day", "daytime": "day", "night": "night", "sunset": "sunset", "dusk": "sunset",
                      "evening": "sunset"},
             "position": {"left": "left", "right": "right", "top": "top", "high": "top", "bottom": "bottom",
                          "low": "bottom"}}
_SETTING_COLOURS = ("blue sea", "green meadow")  # a colour word that belongs to the setting, not the object


def mentions(text: str) -> frozenset[str]:
    """The attributes a free text (the app's prompt of a caption) names, by the world's words."""
    lowered = text.lower()
    for phrase in _SETTING_COLOURS:
        lowered = lowered.replace(phrase, phrase.split()[1])
    words = set(lowered.replace(",", " ").split())
    said = {name for name, table in _KEYWORDS.items() if words & set(table)}
    if words & (set(OBJECTS) | set(PLURALS.values())):
        said.add("object")
        if words & set(COLOURS):
            said.add("colour")
        if "two" in words:
            said.add("count")
    return frozenset(said)


def app_prompt(caption: str) -> str:
    """What the app's prompt builder makes of a caption with the style preset 'none' (its scene prompts)."""
    from hear2see_desktop.core.prompt.builder import build_prompt

    return build_prompt(caption, style="none").prompt


# --- drawing -----------------------------------------------------------------------------------


def _shade(rgb: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(max(0, min(255, c * factor))) for c in rgb)  # type: ignore[return-value]


def _background(draw: ImageDraw.ImageDraw, scene: Scene, rng: random.Random) -> int:
    """Sky gradient and ground; returns the horizon's y (the picture's height for the open sky)."""
    size = _DRAW_PX
    horizon = size if scene.setting == "sky" else int(size * rng.uniform(0.55, 0.68))
    top, bottom = SKY[scene.time]
    for y in range(horizon):
        t = y / max(1, horizon - 1)
        draw.line([(0, y), (size, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    if scene.time == "night":
        for _ in range(18):
            x, y = rng.randrange(size), rng.randrange(max(1, horizon - 8))
            draw.point((x, y), fill=(230, 230, 255))
    if scene.setting == "sky":
        for _ in range(rng.randint(1, 3)):  # clouds
            x, y = rng.randrange(size), rng.randrange(size)
            draw.ellipse([x - 14, y - 5, x + 14, y + 5], fill=_shade((250, 250, 250), DIM[scene.time]))
        return horizon
    ground = _shade(GROUND[scene.setting], DIM[scene.time])
    draw.rectangle([0, horizon, size, size], fill=ground)
    if scene.setting == "sea":
        for y in range(horizon + 4, size, 7):
            x0 = rng.randrange(-10, 10)
            for x in range(x0, size, 16):
                draw.arc([x, y, x + 10, y + 5], 180, 360, fill=_shade((200, 220, 250), DIM[scene.time]))
    elif scene.setting == "desert":
        for _ in range(2):
            x = rng.randrange(-20, size)
            draw.ellipse([x, horizon - 6, x + 60, horizon + 14], fill=_shade((210, 170, 100), DIM[scene.time]))
    elif scene.setting == "meadow":
        for _ in range(25):
            x, y = rng.randrange(size), rng.randrange(horizon + 2, size)
            draw.line([(x, y), (x + 1, y - 4)], fill=_shade((50, 120, 40), DIM[scene.time]), width=1)
    else:  # snow field
        for _ in range(20):
            x, y = rng.randrange(size), rng.randrange(horizon + 2, size)
            draw.ellipse([x, y, x + 3, y + 2], fill=_shade((205, 215, 235), DIM[scene.time]))
    return horizon


def _anchor(scene: Scene, horizon: int, rng: random.Random) -> tuple[int, int]:
    """Where the object (the first of two) stands: its position word decides the picture's side or band."""
    size = _DRAW_PX
    lo, hi = int(size * 0.26), int(size * 0.74)
    x = {"left": rng.randint(lo - 6, size // 2 - 18), "right": rng.randint(size // 2 + 18, hi + 6)}.get(
        scene.position, rng.randint(lo, hi))
    if scene.position == "top":
        y = rng.randint(18, 34)
    elif scene.position == "bottom":
        y = rng.randint(size - 34, size - 20)
    else:
        y = rng.randint(int(size * 0.4), int(size * 0.62))
    return x, y


def _draw_object(draw: ImageDraw.ImageDraw, obj: str, rgb: tuple[int, int, int], x: int, y: int, scale: float,
                 light: float) -> None:
    s = scale
    colour = _shade(rgb, light if obj not in ("sun", "moon") else 1.0)
    if obj == "boat":
        draw.polygon([(x - 16 * s, y), (x + 16 * s, y), (x + 10 * s, y + 8 * s), (x - 10 * s, y + 8 * s)], fill=colour)
        draw.line([(x, y), (x, y - 20 * s)], fill=_shade((90, 60, 30), light), width=2)
        draw.polygon([(x + 1, y - 20 * s), (x + 1, y - 3 * s), (x + 13 * s, y - 3 * s)],
                     fill=_shade((245, 245, 235), light))
    elif obj == "sun":
        r = 11 * s
        for k in range(8):
            angle = k * np.pi / 4
            draw.line([(x + np.cos(angle) * r * 1.2, y + np.sin(angle) * r * 1.2),
                       (x + np.cos(angle) * r * 1.7, y + np.sin(angle) * r * 1.7)], fill=colour, width=2)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    elif obj == "moon":
        r = 11 * s
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        draw.ellipse([x - r + 7 * s, y - r - 2 * s, x + r + 7 * s, y + r - 2 * s], fill=None)
        draw.chord([x - r, y - r, x + r, y + r], 300, 60, fill=_shade(colour, 0.55))
    elif obj == "tree":
        draw.rectangle([x - 2 * s, y, x + 2 * s, y + 16 * s], fill=_shade((100, 65, 35), light))
        draw.ellipse([x - 11 * s, y - 18 * s, x + 11 * s, y + 4 * s], fill=colour)
    elif obj == "house":
        draw.rectangle([x - 12 * s, y - 6 * s, x + 12 * s, y + 14 * s], fill=colour)
        draw.polygon([(x - 15 * s, y - 6 * s), (x + 15 * s, y - 6 * s), (x, y - 20 * s)],
                     fill=_shade((120, 40, 30), light))
        draw.rectangle([x - 3 * s, y + 4 * s, x + 3 * s, y + 14 * s], fill=_shade((60, 40, 30), light))
    elif obj == "bird":
        draw.ellipse([x - 8 * s, y - 4 * s, x + 8 * s, y + 4 * s], fill=colour)
        draw.polygon([(x - 2 * s, y), (x - 14 * s, y - 12 * s), (x + 4 * s, y - 2 * s)], fill=colour)
        draw.polygon([(x + 8 * s, y - 1 * s), (x + 13 * s, y + 1 * s), (x + 8 * s, y + 2 * s)],
                     fill=_shade((240, 170, 30), light))
    elif obj == "mountain":
        draw.polygon([(x - 24 * s, y + 14 * s), (x + 24 * s, y + 14 * s), (x, y - 22 * s)], fill=colour)
        draw.polygon([(x - 7 * s, y - 11 * s), (x + 7 * s, y - 11 * s), (x, y - 22 * s)],
                     fill=_shade((250, 250, 250), light))


def draw_scene(scene: Scene, seed: int) -> np.ndarray:
    """The (64, 64, 3) uint8 picture of `scene`; the seed varies layout, sizes and texture, never meaning."""
    return _draw(scene, seed, with_mask=False)[0]


def draw_scene_and_mask(scene: Scene, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The picture and a (64, 64) float mask of where its objects are (1 on them): the toy VAE weighs its
    error there, or a few small objects would drown in the sky's and the ground's pixels."""
    picture, mask = _draw(scene, seed, with_mask=True)
    assert mask is not None
    return picture, mask


# --- motion ------------------------------------------------------------------------------------

MOTION_PX_PER_FRAME = {"boat": (1.5, 0.0), "bird": (1.5, 0.0), "sun": (0.0, -1.5), "moon": (0.0, -1.5)}
"""How things move in the world's clips, as (x, y) pixels of the 64 px picture per frame at a motion model's 8
frames a second: boats drift and birds fly the way they face (to the right), the sun and the moon rise; trees,
houses and mountains stand still. Movement is what a motion model learns from clips of the world; a fifth of a
latent cell a frame (a 16-frame clip crosses a third of the picture), slower moves drowned in the frames' noise."""


def motion_of(obj: str) -> tuple[float, float]:
    """(x, y) pixels per frame that `obj` moves in the world's clips; (0, 0) for the things that stand still."""
    return MOTION_PX_PER_FRAME.get(obj, (0.0, 0.0))


def _clip_offsets(obj: str, frames: int) -> list[tuple[float, float]]:
    """Each frame's move from the still picture: the clip passes the still picture's places at its middle."""
    dx, dy = motion_of(obj)
    middle = (frames - 1) / 2
    return [((f - middle) * dx, (f - middle) * dy) for f in range(frames)]


def draw_clip(scene: Scene, seed: int, frames: int) -> np.ndarray:
    """(frames, 64, 64, 3) uint8: `scene` set in motion, its objects moving as `motion_of` says and passing
    where `draw_scene` puts them at the clip's middle; the background is the same picture in every frame."""
    return np.stack([_draw(scene, seed, False, offset)[0] for offset in _clip_offsets(scene.object, frames)])


def draw_clip_and_masks(scene: Scene, seed: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The clip and each frame's (64, 64) mask of where its objects are (as `draw_scene_and_mask`)."""
    drawn = [_draw(scene, seed, True, offset) for offset in _clip_offsets(scene.object, frames)]
    return np.stack([picture for picture, _ in drawn]), np.stack([mask for _, mask in drawn])  # type: ignore[misc]


def _draw(scene: Scene, seed: int, with_mask: bool,
          offset: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, np.ndarray | None]:
    """The picture (and mask) of `scene`, its objects moved by `offset` pixels of the 64 px picture."""
    rng = random.Random(f"{scene}|{seed}")
    image = Image.new("RGB", (_DRAW_PX, _DRAW_PX))
    draw = ImageDraw.Draw(image)
    horizon = _background(draw, scene, rng)
    rgb = RGB[scene.colour] if scene.colour else NATURAL[scene.object]
    x, y = _anchor(scene, horizon, rng)
    scale = rng.uniform(0.9, 1.15) * OBJECT_SCALE * (0.8 if scene.count == 2 else 1.0)
    places = [(x, y)]
    if scene.count == 2:  # the second one beside the first, along the band its position names
        if scene.position in ("left", "right"):
            places.append((x + rng.choice((-1, 1)) * 4, y + (34 if y < _DRAW_PX // 2 else -34)))
        else:
            places = [(x - 25, y), (x + 25, y + rng.randint(-4, 4))]
    if offset != (0.0, 0.0):  # a still picture keeps its integer places, drawn exactly as before clips existed
        grow = _DRAW_PX / SIZE_PX
        places = [(px + offset[0] * grow, py + offset[1] * grow) for px, py in places]
    for px, py in places:
        _draw_object(draw, scene.object, rgb, px, py, scale, OBJECT_LIGHT[scene.time])
    picture = np.asarray(image.resize((SIZE_PX, SIZE_PX), Image.Resampling.LANCZOS), dtype=np.uint8)
    if not with_mask:
        return picture, None
    layer = Image.new("RGB", (_DRAW_PX, _DRAW_PX))  # `places` are moved by `offset` already
    outline = ImageDraw.Draw(layer)
    for px, py in places:  # the same shapes on black: every drawn colour is non-zero
        _draw_object(outline, scene.object, (255, 255, 255), px, py, scale, 1.0)
    covered = np.asarray(layer.convert("L").resize((SIZE_PX, SIZE_PX), Image.Resampling.BOX), dtype=np.float32)
    return picture, np.minimum(1.0, covered / 64.0)


@dataclass(frozen=True)
class Example:
    """One training or evaluation picture with its scene and captions."""

    scene: Scene
    seed: int
    captions: tuple[Caption, ...]

    def picture(self) -> np.ndarray:
        return draw_scene(self.scene, self.seed)

    def picture_and_mask(self) -> tuple[np.ndarray, np.ndarray]:
        return draw_scene_and_mask(self.scene, self.seed)


def examples(scenes: list[Scene], count: int, seed: int, with_app_prompts: bool = True) -> list[Example]:
    """`count` examples drawn (with replacement) from `scenes`, deterministic from `seed`.

    With `with_app_prompts`, each example's captions also hold the app prompt builder's form of its plain
    caption, so the toy models learn the exact prompts the app renders with.
    """
    rng = random.Random(seed)
    made = []
    for index in range(count):
        scene = rng.choice(scenes)
        texts = captions(scene, rng)
        if with_app_prompts:
            prompt = app_prompt(texts[0].text)
            texts.append(Caption(prompt, mentions(prompt)))
        made.append(Example(scene, seed * 1_000_003 + index, tuple(texts)))
    return made
