"""The toy world's pictures and captions: deterministic, covering the vocabulary, with held-out combinations."""

from __future__ import annotations

import random

import numpy as np

from tests.toyworld import world


def test_a_scene_and_seed_always_draw_the_same_picture() -> None:
    scene = world.Scene("boat", "red", "sea", "sunset", "left", 1)
    first = world.draw_scene(scene, 5)
    assert first.shape == (64, 64, 3) and first.dtype == np.uint8
    assert np.array_equal(first, world.draw_scene(scene, 5))
    assert not np.array_equal(first, world.draw_scene(scene, 6))  # another layout of the same meaning


def test_meaning_shows_in_the_picture() -> None:
    base = world.Scene("house", "red", "meadow", "day", "left", 1)
    red = world.draw_scene(base, 1).astype(int)
    blue = world.draw_scene(world.Scene("house", "blue", "meadow", "day", "left", 1), 1).astype(int)
    assert (red[..., 0] - red[..., 2]).max() > (blue[..., 0] - blue[..., 2]).max()
    night = world.draw_scene(world.Scene("house", "red", "meadow", "night", "left", 1), 1)
    assert night[:20].mean() < red[:20].mean() / 2  # a night sky is dark
    right = world.draw_scene(world.Scene("house", "red", "meadow", "day", "right", 1), 1).astype(int)
    redness = lambda p: np.clip(p[..., 0] - p[..., 2] - 80, 0, None)  # noqa: E731
    assert redness(red)[:, :32].sum() > redness(red)[:, 32:].sum()
    assert redness(right)[:, 32:].sum() > redness(right)[:, :32].sum()


def test_training_covers_every_word_and_holds_combinations_out() -> None:
    train, held = world.training_scenes(), world.evaluation_scenes()
    assert len(train) + len(held) == len(list(world.all_scenes()))
    assert len(held) / (len(train) + len(held)) == 0.2
    for attribute, values in (("object", world.OBJECTS), ("colour", world.COLOURS), ("setting", world.SETTINGS),
                              ("time", world.TIMES), ("position", world.POSITIONS), ("count", world.COUNTS)):
        assert {getattr(s, attribute) for s in train} >= set(values), attribute
        assert {getattr(s, attribute) for s in held} >= set(values) - {None}, attribute
    combination = lambda s: (s.object, s.colour, s.setting)  # noqa: E731
    assert not {combination(s) for s in train} & {combination(s) for s in held}


def test_captions_say_what_the_picture_shows_in_three_phrasings() -> None:
    scene = world.Scene("bird", "yellow", "snow field", "night", "top", 2)
    plain, loose, comma, partial = (c.text for c in world.captions(scene, random.Random(0)))
    assert plain.startswith("two yellow birds ") and "snow" in plain and "night" in plain
    assert loose.startswith("two birds, yellow, flying ")
    assert comma in ("two yellow birds, snow field, night, top", "two yellow birds, field, snow, night, top")
    example = world.examples([scene], 1, seed=3)[0]
    assert example.captions[0].text.startswith("two yellow birds ") and len(example.captions) == 5
    assert example.captions[4].text == world.app_prompt(example.captions[0].text)  # the app's own prompt of it
    assert "yellow birds" in example.captions[4].text and {"object", "colour", "count"} <= example.captions[4].mentions


def test_a_caption_fits_every_picture_it_is_true_of() -> None:
    scene = world.Scene("boat", "red", "sea", "night", "left", 2)
    partial = world.Caption("two boats, night", frozenset({"object", "count", "time"}))
    assert partial.fits(scene, world.Scene("boat", "blue", "desert", "night", "top", 2))
    assert not partial.fits(scene, world.Scene("boat", "blue", "desert", "night", "top", 1))
    assert world.mentions("two red boats, blue sea, night") == {"object", "colour", "count", "setting", "time"}
    assert world.mentions("moon, mountain, night") == {"object", "time"}
    assert world.mentions("green tree, field, sunset, snow") == {"object", "colour", "setting", "time"}


def test_the_object_mask_covers_the_objects_and_leaves_the_picture_as_drawn() -> None:
    one = world.Scene("house", "red", "meadow", "day", "left", 1)
    picture, mask = world.draw_scene_and_mask(one, 1)
    assert np.array_equal(picture, world.draw_scene(one, 1)) and mask.shape == (64, 64)
    assert 0.01 < mask.mean() < 0.15 and mask.max() == 1.0
    assert mask[:, :32].sum() > 3 * mask[:, 32:].sum()  # the house stands on the left
    redness = np.clip(picture[..., 0].astype(int) - picture[..., 2] - 80, 0, None)
    assert (redness * mask).sum() > 0.8 * redness.sum()  # what is red (the house) lies under the mask
