"""The prompt builder: fillers out, visual terms in, style added, always within SD-1.5's 77 tokens."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.prompt.builder import (
    DEFAULT_NEGATIVE,
    NEGATIVE_DROPPED_PREFIX,
    PromptResult,
    build_prompt,
    clean_text,
    prompt_from_transcript,
)
from hear2see_desktop.core.prompt.styles import Style, load_style, style_names
from hear2see_desktop.core.prompt.tokens import CLIP_MAX_TOKENS, clip_token_count
from hear2see_desktop.core.transcript import Transcript, Word

FOX = "So, um, a red fox runs through the snowy forest at dawn"
LONG_NARRATION = (
    "Once upon a time an old wizard and a young princess rode two white horses through a dark "
    "enchanted forest past a ruined castle and a misty lake at twilight, while a huge red dragon flew "
    "over the snowy mountains and a small village below. A knight with a silver sword and a shield "
    "waited on the stone bridge near the waterfall, the wolves howled, owls watched from the pine trees "
    "and lanterns glowed in the windows of the cottages. It was foggy and cold and eerie; a thunderstorm "
    "rolled over the valley at midnight and a rainbow appeared at dawn over the meadow, where a little "
    "girl played with her puppy and a black cat slept on a wooden bench in the garden."
)


def words_of(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def prompt_terms(result: PromptResult) -> list[str]:
    return result.prompt.split(", ")


def fits(text: str, max_tokens: int = CLIP_MAX_TOKENS) -> bool:
    return clip_token_count(text) + 2 <= max_tokens


@pytest.mark.parametrize(
    ("spoken", "cleaned"),
    [
        (FOX, "A red fox runs through the snowy forest at dawn."),
        ("It was like, huge", "It was huge."),
        ("there were like five wolves", "There were five wolves."),
        ("and like there was this dragon, you know", "And there was this dragon."),
        ("Well, you know, the castle was, uh, old", "The castle was old."),
        ("okay so I mean the sky turned red", "The sky turned red."),
        ("um, uh, erm, a cat. So the end", "A cat. The end."),
        (
            "so um there was this like old fisherman you know and he sailed",
            "There was this old fisherman and he sailed.",
        ),
        ("I like foxes", "I like foxes."),
        ("I like, um, foxes", "I like foxes."),
        ("It looks like a fox", "It looks like a fox."),
        ("Like a bird, it flew away", "Like a bird, it flew away."),
        ("Do you know the way?", "Do you know the way?"),
        ("The well was deep", "The well was deep."),
    ],
)
def test_fillers_are_removed_and_meaningful_words_kept(spoken: str, cleaned: str) -> None:
    assert clean_text(spoken) == cleaned


def test_fox_narration_gives_subject_setting_time_then_cinematic_style() -> None:
    result = build_prompt(FOX)

    assert result.prompt.startswith("red fox")
    assert "snowy forest" in prompt_terms(result)
    assert "dawn" in prompt_terms(result)
    for modifier in load_style("cinematic").modifiers:
        assert modifier in prompt_terms(result)
    assert result.keywords == ["red fox runs", "snowy forest", "dawn"]
    assert result.dropped == []
    assert "um" not in words_of(result.prompt) and "so" not in words_of(result.prompt)


@pytest.mark.parametrize(
    ("narration", "keywords"),
    [
        (
            "Two wolves howl at the full moon on a snowy mountain at night",
            ["two wolves howl", "full moon", "snowy mountain", "night"],
        ),
        (
            "An old lighthouse on a rocky cliff during a thunderstorm, eerie and lonely",
            ["old lighthouse", "rocky cliff", "thunderstorm", "eerie", "lonely"],
        ),
        (
            "A little girl reads a book under an oak tree in the park on a sunny afternoon",
            ["little girl reads", "book", "oak tree", "park", "sunny afternoon"],
        ),
        ("A fox, then a red fox, and later the foxes again", ["red fox"]),
        ("The sun rose over the mountain lake and the fox is running", ["fox running", "sun", "mountain lake"]),
    ],
)
def test_keywords_are_visual_terms_subjects_first(narration: str, keywords: list[str]) -> None:
    result = build_prompt(narration, style="none")

    assert result.keywords == keywords
    assert result.prompt == ", ".join(keywords)


def test_narration_without_lexicon_words_falls_back_to_content_words() -> None:
    result = build_prompt("Quantum entanglement puzzles the physicists", style="none")

    assert result.keywords == ["quantum entanglement puzzles", "physicists"]
    assert result.prompt == "quantum entanglement puzzles, physicists"


@pytest.mark.parametrize("name", style_names())
def test_each_style_adds_its_modifiers(name: str) -> None:
    style = load_style(name)
    result = build_prompt("a cat on a sofa", style=name)

    assert result.style == name
    assert prompt_terms(result) == ["cat", "sofa", *style.modifiers]


def test_bundled_styles_include_the_papers_presets() -> None:
    names = style_names()

    assert {"cinematic", "realistic", "anime", "watercolor", "none"} <= set(names)
    for name in names:
        style = load_style(name)
        assert isinstance(style, Style) and style.name == name and style.label
    assert load_style("none").modifiers == ()
    assert load_style("  Anime ").name == "anime"


def test_unknown_style_error_lists_the_valid_ones() -> None:
    with pytest.raises(BadInputError) as error:
        build_prompt(FOX, style="vaporwave")

    message = str(error.value)
    assert "vaporwave" in message
    for name in style_names():
        assert name in message


def test_long_narration_is_cut_to_the_token_limit_by_whole_terms() -> None:
    result = build_prompt(LONG_NARRATION)

    assert fits(result.prompt)
    assert result.dropped
    whole_terms = set(result.keywords) | set(load_style("cinematic").modifiers)
    for term in result.dropped:
        assert term in whole_terms, f"dropped {term!r} is not a whole term"
        assert term not in prompt_terms(result)
    assert set(prompt_terms(result)) | set(result.dropped) == whole_terms
    # the main subject and the style's medium survive; later subjects go before them
    assert prompt_terms(result)[0] == result.keywords[0]
    assert "cinematic film still" in prompt_terms(result)


def test_prompt_words_are_whole_words_from_the_narration_or_style() -> None:
    for name in style_names():
        style_words = words_of(" ".join(load_style(name).modifiers))
        for narration in (FOX, LONG_NARRATION, "Quantum entanglement puzzles the physicists"):
            result = build_prompt(narration, style=name)
            assert words_of(result.prompt) <= words_of(narration) | style_words


@pytest.mark.parametrize("max_tokens", [10, 20, 40])
def test_smaller_limits_are_kept_too(max_tokens: int) -> None:
    result = build_prompt(LONG_NARRATION, max_tokens=max_tokens)

    assert fits(result.prompt, max_tokens)
    assert fits(result.negative_prompt, max_tokens)
    assert any(d.startswith(NEGATIVE_DROPPED_PREFIX) for d in result.dropped)


def test_default_negative_prompt_adds_the_styles_extras() -> None:
    style = load_style("anime")
    result = build_prompt(FOX, style="anime")

    assert result.negative_prompt == ", ".join([DEFAULT_NEGATIVE, *style.extra_negative])
    assert build_prompt(FOX, style="none").negative_prompt == DEFAULT_NEGATIVE


def test_negative_argument_replaces_the_default() -> None:
    assert build_prompt(FOX, negative=" ugly,  duplicate ,, ").negative_prompt == "ugly, duplicate"
    assert build_prompt(FOX, negative="").negative_prompt == ""


def test_overlong_negative_prompt_is_cut_by_whole_parts() -> None:
    parts = [f"bad thing number {n}" for n in range(40)]
    result = build_prompt(FOX, negative=", ".join(parts))

    assert fits(result.negative_prompt)
    kept = result.negative_prompt.split(", ")
    assert kept == parts[: len(kept)]
    dropped = [d.removeprefix(NEGATIVE_DROPPED_PREFIX) for d in result.dropped]
    assert dropped == parts[len(kept) :]


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_transcript_is_a_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="The transcript is empty"):
        build_prompt(text)


@pytest.mark.parametrize("text", ["um, uh", "So. Well. Okay.", "🦊 !!!"])
def test_transcript_with_nothing_to_picture_is_a_bad_input(text: str) -> None:
    with pytest.raises(BadInputError, match="nothing to picture"):
        build_prompt(text)


def test_result_shape_and_determinism() -> None:
    first = build_prompt(LONG_NARRATION, style="watercolor")
    second = build_prompt(LONG_NARRATION, style="watercolor")

    assert first == second
    assert list(first.to_dict()) == ["prompt", "negative_prompt", "keywords", "style", "dropped"]
    assert PromptResult.from_dict(first.to_dict()) == first


def test_prompt_from_transcript_uses_its_text_or_words() -> None:
    words = [Word(w, i * 0.5, i * 0.5 + 0.4, 1.0) for i, w in enumerate("a red fox at dawn".split())]

    assert prompt_from_transcript(Transcript("a red fox at dawn"), "none", None).prompt == "red fox, dawn"
    assert prompt_from_transcript(Transcript("", words=words), "none", None).prompt == "red fox, dawn"


def test_clip_token_count_excludes_start_and_end_markers() -> None:
    assert clip_token_count("a red fox") == 3
    assert clip_token_count("") == 0


LEXICON_WORDS = st.sampled_from(
    "fox red snowy forest dawn the a and like um so well you know castle dragon golden misty "
    "runs wolves two night eerie cold , . ; snow-covered 3 I mean it was okay".split()
)


@settings(max_examples=150, deadline=None)
@given(text=st.text(), style=st.sampled_from(style_names()), negative=st.none() | st.text())
def test_any_text_gives_a_prompt_within_the_limit_or_a_bad_input(
    text: str, style: str, negative: str | None
) -> None:
    try:
        result = build_prompt(text, style=style, negative=negative)
    except BadInputError:
        return
    assert fits(result.prompt) and fits(result.negative_prompt)


@settings(max_examples=100, deadline=None)
@given(words=st.lists(LEXICON_WORDS, max_size=300), max_tokens=st.integers(3, 100))
def test_wordy_narrations_stay_within_any_limit(words: list[str], max_tokens: int) -> None:
    try:
        result = build_prompt(" ".join(words), max_tokens=max_tokens)
    except BadInputError:
        return
    assert fits(result.prompt, max_tokens) and fits(result.negative_prompt, max_tokens)
    assert result.prompt
