"""Word error rate: how far recognised text is from what was said (for tests, benchmarks and metrics)."""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w']+")


def normalise_words(text: str) -> list[str]:
    """Lower-case words without punctuation ("Sunset." -> "sunset", "round-fox" -> "round", "fox")."""
    words = (token.strip("'") for token in _NOT_WORD.split(text.lower()))
    return [word for word in words if word]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level Levenshtein distance.

    An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
    """
    ref = normalise_words(reference)
    hyp = normalise_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(
                min(
                    previous[j] + 1,  # deletion
                    current[j - 1] + 1,  # insertion
                    previous[j - 1] + (ref_word != hyp_word),  # substitution or match
                )
            )
        previous = current
    return previous[-1] / len(ref)
