"""Carrying subjects from scene to scene, so "the fox" and "it" stay "a red fox" in every prompt.

A scene's prompt is built from its own words only, so without help scene 3 of "A red fox runs
through the snowy forest. It stops at a frozen river. Then it jumps across the ice." would show
just ice. `SubjectMemory` reads each scene in turn with the prompt builder's own extraction and
keeps, for each subject noun ("fox"), its latest fullest description ("red fox"):

- a mention whose adjectives are all in the remembered description ("the fox", "foxes") takes
  that description ("red fox", "red foxes"; a number such as "two" is not carried onto another
  form of the noun); a different description ("a grey fox") replaces the remembered one;
- a scene with no subject of its own that says it, he, she, they, him, her, them, its, his or
  their gets the main subject of the latest scene that had one, with the action straight after
  the pronoun when the lexicon knows it ("it jumps" -> "red fox jumps"). Pronouns are not matched
  by gender or number: the latest main subject is the best guess without a parser.
"""

from __future__ import annotations

from dataclasses import dataclass

from hear2see_desktop.core.prompt.extract import Term, visual_terms
from hear2see_desktop.core.prompt.fillers import drop_fillers
from hear2see_desktop.core.prompt.lexicon import Lexicon, load_lexicon
from hear2see_desktop.core.prompt.tokenise import Token, tokenise

PRONOUNS = frozenset({"it", "he", "she", "they", "him", "her", "them", "its", "his", "their"})
"""Words that point back at a subject named in an earlier scene."""


@dataclass(frozen=True)
class _Description:
    """How a subject was last described in full: its adjectives and the noun as said."""

    modifiers: tuple[str, ...]
    head_words: tuple[str, ...]


class SubjectMemory:
    """The subjects named so far; `subjects_for` reads the scenes in order, one call each."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self._lex = lexicon or load_lexicon()
        self._known: dict[str, _Description] = {}
        self._latest: _Description | None = None  # the main subject of the latest scene with one

    def subjects_for(self, text: str) -> list[str] | None:
        """The subject phrases for this scene's prompt (main first), or None to leave it as is.

        Remembers this scene's subjects for the scenes after it.
        """
        tokens = drop_fillers(tokenise(text), self._lex)
        own = [t for t in visual_terms(tokens, self._lex) if t.kind == "subject"]
        if own:
            described = [self._described(term) for term in own]
            phrases = [_phrase(d, term.action) for d, term in zip(described, own, strict=True)]
            for term in own:
                self._remember(term)
            self._latest = described[0]
            return phrases if phrases != [term.text for term in own] else None
        pronoun_at = next((i for i, t in enumerate(tokens) if t.is_word and t.key in PRONOUNS), None)
        if self._latest is None or pronoun_at is None:
            return None
        return [_phrase(self._latest, self._action_after(tokens, pronoun_at))]

    def _described(self, term: Term) -> _Description:
        """The remembered description when this mention adds nothing to it, else the mention's own."""
        known = self._known.get(term.head)
        if known is None or not set(term.modifiers) <= set(known.modifiers):
            return _Description(term.modifiers, term.head_words)
        modifiers = known.modifiers
        if known.head_words != term.head_words:  # "two wolves" then "a wolf": the number stays behind
            modifiers = tuple(m for m in modifiers if not self._is_count(m))
        return _Description(modifiers, term.head_words)

    def _remember(self, term: Term) -> None:
        known = self._known.get(term.head)
        if known is None or not set(term.modifiers) <= set(known.modifiers):
            self._known[term.head] = _Description(term.modifiers, term.head_words)

    def _is_count(self, word: str) -> bool:
        found = self._lex.lookup((word,))
        return found is not None and found[0].adjective == "count"

    def _action_after(self, tokens: list[Token], pronoun_at: int) -> str | None:
        """The lexicon action said right after the pronoun ("it jumps", "it is running"), if any."""
        for tok in tokens[pronoun_at + 1 :]:
            if not tok.is_word:
                return None
            if tok.key in self._lex.aux:
                continue
            found = self._lex.lookup((tok.key,))
            return tok.key if found is not None and found[0].action else None
        return None


def _phrase(described: _Description, action: str | None) -> str:
    return " ".join((*described.modifiers, *described.head_words, *((action,) if action else ())))


def carry_subjects(texts: list[str]) -> list[list[str] | None]:
    """For each scene's text in order, the subject phrases its prompt should use (None: its own)."""
    memory = SubjectMemory()
    return [memory.subjects_for(text) for text in texts]
