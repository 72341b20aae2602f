"""Cutting a narration into scenes at its sentence and clause boundaries, from the word times.

Each gap between two words is a candidate cut, placed in the middle of the pause, with a strength
(the constants below): sentence punctuation on the word before it is the strongest, clause
punctuation next; Vosk writes no punctuation, so a pause of `PAUSE_MIN_S` or more counts as a
boundary too (longer is stronger), and so does a clause-opening word after it ("then", "but",
"and then"). A small dynamic programme picks the cuts with the largest total strength, less
`CUT_COST` per cut, such that every scene lasts from `min_scene_s` to `max_scene_s`. Weak or no
boundaries are used only when a scene would otherwise be too long; when there is no gap between
words where it is needed (one very long word, a long silence) a forced cut on an even split or a
grid keeps every scene within the limits.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.transcript import Word

SENTENCE_END = 3.0
"""A '.', '!', '?' or '…' ends the word before the cut."""
CLAUSE_MARK = 1.2
"""A ',', ';', ':' or dash ends the word before the cut: a cut pays a little (CLAUSE_MARK - CUT_COST)."""
PAUSE_MIN_S = 0.35
"""A silence this long between words is a boundary even with no punctuation (Vosk's case)."""
PAUSE_AT_MIN = 1.5
"""The strength of a `PAUSE_MIN_S` pause: as good as a comma, so a pause alone makes a cut."""
PAUSE_PER_S = 1.5
"""Each second of pause beyond `PAUSE_MIN_S` adds this much, up to `PAUSE_MAX_BONUS`."""
PAUSE_MAX_BONUS = 1.5
"""A pause of PAUSE_MIN_S + 1 s or more is as strong as a sentence end."""
CLAUSE_WORD = 0.75
"""The next word opens a clause ("then", "but", "and then"): alone it does not pay for a cut,
but it decides where a forced cut goes and adds to a pause."""
JOINING_WORD = -1.0
"""The word before the cut is an article, preposition or conjunction ("the | fox", "and | then")."""
CUT_COST = 1.0
"""What every cut costs, so only boundaries worth a scene change make one."""
FORCED_IN_SILENCE = -2.0
"""A cut that is not the middle of a pause between two words: in a long silence at the start or
end, or a second cut inside one long silence."""
FORCED_IN_WORD = -10.0
"""A cut inside a word: only when a single word outlasts the longest scene."""
EVEN_WEIGHT = 0.1
"""Each scene costs EVEN_WEIGHT * (length / max_scene_s)**2: a tie-breaker that makes forced
cuts fall near an even split; far too small to outweigh any boundary."""

_EPS_S = 1e-9
_MAX_GRID_POINTS = 2000
_SENTENCE_RE = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*$")
_CLAUSE_RE = re.compile(r"[,;:\u2013\u2014]+[\"'\u201d\u2019)\]]*$|\s-+$")
_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
CLAUSE_STARTS = frozenset({
    "then", "but", "so", "when", "after", "later", "meanwhile", "suddenly", "finally", "while", "until",
    "because", "afterwards", "now", "soon", "eventually", "once",
})
"""Words that open a new clause when they come first, so a cut before them reads naturally."""
_LEADS_INTO = frozenset({"and", "but", "or"})  # "and then", "but suddenly": the cut goes before "and"
_JOINING = frozenset({
    "a", "an", "the", "and", "but", "or", "of", "to", "in", "on", "at", "with", "by", "for", "from", "into",
    "onto", "over", "under", "through", "my", "your", "his", "its", "our", "their", "is", "are", "was",
    "were",
})

Span = tuple[float, float, list[Word]]


def _key(text: str) -> str:
    """The first word of `text` in lower case without punctuation, for matching the word lists."""
    found = _WORD_RE.search(text.lower())
    return found.group() if found else ""


def boundary_strength(before: str, after: str, gap_s: float, after_next: str = "") -> float:
    """How good a scene change between the words `before` and `after` is, `gap_s` apart.

    0 for two words of one phrase; see the constants for each part. `after_next` is the word
    after `after`, so "and then" counts as a clause opening before "and".
    """
    text = before.strip()
    strength = 0.0
    punctuated = True
    if _SENTENCE_RE.search(text):
        strength += SENTENCE_END
    elif _CLAUSE_RE.search(text):
        strength += CLAUSE_MARK
    else:
        punctuated = False
    if gap_s >= PAUSE_MIN_S:
        strength += PAUSE_AT_MIN + min((gap_s - PAUSE_MIN_S) * PAUSE_PER_S, PAUSE_MAX_BONUS)
    nxt = _key(after)
    if nxt in CLAUSE_STARTS or (nxt in _LEADS_INTO and _key(after_next) in CLAUSE_STARTS):
        strength += CLAUSE_WORD
    if not punctuated and _key(text) in _JOINING:
        strength += JOINING_WORD
    return strength


def _check(duration_s: float, min_scene_s: float, max_scene_s: float) -> None:
    if not (isinstance(min_scene_s, (int, float)) and math.isfinite(min_scene_s) and min_scene_s > 0):
        raise BadInputError(f"The shortest scene length must be more than 0 s, not {min_scene_s} s.")
    if not (isinstance(max_scene_s, (int, float)) and math.isfinite(max_scene_s) and max_scene_s >= 2 * min_scene_s):
        raise BadInputError(
            f"The longest scene length ({max_scene_s} s) must be at least twice the shortest ({min_scene_s} s), "
            "so that any narration can be cut into scenes."
        )
    if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s) and duration_s > 0):
        raise BadInputError(f"The narration must last more than 0 s to be cut into scenes, not {duration_s} s.")


