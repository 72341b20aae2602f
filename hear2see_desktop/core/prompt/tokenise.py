"""Split narration into word, pause and sentence-end tokens, normalised for matching.

Not CLIP's tokens (those are counted in `tokens.py`): these are the words the builder reads.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CLITICS_RE = re.compile(r"^(.+?)('(?:s|re|m|ll|ve|d))$", re.IGNORECASE)
_TOKEN_RE = re.compile(
    r"(?P<word>[^\W_]+(?:[-'][^\W_]+)*)"
    r"|(?P<stop>[.!?\u2026]+)"
    r"|(?P<comma>[,;:()\[\]{}\u2013\u2014]+|(?<!\S)-+(?!\S))"
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


@dataclass(frozen=True)
class Token:
    """One word, pause or sentence end of the narration."""

    kind: str  # "word", "comma" (a pause inside a sentence) or "stop" (end of a sentence)
    text: str  # as written, for the cleaned text
    key: str = ""  # lower case, for matching
    attach: bool = False  # a clitic ("'s") written without a space before it

    @property
    def is_word(self) -> bool:
        return self.kind == "word"


def tokenise(text: str) -> list[Token]:
    """The narration as tokens, after Unicode and quote normalisation; clitics split off ("fox's")."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        if match.lastgroup == "word":
            clitic = _CLITICS_RE.match(match.group())
            parts = [clitic.group(1), clitic.group(2)] if clitic else [match.group()]
            for n, part in enumerate(parts):
                tokens.append(Token("word", part, part.lower(), attach=n > 0))
        elif match.lastgroup == "stop":
            tokens.append(Token("stop", match.group()))
        else:
            tokens.append(Token("comma", ","))
    return tokens
