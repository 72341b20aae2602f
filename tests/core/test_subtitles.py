"""Subtitles from word times: the SRT and WebVTT files parse with real parsers and match the words."""

from __future__ import annotations

import html
from itertools import pairwise
from pathlib import Path

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.subtitle_files import write_subtitles
from hear2see_desktop.core.subtitles import Cue, cue_at, make_cues, to_srt, to_vtt
from hear2see_desktop.core.transcript import Word


def words_from(text: str, start_s: float = 0.0, word_s: float = 0.3, gap_s: float = 0.1) -> list[Word]:
    """Evenly spoken words: each `word_s` long with `gap_s` between them."""
    words = []
    time_s = start_s
    for token in text.split():
        words.append(Word(token, time_s, time_s + word_s, 1.0))
        time_s += word_s + gap_s
    return words


def ms(time_s: float) -> int:
    return round(time_s * 1000)


def parse_srt(text: str) -> list[tuple[int, int, str]]:
    return [(ms(sub.start.total_seconds()), ms(sub.end.total_seconds()), sub.content) for sub in srt.parse(text)]


def parse_vtt(text: str) -> list[tuple[int, int, str]]:
    return [
        (cap.start_time.in_milliseconds(), cap.end_time.in_milliseconds(), html.unescape(cap.text))
        for cap in webvtt.from_string(text)
    ]


TWO_SENTENCES = [
    Word("A", 0.123, 0.2, 0.9),
    Word("red", 0.25, 0.5, 0.9),
    Word("fox", 0.55, 1.0, 0.9),
    Word("runs.", 1.05, 1.4, 0.9),
    Word("The", 1.5, 1.6, 0.9),
    Word("café", 1.65, 2.0, 0.9),
    Word("opens", 2.05, 2.5, 0.9),
    Word("late!", 2.55, 3.0, 0.9),
]


def test_a_sentence_end_starts_a_new_cue() -> None:
    cues = make_cues(TWO_SENTENCES)
    assert [cue.text for cue in cues] == ["A red fox runs.", "The café opens late!"]


def test_cues_start_at_the_first_word_and_end_at_the_last_word() -> None:
    cues = make_cues(TWO_SENTENCES, min_cue_s=0.0)
    assert [(cue.start_s, cue.end_s) for cue in cues] == [(0.123, 1.4), (1.5, 3.0)]


@pytest.mark.parametrize("writer,parser", [(to_srt, parse_srt), (to_vtt, parse_vtt)], ids=["srt", "vtt"])
def test_parsed_cue_times_are_the_word_times_to_the_millisecond(writer, parser) -> None:
    cues = make_cues(TWO_SENTENCES, min_cue_s=0.0)
    assert parser(writer(cues)) == [(123, 1400, "A red fox runs."), (1500, 3000, "The café opens late!")]


@pytest.mark.parametrize("writer,parser", [(to_srt, parse_srt), (to_vtt, parse_vtt)], ids=["srt", "vtt"])
def test_text_round_trips_through_a_real_parser(writer, parser) -> None:
    cues = [
        Cue(0.0, 1.0, "Crème brûlée — ça va?\n한국어 자막"),
        Cue(1.0, 2.5, "Tom & Jerry <3 > 2"),
        Cue(3600 * 2 + 61.0004, 3600 * 2 + 62.9996, "after two hours"),
    ]
    parsed = parser(writer(cues))
    assert parsed == [
        (0, 1000, "Crème brûlée — ça va?\n한국어 자막"),
        (1000, 2500, "Tom & Jerry <3 > 2"),
        (7_261_000, 7_263_000, "after two hours"),
    ]


