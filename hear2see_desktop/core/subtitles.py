"""Subtitle cues from the word times, as SRT or WebVTT text (and looked up for burning in).

Cues follow the usual broadcast habits: at most two lines of about 42 characters, a new cue at a
sentence end or a pause, no cue longer than a few seconds, and a short cue held a little longer
(up to `min_cue_s`) when the next one leaves room, so it can be read. A caption style may ask for other
line lengths and line counts; every subtitle file and the burned-in captions follow the same cues
(files are written by core/subtitle_files.py, ASS text made by core/subtitles_ass.py).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hear2see_desktop.core.transcript import Word

if TYPE_CHECKING:
    from hear2see_desktop.core.caption_style import CaptionStyle

SUBTITLE_SUFFIXES = (".srt", ".vtt", ".ass")

# A word that ends a sentence: . ! ? … (or the CJK full stops), maybe followed by closing quotes/brackets.
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*$")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CueWord:
    """One spoken word of a cue, as it is shown, with its time (for word highlighting and ASS karaoke)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from `start_s` to `end_s` (seconds); `text` is one or two lines joined with "\\n";
    `words` are its words with their times, in order (empty for a cue made without word times)."""

    start_s: float
    end_s: float
    text: str
    words: tuple[CueWord, ...] = field(default=(), compare=False)


def _wrap_greedy(tokens: list[str], width_chars: int) -> list[list[str]]:
    """Fill lines left to right; a token longer than `width_chars` gets a line of its own, whole."""
    lines: list[list[str]] = []
    length = 0
    for token in tokens:
        if lines and length + 1 + len(token) <= width_chars:
            lines[-1].append(token)
            length += 1 + len(token)
        else:
            lines.append([token])
            length = len(token)
    return lines


def wrap_lines(tokens: list[str], max_line_chars: int) -> list[str]:
    """Break at spaces into the fewest lines of at most `max_line_chars`, as even in length as possible.

    Balanced lines read better than a full first line over a stub ("the quick brown fox jumps over
    the lazy" / "dog"): we look for the narrowest width that still needs no more lines than the
    greedy fill at `max_line_chars`.
    """
    if not tokens:
        return []
    widest_token = max(len(token) for token in tokens)
    limit = max(max_line_chars, widest_token)
    line_count = len(_wrap_greedy(tokens, limit))
    for width_chars in range(widest_token, limit + 1):
        lines = _wrap_greedy(tokens, width_chars)
        if len(lines) <= line_count:
            return [" ".join(line) for line in lines]
    return [" ".join(line) for line in _wrap_greedy(tokens, limit)]  # not reached: `limit` always fits


def _clean(text: str) -> str:
    """One word as it goes on screen: no line breaks or runs of spaces inside it."""
    return _WHITESPACE.sub(" ", text).strip()


def _group_words(
    words: list[Word], max_line_chars: int, max_lines: int, max_cue_s: float, pause_s: float
) -> list[list[tuple[str, Word]]]:
    """Split the words into runs that each make one cue (see `make_cues` for the rules)."""
    groups: list[list[tuple[str, Word]]] = []
    current: list[tuple[str, Word]] = []
    for word in words:
        token = _clean(word.word)
        if not token:
            continue
        if current:
            previous = current[-1][1]
            tokens = [t for t, _ in current] + [token]
            if (
                _SENTENCE_END.search(current[-1][0])
                or word.start - previous.end >= pause_s
                or word.end - current[0][1].start > max_cue_s
                or len(_wrap_greedy(tokens, max_line_chars)) > max_lines
            ):
                groups.append(current)
                current = []
        current.append((token, word))
    if current:
        groups.append(current)
    return groups


def make_cues(
    words: list[Word],
    max_line_chars: int = 42,
    max_lines: int = 2,
    max_cue_s: float = 6.0,
    pause_s: float = 0.7,
    min_cue_s: float = 0.8,
) -> list[Cue]:
    """Group recognised words into readable subtitle cues.

    A new cue starts after sentence-end punctuation, at a pause of `pause_s` or more, or when adding
    the word would need more than `max_lines` lines of `max_line_chars` (broken at spaces, balanced)
    or make the cue longer than `max_cue_s`. A cue runs from its first word's start to its last
    word's end, held up to `min_cue_s` when the next cue starts later. Times are clamped so they are
    never negative and cues never go backwards or overlap, even when the word times do.
    """
    groups = _group_words(words, max_line_chars, max_lines, max_cue_s, pause_s)
    starts_s: list[float] = []
    ends_s: list[float] = []
    previous_end_s = 0.0
    for group in groups:
        start_s = max(group[0][1].start, previous_end_s)
        end_s = max(max(word.end for _, word in group), start_s)
        starts_s.append(start_s)
        ends_s.append(end_s)
        previous_end_s = end_s
    cues: list[Cue] = []
    for index, group in enumerate(groups):
        next_start_s = starts_s[index + 1] if index + 1 < len(groups) else float("inf")
        end_s = max(ends_s[index], min(starts_s[index] + min_cue_s, next_start_s))
        text = "\n".join(wrap_lines([token for token, _ in group], max_line_chars))
        words_shown = tuple(CueWord(token, word.start, word.end) for token, word in group)
        cues.append(Cue(starts_s[index], end_s, text, words_shown))
    return cues


def styled_cues(words: list[Word], style: CaptionStyle) -> list[Cue]:
    """The cues of a caption style: its characters per line and lines per cue, the other rules as usual."""
    return make_cues(words, max_line_chars=style.max_chars, max_lines=style.max_lines)


def word_at(cue: Cue, time_s: float) -> int | None:
    """The index of the cue's word being spoken at `time_s`: the last one begun (held through the pause after
    it), None before the first."""
    index = bisect_right(cue.words, time_s, key=lambda word: word.start_s) - 1
    return index if index >= 0 else None


def _milliseconds(time_s: float) -> int:
    return max(0, round(time_s * 1000))


def _timestamp(time_s: float, separator: str) -> str:
    """HH:MM:SS,mmm (SRT) or HH:MM:SS.mmm (WebVTT); hours grow past two digits if they must."""
    hours, rest = divmod(_milliseconds(time_s), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def shown_lines(text: str) -> list[str]:
    """The cue's lines as a parser will read them back: no blank lines (they end a cue), no "-->"."""
    lines = (_clean(line).replace("-->", "->") for line in text.splitlines())
    return [line for line in lines if line]