def _clamped(words: Sequence[Word], duration_s: float) -> list[tuple[float, float, Word]]:
    """(start, end, word) in time order, times inside [0, duration_s] with end >= start."""
    timed = []
    for word in sorted(words, key=lambda w: (w.start, w.end)):
        start = min(max(float(word.start), 0.0), duration_s)
        end = min(max(float(word.end), start), duration_s)
        timed.append((start, end, word))
    return timed


def _candidates(timed: list[tuple[float, float, Word]], duration_s: float,
                min_scene_s: float, max_scene_s: float) -> dict[float, float]:
    """Cut time -> score (strength less CUT_COST) for every place a cut may go, forced ones included."""
    scores: dict[float, float] = {}
    for i in range(1, len(timed)):
        before, after = timed[i - 1], timed[i]
        cut_s = (before[1] + after[0]) / 2
        if not 0.0 < cut_s < duration_s:
            continue
        after_next = timed[i + 1][2].word if i + 1 < len(timed) else ""
        score = boundary_strength(before[2].word, after[2].word, after[0] - before[1], after_next) - CUT_COST
        scores[cut_s] = max(score, scores.get(cut_s, -math.inf))
    spans = _merged_word_spans(timed)
    starts = [s for s, _ in spans]
    forced: list[float] = []
    step_s = max(min_scene_s / 2, duration_s / _MAX_GRID_POINTS)  # a grid for forced cuts, never huge
    forced += [k * step_s for k in range(1, math.ceil(duration_s / step_s))]
    parts = math.ceil(duration_s / max_scene_s)
    forced += [duration_s * k / parts for k in range(1, parts)]
    for cut_s in forced:
        if not 0.0 < cut_s < duration_s or cut_s in scores:
            continue
        n = bisect_right(starts, cut_s) - 1
        inside = n >= 0 and spans[n][0] < cut_s < spans[n][1]
        scores[cut_s] = FORCED_IN_WORD if inside else FORCED_IN_SILENCE
    return scores


def _merged_word_spans(timed: list[tuple[float, float, Word]]) -> list[tuple[float, float]]:
    """The times covered by speech, overlapping words merged."""
    spans: list[tuple[float, float]] = []
    for start, end, _ in timed:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _best_cuts(scores: dict[float, float], duration_s: float, min_scene_s: float, max_scene_s: float) -> list[float]:
    """The scene edges, 0 and duration_s included, that maximise the total score within the limits."""
    points = [0.0, *sorted(t for t in scores if min_scene_s - _EPS_S <= t <= duration_s - min_scene_s + _EPS_S),
              duration_s]
    gain = [0.0, *(scores[t] for t in points[1:-1]), 0.0]
    best = [-math.inf] * len(points)
    back = [-1] * len(points)
    best[0] = 0.0
    for j in range(1, len(points)):
        lo = bisect_left(points, points[j] - max_scene_s - _EPS_S, 0, j)
        hi = bisect_right(points, points[j] - min_scene_s + _EPS_S, 0, j)
        for i in range(lo, hi):
            if best[i] == -math.inf:
                continue
            value = best[i] + gain[j] - EVEN_WEIGHT * ((points[j] - points[i]) / max_scene_s) ** 2
            if value > best[j]:
                best[j], back[j] = value, i
    if back[-1] < 0:  # cannot happen: the even split is always a candidate path
        raise AssertionError("no way to cut the narration into scenes within the limits")
    edges = [duration_s]
    j = len(points) - 1
    while j > 0:
        j = back[j]
        edges.append(points[j])
    return edges[::-1]


def split_scenes(
    words: list[Word], duration_s: float, min_scene_s: float = 2.0, max_scene_s: float = 8.0
) -> list[Span]:
    """Contiguous (start_s, end_s, words) spans covering exactly [0, duration_s], cut at boundaries.

    Every span lasts from `min_scene_s` to `max_scene_s`, except that a clip shorter than
    `min_scene_s` is one span. A word belongs to the span holding its middle. `max_scene_s` must
    be at least twice `min_scene_s`: then every length can be cut within the limits.
    Raises BadInputError for a length or limit that is not a positive number.
    """
    _check(duration_s, min_scene_s, max_scene_s)
    duration_s = float(duration_s)
    timed = _clamped(words, duration_s)
    if duration_s <= min_scene_s:
        return [(0.0, duration_s, [w for _, _, w in timed])]
    edges = _best_cuts(_candidates(timed, duration_s, min_scene_s, max_scene_s), duration_s, min_scene_s,
                       max_scene_s)
    spans: list[Span] = [(edges[k], edges[k + 1], []) for k in range(len(edges) - 1)]
    inner = edges[1:-1]
    for start, end, word in timed:
        spans[bisect_right(inner, (start + end) / 2)][2].append(word)
    return spans


def split_at(strengths: dict[float, float], duration_s: float, min_scene_s: float = 2.0,
             max_scene_s: float = 8.0) -> list[float]:
    """Scene edges, 0 and `duration_s` included, for a take without words: cuts where `strengths` (time ->
    boundary strength, on the same scale as the word boundaries') pay for themselves, forced ones in between
    where a scene would last longer than `max_scene_s`; every scene within the limits as for `split_scenes`."""
    _check(duration_s, min_scene_s, max_scene_s)
    duration_s = float(duration_s)
    if duration_s <= min_scene_s:
        return [0.0, duration_s]
    scores = _candidates([], duration_s, min_scene_s, max_scene_s)
    for cut_s, strength in strengths.items():
        if 0.0 < cut_s < duration_s:
            scores[float(cut_s)] = max(strength - CUT_COST, scores.get(float(cut_s), -math.inf))
    return _best_cuts(scores, duration_s, min_scene_s, max_scene_s)
