"""Word and character error rates: how far recognised text is from what was said (tests, benchmarks, metrics).

Character error rate suits languages such as Korean, where one wrong ending makes a whole word wrong.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w']+")


def normalise_words(text: str) -> list[str]:
    """Lower-case words without punctuation ("Sunset." -> "sunset", "round-fox" -> "round", "fox")."""
    words = (token.strip("'") for token in _NOT_WORD.split(text.lower()))
    return [word for word in words if word]


def normalise_characters(text: str) -> list[str]:
    """Lower-case letters and digits only: spaces and punctuation do not count ("Sun-set." -> s,u,n,s,e,t)."""
    return [ch for ch in text.lower() if ch.isalnum()]


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between two token lists (substitutions, deletions and insertions all cost 1)."""
    previous = list(range(len(hyp) + 1))
    for i, ref_token in enumerate(ref, start=1):
        current = [i]
        for j, hyp_token in enumerate(hyp, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_token != hyp_token),  # substitution or match
                )
            )
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level Levenshtein distance.

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    return _error_rate(normalise_words(reference), normalise_words(hypothesis))


def character_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference characters, ignoring spaces and punctuation.

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    return _error_rate(normalise_characters(reference), normalise_characters(hypothesis))


def _error_rate(ref: list[str], hyp: list[str]) -> float:
    """Edit distance per reference token; an empty reference: 0.0 for an empty hypothesis, else 1.0."""
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(ref, hyp) / len(ref)