def test_an_arrow_in_the_text_cannot_end_the_cue_early() -> None:
    cues = make_cues([Word("left", 0.0, 0.4, 1.0), Word("-->", 0.5, 0.7, 1.0), Word("right", 0.8, 1.2, 1.0)])
    assert len(cues) == 1
    for text in (to_srt(cues), to_vtt(cues)):
        assert text.count("-->") == 1  # only the timing line
    assert parse_srt(to_srt(cues))[0][2] == "left -> right"
    assert parse_vtt(to_vtt(cues))[0][2] == "left -> right"


def test_srt_layout_is_numbered_from_one_with_blank_lines_between() -> None:
    text = to_srt([Cue(0.0, 1.5, "one"), Cue(2.0, 3.25, "two\nlines")])
    assert text == "1\n00:00:00,000 --> 00:00:01,500\none\n\n2\n00:00:02,000 --> 00:00:03,250\ntwo\nlines\n\n"


def test_vtt_layout_has_the_header_and_dotted_milliseconds() -> None:
    text = to_vtt([Cue(0.0, 1.5, "one")])
    assert text == "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\none\n\n"


def test_no_cues_make_valid_empty_files() -> None:
    assert to_srt([]) == ""
    assert to_vtt([]) == "WEBVTT\n\n"
    assert parse_srt(to_srt([])) == []
    assert parse_vtt(to_vtt([])) == []


def test_milliseconds_are_rounded_and_never_negative() -> None:
    text = to_srt([Cue(-0.5, 0.0015, "x"), Cue(1.0004, 1.9996, "y")])
    assert parse_srt(text) == [(0, 2, "x"), (1000, 2000, "y")]


def test_a_pause_starts_a_new_cue() -> None:
    words = words_from("one two three") + words_from("four five", start_s=1.1 + 0.7)
    cues = make_cues(words)
    assert [cue.text for cue in cues] == ["one two three", "four five"]


def test_a_short_gap_keeps_words_together() -> None:
    words = words_from("one two three") + words_from("four five", start_s=1.1 + 0.6)
    assert [cue.text for cue in make_cues(words)] == ["one two three four five"]


def test_a_long_sentence_wraps_into_at_most_two_lines_of_42_characters() -> None:
    sentence = (
        "the quick brown fox jumps over the lazy dog while the narrator keeps talking about "
        "mountains rivers forests and the long road home through the valley at night"
    )
    words = words_from(sentence, word_s=0.1, gap_s=0.02)
    cues = make_cues(words, max_cue_s=60.0)
    assert len(cues) > 1
    for cue in cues:
        lines = cue.text.split("\n")
        assert 1 <= len(lines) <= 2
        assert all(len(line) <= 42 for line in lines), lines
    assert " ".join(cue.text.replace("\n", " ") for cue in cues) == sentence


def test_two_lines_are_balanced_not_a_full_line_over_a_stub() -> None:
    words = words_from("the quick brown fox jumps over the lazy dog and then sleeps", word_s=0.1, gap_s=0.02)
    (cue,) = make_cues(words, max_line_chars=42)
    first, second = cue.text.split("\n")
    assert abs(len(first) - len(second)) <= 8, cue.text


def test_a_cue_never_runs_longer_than_max_cue_s() -> None:
    words = words_from(" ".join(["word"] * 40), word_s=0.4, gap_s=0.1)
    cues = make_cues(words, max_line_chars=200, max_cue_s=3.0)
    assert len(cues) > 1
    assert all(cue.end_s - cue.start_s <= 3.0 + 1e-9 for cue in cues)


def test_a_word_longer_than_a_line_stays_whole() -> None:
    giant = "Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung"
    cues = make_cues([Word("the", 0.0, 0.2, 1.0), Word(giant, 0.3, 1.5, 1.0), Word("ok", 1.6, 1.8, 1.0)])
    assert giant in [line for cue in cues for line in cue.text.split("\n")]


def test_empty_words_are_skipped() -> None:
    cues = make_cues([Word("", 0.0, 0.1, 1.0), Word("hi", 0.2, 0.5, 1.0), Word("  ", 0.6, 0.7, 1.0)])
    assert [cue.text for cue in cues] == ["hi"]
    assert make_cues([Word("", 0.0, 0.1, 1.0)]) == []
    assert make_cues([]) == []


