"""Storyboard: scenes cut at sentence and clause boundaries, subjects carried, a JSON file users edit."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE, build_prompt
from hear2see_desktop.core.storyboard.board import (
    Scene,
    Storyboard,
    build_storyboard,
    load_storyboard,
    rebuild_prompts,
    save_storyboard,
)
from hear2see_desktop.core.storyboard.scenes import split_scenes
from hear2see_desktop.core.storyboard.subjects import carry_subjects
from hear2see_desktop.core.transcript import Transcript, Word

FOX = "A red fox runs through the snowy forest. It stops at a frozen river. Then it jumps across the ice."


def timed(script: str, word_s: float = 0.3, gap_s: float = 0.05, start_s: float = 0.0) -> list[Word]:
    """Words said back to back; a token "|0.8" is an extra 0.8 s pause at that point."""
    words: list[Word] = []
    t = start_s
    for token in script.split():
        if token.startswith("|"):
            t += float(token[1:])
            continue
        words.append(Word(token, round(t, 3), round(t + word_s, 3), 0.9))
        t += word_s + gap_s
    return words


def check_spans(spans: list[tuple[float, float, list[Word]]], words: list[Word], duration_s: float,
                min_scene_s: float, max_scene_s: float) -> None:
    """Back to back over exactly [0, duration_s], within the limits, every word once and in order."""
    assert spans[0][0] == 0.0
    assert spans[-1][1] == duration_s
    for (_, end_s, _), (start_s, _, _) in zip(spans, spans[1:], strict=False):
        assert end_s == start_s
    if duration_s <= min_scene_s:
        assert len(spans) == 1
    for start_s, end_s, _ in spans:
        assert end_s > start_s
        if len(spans) > 1:
            assert end_s - start_s >= min_scene_s - 1e-6, spans
        assert end_s - start_s <= max_scene_s + 1e-6 or len(spans) == 1 and duration_s <= min_scene_s
    flat = [w for _, _, span_words in spans for w in span_words]
    assert flat == sorted(words, key=lambda w: (w.start, w.end))


def texts(spans: list[tuple[float, float, list[Word]]]) -> list[str]:
    return [" ".join(w.word for w in span_words) for _, _, span_words in spans]


def fox_transcript() -> Transcript:
    words = timed("A red fox runs through the snowy forest. |0.3 It stops at a frozen river. |0.3 "
                  "Then it jumps across the ice.")
    return Transcript(FOX, words, engine="whisper", duration_s=round(words[-1].end + 0.4, 3))


# --- cutting into scenes -------------------------------------------------------------------------


def test_sentences_become_scenes_with_cuts_in_the_middle_of_the_pause() -> None:
    words = fox_transcript().words
    spans = split_scenes(words, 8.0)

    check_spans(spans, words, 8.0, 2.0, 8.0)
    assert texts(spans) == ["A red fox runs through the snowy forest.", "It stops at a frozen river.",
                            "Then it jumps across the ice."]
    forest, it = words[7], words[8]
    assert spans[0][1] == pytest.approx((forest.end + it.start) / 2)


def test_sentence_end_wins_over_a_comma_when_only_one_cut_fits() -> None:
    # the comma after "howls" and the full stop after "moon" are only 1.05 s apart: one cut fits
    words = timed("The wolf howls, under the moon. Snow falls on the pines")
    spans = split_scenes(words, 5.0, min_scene_s=2.0, max_scene_s=8.0)

    check_spans(spans, words, 5.0, 2.0, 8.0)
    assert texts(spans) == ["The wolf howls, under the moon.", "Snow falls on the pines"]


def test_a_comma_makes_a_cut_when_the_clause_is_long_enough() -> None:
    words = timed("The old wolf howls at the silver moon, and the snow falls on the pines")
    spans = split_scenes(words, 5.5, min_scene_s=2.0, max_scene_s=8.0)

    assert texts(spans) == ["The old wolf howls at the silver moon,", "and the snow falls on the pines"]


def test_a_long_pause_cuts_vosk_words_without_punctuation() -> None:
    words = timed("a red fox runs through the snowy forest |0.8 it stops at a frozen river")
    spans = split_scenes(words, 6.5)

    check_spans(spans, words, 6.5, 2.0, 8.0)
    assert texts(spans) == ["a red fox runs through the snowy forest", "it stops at a frozen river"]
    forest, it = words[7], words[8]
    assert spans[0][1] == pytest.approx((forest.end + it.start) / 2)


def test_words_without_pauses_or_punctuation_stay_one_scene_up_to_the_maximum() -> None:
    words = timed("a red fox runs through the snowy forest and it stops at a frozen river")
    spans = split_scenes(words, words[-1].end)

    assert len(spans) == 1


def test_a_scene_longer_than_the_maximum_is_split_between_words_near_an_even_split() -> None:
    words = timed(" ".join(["fox"] * 60), word_s=0.3, gap_s=0.0)  # 18 s, no boundary anywhere
    spans = split_scenes(words, 18.0, min_scene_s=2.0, max_scene_s=8.0)

    check_spans(spans, words, 18.0, 2.0, 8.0)
    assert len(spans) == 3
    for start_s, end_s, _ in spans:
        assert end_s - start_s == pytest.approx(6.0, abs=0.31)
    for cut_s in (spans[0][1], spans[1][1]):  # cuts fall between words, never inside one
        assert not any(w.start < cut_s < w.end for w in words)


def test_a_forced_cut_prefers_a_clause_word_over_any_other_gap() -> None:
    words = timed("the fox runs through the forest past the trees and the rocks then it "
                  "stops by the river near the old stone bridge in the valley", gap_s=0.0)
    spans = split_scenes(words, words[-1].end, min_scene_s=2.0, max_scene_s=6.0)  # 7.8 s: one cut is needed

    assert len(spans) == 2
    assert texts(spans)[1].startswith("then it stops")


def test_and_then_is_cut_before_the_and() -> None:
    words = timed("the fox runs through the forest past the trees |0.4 and then it stops by the river", gap_s=0.0)
    spans = split_scenes(words, words[-1].end, min_scene_s=1.0, max_scene_s=8.0)

    assert texts(spans)[-1].startswith("and then")


def test_a_clip_shorter_than_the_minimum_is_one_scene() -> None:
    words = timed("A fox. A cat.")
    spans = split_scenes(words, 1.5, min_scene_s=2.0)

    assert spans == [(0.0, 1.5, words)]


@pytest.mark.parametrize(("duration_s", "count"), [(1.0, 1), (8.0, 1), (8.5, 2), (20.0, 3)])
def test_no_words_gives_one_scene_or_an_even_split(duration_s: float, count: int) -> None:
    spans = split_scenes([], duration_s)

    check_spans(spans, [], duration_s, 2.0, 8.0)
    assert len(spans) == count
    for start_s, end_s, span_words in spans:
        assert span_words == []
        assert end_s - start_s == pytest.approx(duration_s / count)


def test_a_long_silence_is_split_without_moving_the_words() -> None:
    words = timed("A fox runs. |15 It sleeps.")
    spans = split_scenes(words, words[-1].end + 0.5)

    check_spans(spans, words, words[-1].end + 0.5, 2.0, 8.0)
    assert texts(spans)[0] == "A fox runs."
    assert texts(spans)[-1] == "It sleeps."


def test_words_past_the_end_belong_to_the_last_scene() -> None:
    words = timed("A fox runs. It sleeps.")
    spans = split_scenes(words, 1.0, min_scene_s=0.5, max_scene_s=1.0)

    check_spans(spans, words, 1.0, 0.5, 1.0)


@pytest.mark.parametrize(
    ("duration_s", "min_scene_s", "max_scene_s", "message"),
    [
        (10.0, 0.0, 8.0, "The shortest scene length must be more than 0 s, not 0.0 s."),
        (10.0, -1.0, 8.0, "The shortest scene length must be more than 0 s, not -1.0 s."),
        (10.0, math.nan, 8.0, "The shortest scene length must be more than 0 s, not nan s."),
        (10.0, 3.0, 5.0, "The longest scene length (5.0 s) must be at least twice the shortest (3.0 s), "
                         "so that any narration can be cut into scenes."),
        (0.0, 2.0, 8.0, "The narration must last more than 0 s to be cut into scenes, not 0.0 s."),
        (math.inf, 2.0, 8.0, "The narration must last more than 0 s to be cut into scenes, not inf s."),
    ],
)
def test_bad_lengths_are_bad_input(duration_s: float, min_scene_s: float, max_scene_s: float, message: str) -> None:
    with pytest.raises(BadInputError) as error:
        split_scenes([], duration_s, min_scene_s, max_scene_s)

    assert str(error.value) == message


PUNCTUATED = st.sampled_from(["fox", "runs", "the", "and", "then", "river.", "snow,", "it", "stops!", "but"])


@st.composite
def narrations(draw: st.DrawFn) -> tuple[list[Word], float, float, float]:
    min_scene_s = draw(st.floats(0.2, 4.0))
    max_scene_s = draw(st.floats(2 * min_scene_s, 4 * min_scene_s + 6))
    words: list[Word] = []
    t = draw(st.floats(0.0, 12.0))
    for _ in range(draw(st.integers(0, 60))):
        length_s = draw(st.floats(0.0, 2.5))
        words.append(Word(draw(PUNCTUATED), t, t + length_s, 1.0))
        t += length_s + draw(st.sampled_from([0.0, 0.05, 0.2, 0.4, 1.0, 3.0, 12.0]))
    duration_s = draw(st.floats(0.05, 5.0)) + (t if draw(st.booleans()) else draw(st.floats(0.0, t + 1)))
    return words, duration_s, min_scene_s, max_scene_s


@settings(max_examples=300, deadline=None)
@given(narration=narrations())
def test_any_word_timings_give_contiguous_scenes_within_the_limits(
    narration: tuple[list[Word], float, float, float],
) -> None:
    words, duration_s, min_scene_s, max_scene_s = narration
    spans = split_scenes(words, duration_s, min_scene_s, max_scene_s)

    check_spans(spans, words, duration_s, min_scene_s, max_scene_s)


# --- subjects across scenes ----------------------------------------------------------------------


def test_the_fox_of_scene_one_is_still_a_red_fox_when_the_narration_says_it() -> None:
    board = build_storyboard(fox_transcript(), style="cinematic")

    assert [s.text for s in board.scenes] == [
        "A red fox runs through the snowy forest.", "It stops at a frozen river.", "Then it jumps across the ice.",
    ]
    assert board.scenes[0].prompt.startswith("red fox runs, snowy forest, ")
    assert board.scenes[1].prompt.startswith("red fox, frozen river, ")
    assert board.scenes[2].prompt.startswith("red fox jumps, ice, ")
    for scene in board.scenes:
        assert "cinematic film still" in scene.prompt
        assert scene.negative_prompt == build_prompt(FOX).negative_prompt
        assert not scene.edited


def test_a_bare_mention_takes_the_fullest_description() -> None:
    assert carry_subjects(["A red fox runs through the snowy forest.", "The fox sleeps by the river.",
                           "The foxes play.", "A grey fox sits.", "The fox eats."]) == [
        None, ["red fox sleeps"], ["red foxes play"], None, ["grey fox eats"],  # a new description replaces
    ]


def test_a_number_is_not_carried_onto_the_singular() -> None:
    assert carry_subjects(["Two wolves howl at the moon.", "A wolf runs.", "The wolves rest."]) == [
        None, None, ["two wolves rest"],
    ]


def test_a_pronoun_without_an_earlier_subject_carries_nothing() -> None:
    assert carry_subjects(["It was a cold night.", "It snowed on the village."]) == [None, None]


def test_a_scene_with_its_own_subject_keeps_it_despite_a_pronoun() -> None:
    assert carry_subjects(["A red fox runs.", "Then an owl watches it."]) == [None, None]


def test_a_scene_without_a_pronoun_or_subject_carries_nothing() -> None:
    assert carry_subjects(["A red fox runs.", "Snow covers the frozen river."]) == [None, None]


def test_the_latest_main_subject_is_the_one_carried() -> None:
    assert carry_subjects(["A red fox runs.", "An old owl watches.", "She flies away."]) == [
        None, None, ["old owl flies"],
    ]


def test_given_subjects_come_first_in_the_prompt() -> None:
    result = build_prompt("Then it jumps across the ice.", style="none", subjects=["red fox jumps"])
    assert result.prompt == "red fox jumps, ice"
    assert result.keywords == ["red fox jumps", "ice"]

    # with nothing else to picture the content-word fallback is skipped: the subject stays first
    assert build_prompt("Then it leaps quickly", style="none", subjects=["red fox"]).prompt == "red fox"
    # the text's own subjects are replaced
    assert build_prompt("The fox sleeps", style="none", subjects=["red fox sleeps"]).prompt == "red fox sleeps"


def test_without_subjects_the_builder_is_unchanged() -> None:
    for text in (FOX, "Quantum entanglement puzzles the physicists", "Then it jumps"):
        assert build_prompt(text, subjects=None) == build_prompt(text)


# --- building -------------------------------------------------------------------------------------


def test_a_silent_scene_shows_the_scene_before_it() -> None:
    words = timed("A fox runs. |15 An owl sleeps.")
    board = build_storyboard(Transcript("", words), duration_s=words[-1].end + 0.5, style="none")

    assert board.scenes[0].prompt == "fox runs"
    assert board.scenes[-1].prompt == "owl sleeps"
    silent = [s for s in board.scenes if not s.text]
    assert silent and all(s.prompt == "fox runs" for s in silent)
    board.validate()


def test_leading_silence_shows_the_first_picture() -> None:
    words = timed("um |12 A fox runs.")
    board = build_storyboard(Transcript("", words), duration_s=words[-1].end + 0.5, style="none")

    assert all(s.prompt == "fox runs" for s in board.scenes)


def test_duration_defaults_to_the_transcript_then_the_last_word() -> None:
    words = timed("A fox runs. An owl sleeps.")

    assert build_storyboard(Transcript("", words, duration_s=9.0)).duration_s == 9.0
    assert build_storyboard(Transcript("", words)).duration_s == words[-1].end
    assert build_storyboard(Transcript("", words), duration_s=4.0).scenes[-1].end_s == 4.0


def test_typed_narration_without_word_times_is_spread_over_the_duration() -> None:
    board = build_storyboard(Transcript(FOX, duration_s=9.0), style="none")

    assert [s.text for s in board.scenes] == [
        "A red fox runs through the snowy forest.", "It stops at a frozen river.", "Then it jumps across the ice.",
    ]
    assert [s.prompt for s in board.scenes] == ["red fox runs, snowy forest", "red fox, frozen river",
                                                "red fox jumps, ice"]


def test_style_and_negative_reach_every_scene() -> None:
    board = build_storyboard(fox_transcript(), style=" Anime ", negative="blurry, text")

    assert board.style == "anime"
    for scene in board.scenes:
        assert scene.negative_prompt == "blurry, text"
        assert "anime style" in scene.prompt
    assert build_storyboard(fox_transcript(), style="none").scenes[0].negative_prompt == DEFAULT_NEGATIVE


@pytest.mark.parametrize(
    ("transcript", "duration_s", "message"),
    [
        (Transcript(FOX), None, "The narration has no length to cut into scenes"),
        (Transcript(""), 5.0, "The transcript is empty"),
        (Transcript("um, uh", [Word("um", 0.0, 0.3, 1.0), Word("uh", 3.0, 3.3, 1.0)]), 5.0, "nothing to picture"),
    ],
)
def test_a_storyboard_needs_a_length_and_something_to_picture(
    transcript: Transcript, duration_s: float | None, message: str
) -> None:
    with pytest.raises(BadInputError, match=message):
        build_storyboard(transcript, duration_s=duration_s)


def test_an_unknown_style_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="Unknown style 'vaporwave'"):
        build_storyboard(fox_transcript(), style="vaporwave")


def test_rebuilding_keeps_prompts_edited_by_hand() -> None:
    board = build_storyboard(fox_transcript(), style="none").with_scene_prompt(1, "a fox on ice, oil painting")
    rebuilt = rebuild_prompts(board, style="anime")

    assert rebuilt.style == "anime"
    assert rebuilt.scenes[1].prompt == "a fox on ice, oil painting" and rebuilt.scenes[1].edited
    assert "anime style" in rebuilt.scenes[0].prompt and "anime style" in rebuilt.scenes[2].prompt
    assert rebuilt.scenes[2].prompt.startswith("red fox jumps")


# --- editing --------------------------------------------------------------------------------------


def three_scenes() -> Storyboard:
    return Storyboard(
        [Scene(0.0, 3.0, "A fox.", "fox"), Scene(3.0, 5.0, "An owl.", "owl"), Scene(5.0, 9.0, "A cat.", "cat")],
        duration_s=9.0,
        style="none",
    )


def test_with_scene_prompt_returns_an_edited_copy() -> None:
    board = three_scenes()
    edited = board.with_scene_prompt(1, "  snowy   owl at night ")

    assert edited.scenes[1].prompt == "snowy owl at night" and edited.scenes[1].edited
    assert board.scenes[1].prompt == "owl" and not board.scenes[1].edited
    assert edited.scenes[0] == board.scenes[0] and edited.scenes[2] == board.scenes[2]


@pytest.mark.parametrize(
    ("index", "prompt", "message"),
    [
        (1, "   ", "Scene 2's prompt cannot be empty: type what it should show."),
        (3, "fox", "There is no scene 4: the storyboard has 3 scenes."),
        (-1, "fox", "There is no scene 0: the storyboard has 3 scenes."),
    ],
)
def test_with_scene_prompt_rejects_what_it_cannot_show(index: int, prompt: str, message: str) -> None:
    with pytest.raises(BadInputError) as error:
        three_scenes().with_scene_prompt(index, prompt)

    assert str(error.value) == message


@pytest.mark.parametrize(
    ("time_s", "cut_s"),
    [(4.0, 4.0), (1.0, 1.0), (0.1, 0.25), (-5.0, 0.25), (4.9, 4.75), (100.0, 4.75)],
)
def test_dragging_an_edge_moves_the_cut_and_keeps_neighbours_a_quarter_second(time_s: float, cut_s: float) -> None:
    board = three_scenes()
    moved = board.with_boundary(1, time_s)

    assert moved.scenes[0].end_s == cut_s and moved.scenes[1].start_s == cut_s
    assert moved.scenes[0].text == "A fox." and moved.scenes[1].text == "An owl."  # texts are not recomputed
    assert board.scenes[0].end_s == 3.0  # the original is untouched
    moved.validate()


@pytest.mark.parametrize("index", [0, 3, -1])
def test_only_an_edge_between_two_scenes_can_be_dragged(index: int) -> None:
    with pytest.raises(BadInputError, match=r"There is no edge before scene -?\d+: choose a scene from 2 to 3\."):
        three_scenes().with_boundary(index, 4.0)


@pytest.mark.parametrize(("time_s", "index"), [(-1.0, 0), (0.0, 0), (2.99, 0), (3.0, 1), (4.5, 1), (9.0, 2), (50, 2)])
def test_scene_at_finds_the_scene_showing(time_s: float, index: int) -> None:
    assert three_scenes().scene_at(time_s) == index


# --- the file -------------------------------------------------------------------------------------


def test_json_round_trip_keeps_everything() -> None:
    board = build_storyboard(fox_transcript()).with_scene_prompt(2, "red fox leaping over ice")
    data = json.loads(json.dumps(board.to_dict()))

    assert data["version"] == 1
    assert list(data["scenes"][0]) == ["start_s", "end_s", "text", "prompt", "negative_prompt", "edited"]
    assert Storyboard.from_dict(data) == board


def test_save_then_load_gives_the_same_board_and_leaves_no_part_file(tmp_path: Path) -> None:
    board = build_storyboard(fox_transcript())
    path = tmp_path / "board.json"
    path.write_text("old", encoding="utf-8")

    save_storyboard(board, path)

    assert load_storyboard(path) == board
    assert [p.name for p in tmp_path.iterdir()] == ["board.json"]


def test_saving_into_a_missing_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="The storyboard cannot be saved to"):
        save_storyboard(three_scenes(), tmp_path / "nowhere" / "board.json")


def test_an_invalid_board_is_not_saved(tmp_path: Path) -> None:
    board = three_scenes()
    board.scenes[1].prompt = ""

    with pytest.raises(BadInputError, match="Scene 2 has an empty prompt"):
        save_storyboard(board, tmp_path / "board.json")
    assert list(tmp_path.iterdir()) == []


def valid_dict() -> dict:
    return three_scenes().to_dict()


def changed(**changes: object) -> dict:
    data = valid_dict()
    for key, value in changes.items():
        if key.startswith("scene1_"):
            data["scenes"][1][key.removeprefix("scene1_")] = value
        elif value is _DELETE:
            del data[key]
        else:
            data[key] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "The storyboard must be a JSON object with version, duration_s and scenes."),
        (changed(version=_DELETE), "The storyboard has no version: it is not a HEAR2SEE storyboard."),
        (changed(version=2), "The storyboard has version 2, but this HEAR2SEE reads version 1: build the storyboard "
                             "again."),
        (changed(version=True), "The storyboard has version True, but this HEAR2SEE reads version 1: build the "
                                "storyboard again."),
        (changed(duration_s="9"), "The storyboard has no duration_s in seconds."),
        (changed(duration_s=_DELETE), "The storyboard has no duration_s in seconds."),
        (changed(style=3), "The storyboard has a style that is not a preset name."),
        (changed(scenes={}), "The storyboard has no scenes list."),
        (changed(scenes=[1]), "Scene 1 of the storyboard is not a JSON object."),
        (changed(scene1_start_s=None), "Scene 2 of the storyboard has no start_s in seconds."),
        (changed(scene1_end_s=math.nan), "Scene 2 of the storyboard has no end_s in seconds."),
        (changed(scene1_prompt=["owl"]), "Scene 2 of the storyboard has a prompt that is not text."),
        (changed(scene1_text=5), "Scene 2 of the storyboard has a text that is not text."),
        (changed(scene1_edited="yes"), "Scene 2 of the storyboard has an edited flag that is not true or false."),
    ],
)
def test_a_wrong_shape_names_the_problem(data: object, message: str) -> None:
    with pytest.raises(BadInputError) as error:
        Storyboard.from_dict(data)

    assert str(error.value) == message


def test_a_scene_without_a_prompt_names_it() -> None:
    data = valid_dict()
    del data["scenes"][2]["prompt"]

    with pytest.raises(BadInputError, match=r"^Scene 3 of the storyboard has no prompt\.$"):
        Storyboard.from_dict(data)


def test_optional_scene_fields_have_defaults() -> None:
    data = valid_dict()
    for key in ("text", "negative_prompt", "edited"):
        del data["scenes"][0][key]
    del data["style"]

    board = Storyboard.from_dict(data)
    assert board.scenes[0] == Scene(0.0, 3.0, "", "fox", "", False)
    assert board.style == "cinematic"


def broken(board: Storyboard, how: str) -> Storyboard:
    scenes = board.scenes
    if how == "no scenes":
        scenes.clear()
    elif how == "late start":
        scenes[0].start_s = 0.5
    elif how == "backwards":
        scenes[1].end_s = 2.0
    elif how == "gap":
        scenes[2].start_s = 5.5
    elif how == "overlap":
        scenes[2].start_s = 4.0
    elif how == "short end":
        scenes[2].end_s = 8.0
    elif how == "empty prompt":
        scenes[2].prompt = " "
    elif how == "zero duration":
        board.duration_s = 0.0
    elif how == "nan time":
        scenes[1].end_s = math.nan
    return board


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("no scenes", "The storyboard has no scenes: build it again from the narration."),
        ("late start", "Scene 1 must start at 0 s, not at 0.5 s."),
        ("backwards", "Scene 2 ends at 2 s, not after it starts at 3 s: each scene must end after it starts."),
        ("gap", "Scene 3 starts at 5.5 s but scene 2 ends at 5 s: each scene must start where the one before it "
                "ends."),
        ("overlap", "Scene 3 starts at 4 s but scene 2 ends at 5 s: each scene must start where the one before it "
                    "ends."),
        ("short end", "The last scene ends at 8 s but the narration lasts 9 s: the last scene must end with the "
                      "narration."),
        ("empty prompt", "Scene 3 has an empty prompt: type what it should show."),
        ("zero duration", "The storyboard's duration_s must be a positive number of seconds, not 0.0."),
        ("nan time", "Scene 2 has a start or end that is not a number of seconds."),
    ],
)
def test_validate_names_what_is_wrong(how: str, message: str) -> None:
    board = broken(three_scenes(), how)

    with pytest.raises(BadInputError) as error:
        board.validate()

    assert str(error.value) == message


def test_validate_allows_a_millisecond_of_slack() -> None:
    board = three_scenes()
    board.scenes[0].start_s = 0.0009
    board.scenes[1].start_s = 3.0009
    board.scenes[2].end_s = 8.9991

    board.validate()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"version": 1, "scenes": [', r"^The storyboard board\.json is not valid JSON \(line 1, column 27\): "
                                       r"fix it or build it again\.$"),
        (b"\xff\xfe\x00", r"^The storyboard board\.json is not a UTF-8 JSON file: fix it or build it again\.$"),
        (b"[1, 2]", r"^The storyboard board\.json must be a JSON object with version, duration_s and scenes\.$"),
        (b'{"version": 1, "duration_s": 9, "scenes": [{"start_s": 0, "end_s": 9}]}',
         r"^Scene 1 of the storyboard board\.json has no prompt\.$"),
        (b'{"version": 1, "duration_s": 9, "scenes": [{"start_s": 0, "end_s": 8, "prompt": "fox"}]}',
         r"^The last scene ends at 8 s but the narration lasts 9 s"),
        # A whole number too long for a float once raised OverflowError (found by test_fuzz_parsers).
        (b'{"version": 1, "duration_s": 1' + b"0" * 400 + b', "scenes": []}',
         r"^The storyboard board\.json has no duration_s in seconds\.$"),
        (b'{"version": 1, "duration_s": 9, "scenes": [{"start_s": 0, "end_s": 1' + b"0" * 400 + b', "prompt": "x"}]}',
         r"^Scene 1 of the storyboard board\.json has no end_s in seconds\.$"),
    ],
)
def test_loading_a_broken_file_says_what_is_wrong(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "board.json"
    path.write_bytes(content)

    with pytest.raises(BadInputError, match=message):
        load_storyboard(path)


def test_loading_a_missing_file_or_a_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="There is no storyboard file at .*board.json: check the path."):
        load_storyboard(tmp_path / "board.json")
    with pytest.raises(BadInputError, match="is a folder, not a storyboard file"):
        load_storyboard(tmp_path)


def _board(*cuts: float, duration: float = 6.0) -> Storyboard:
    times = [0.0, *cuts, duration]
    spans = zip(times[:-1], times[1:], strict=True)
    return Storyboard([Scene(a, b, f"text {i}", f"prompt {i}") for i, (a, b) in enumerate(spans)], duration)


def test_a_rebuild_keeps_prompts_the_user_wrote_where_their_scene_still_exists() -> None:
    from hear2see_desktop.core.storyboard.edits import carry_scene_edits, same_cuts

    old = _board(2.0, 4.0).with_scene_prompt(1, "a lighthouse in a storm")
    kept, lost = carry_scene_edits(old, _board(2.0, 4.0), times_edited=False)
    assert lost == 0 and kept.scenes[1].prompt == "a lighthouse in a storm" and kept.scenes[1].edited
    moved, lost = carry_scene_edits(old, _board(3.0), times_edited=True)
    assert lost == 2 and not any(scene.edited for scene in moved.scenes)  # the prompt and the moved cuts
    assert same_cuts(old, _board(2.02, 4.0)) and not same_cuts(old, _board(3.0)) and not same_cuts(None, old)


def test_the_render_board_lets_typed_prompts_fill_unedited_scenes() -> None:
    from hear2see_desktop.core.storyboard.edits import board_for_render

    board = _board(2.0, 4.0).with_scene_prompt(2, "my own scene")
    assert board_for_render(_board(2.0), "classic", "a castle", "", True, False, scenes_edited=False) is None
    used = board_for_render(board, "smooth", "a castle", "blurry", prompt_typed=True, negative_typed=True,
                            scenes_edited=True)
    assert used is not None
    assert [s.prompt for s in used.scenes] == ["a castle", "a castle", "my own scene"]
    assert {s.negative_prompt for s in used.scenes} == {"blurry"}
    untouched = board_for_render(board, "fast", "", "", prompt_typed=False, negative_typed=False, scenes_edited=True)
    assert untouched is not None and [s.prompt for s in untouched.scenes] == ["prompt 0", "prompt 1", "my own scene"]