def _escape_vtt(line: str) -> str:
    """WebVTT reads & and < as markup, so they are written as character references."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(cues: list[Cue]) -> str:
    """SubRip text: numbered from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each cue.

    Cues with no visible text are left out (a blank cue would end the block early in most players).
    """
    blocks: list[str] = []
    for cue in cues:
        lines = shown_lines(cue.text)
        if not lines:
            continue
        timing = f"{_timestamp(cue.start_s, ',')} --> {_timestamp(cue.end_s, ',')}"
        blocks.append("\n".join([str(len(blocks) + 1), timing, *lines]) + "\n\n")
    return "".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    """WebVTT text: the `WEBVTT` header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues with escaped text."""
    blocks = ["WEBVTT\n\n"]
    for cue in cues:
        lines = [_escape_vtt(line) for line in shown_lines(cue.text)]
        if not lines:
            continue
        timing = f"{_timestamp(cue.start_s, '.')} --> {_timestamp(cue.end_s, '.')}"
        blocks.append("\n".join([timing, *lines]) + "\n\n")
    return "".join(blocks)


def cue_at(cues: list[Cue], time_s: float) -> Cue | None:
    """The cue on screen at `time_s` (start inclusive, end exclusive), or None; cues must be in time order."""
    index = bisect_right(cues, time_s, key=lambda cue: cue.start_s) - 1
    if index >= 0 and time_s < cues[index].end_s:
        return cues[index]
    return None