def test_a_short_cue_is_held_up_to_min_cue_s_without_touching_the_next() -> None:
    words = [Word("Yes.", 1.0, 1.2, 1.0), Word("No.", 1.5, 1.7, 1.0), Word("Maybe.", 5.0, 5.2, 1.0)]
    cues = make_cues(words, min_cue_s=0.8)
    assert [(cue.start_s, cue.end_s) for cue in cues] == [(1.0, 1.5), (1.5, 2.3), (5.0, 5.8)]


word_timings = st.lists(
    st.tuples(
        st.sampled_from(["a", "fox", "runs.", "over", "the", "hill!", "", "extraordinarily", "café", "why?"]),
        st.floats(min_value=-2.0, max_value=30.0, allow_nan=False),
        st.floats(min_value=0.0, max_value=8.0, allow_nan=False),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(word_timings, st.booleans())
def test_cues_never_overlap_or_go_backwards_whatever_the_word_times(timings, sort_by_start) -> None:
    words = [Word(text, start_s, start_s + length_s, 1.0) for text, start_s, length_s in timings]
    if sort_by_start:
        words.sort(key=lambda word: word.start)
    cues = make_cues(words)
    for cue in cues:
        assert 0.0 <= cue.start_s <= cue.end_s
        assert cue.text.strip()
        assert 1 <= len(cue.text.split("\n")) <= 2
    for earlier, later in pairwise(cues):
        assert earlier.end_s <= later.start_s
    parsed = parse_srt(to_srt(cues))
    assert [(start, end) for start, end, _ in parsed] == [(ms(c.start_s), ms(c.end_s)) for c in cues]
    for (_, end, _), (start, _, _) in pairwise(parsed):
        assert end <= start


@pytest.mark.parametrize("suffix", [".srt", ".vtt", ".SRT"])
def test_write_subtitles_leaves_only_the_finished_file(tmp_path: Path, suffix: str) -> None:
    cues = make_cues(TWO_SENTENCES)
    path = write_subtitles(cues, tmp_path / f"clip{suffix}")
    assert path == tmp_path / f"clip{suffix}"
    assert [p.name for p in tmp_path.iterdir()] == [f"clip{suffix}"]
    expected = to_srt(cues) if suffix.lower() == ".srt" else to_vtt(cues)
    assert path.read_bytes() == expected.encode("utf-8")


def test_write_subtitles_replaces_an_old_file(tmp_path: Path) -> None:
    path = tmp_path / "clip.srt"
    path.write_text("old", encoding="utf-8")
    write_subtitles([Cue(0.0, 1.0, "new")], path)
    assert parse_srt(path.read_text(encoding="utf-8")) == [(0, 1000, "new")]
    assert [p.name for p in tmp_path.iterdir()] == ["clip.srt"]


def test_write_subtitles_refuses_another_suffix(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"clip\.txt must end in \.srt, \.vtt or \.ass\."):
        write_subtitles([], tmp_path / "clip.txt")
    assert list(tmp_path.iterdir()) == []


def test_write_subtitles_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        write_subtitles([], tmp_path / "nowhere" / "clip.vtt")


def test_cue_at_finds_the_cue_on_screen() -> None:
    cues = [Cue(1.0, 2.0, "one"), Cue(2.0, 3.0, "two"), Cue(5.0, 6.0, "three")]
    assert cue_at(cues, 0.5) is None
    assert cue_at(cues, 1.0) == cues[0]
    assert cue_at(cues, 1.999) == cues[0]
    assert cue_at(cues, 2.0) == cues[1]
    assert cue_at(cues, 4.0) is None
    assert cue_at(cues, 5.5) == cues[2]
    assert cue_at(cues, 6.0) is None
    assert cue_at([], 1.0) is None
