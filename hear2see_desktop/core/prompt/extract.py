"""Picking visual terms from cleaned narration: noun phrases, with their adjectives, or lone moods.

Lexicon words give subjects ("red fox runs"), objects, places, time, weather and mood; with no
lexicon match, runs of content words are the terms instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from hear2see_desktop.core.prompt.kinds import PROMPT_ORDER
from hear2see_desktop.core.prompt.lexicon import Entry, Lexicon
from hear2see_desktop.core.prompt.tokenise import Token

_COMPOUND_MODIFIERS = frozenset({"object", "place"})  # "mountain lake", "stone bridge", "city street"
_STANDALONE_ADJECTIVES = {"mood": "mood", "weather": "weather"}  # a lone "golden" is usually "golden eyes"
_MAX_MODIFIER_WORDS = 4
_MAX_RUN_WORDS = 4


@dataclass(frozen=True)
class _Unit:
    """One lexicon match (or one unknown word, or a pause) in the cleaned narration."""

    words: tuple[str, ...] = ()
    entry: Entry | None = None
    canonical: str = ""
    boundary: bool = False


@dataclass
class Term:
    """One visual term: a noun phrase, a lone adjective or a content-word run, with its mentions."""

    kind: str
    head: str  # the lexicon form of the noun, for merging "fox" with "red fox"
    head_words: tuple[str, ...]
    modifiers: tuple[str, ...] = ()
    action: str | None = None
    count: int = 1
    first: int = 0

    @property
    def text(self) -> str:
        return " ".join((*self.modifiers, *self.head_words, *((self.action,) if self.action else ())))


def _units(tokens: list[Token], lex: Lexicon) -> list[_Unit]:
    units: list[_Unit] = []
    i = 0
    while i < len(tokens):
        if not tokens[i].is_word:
            units.append(_Unit(boundary=True))
            i += 1
            continue
        for n in range(min(lex.max_words, len(tokens) - i), 0, -1):
            span = tokens[i : i + n]
            if all(t.is_word for t in span):
                words = tuple(t.key for t in span)
                found = lex.lookup(words)
                if found is not None or n == 1:
                    entry, canonical = found if found is not None else (None, words[0])
                    units.append(_Unit(words, entry, canonical))
                    i += n
                    break
    return units


def _leads_to_noun(units: list[_Unit], j: int) -> bool:
    """Whether a run of adjectives starting at `j` ends on a noun, so an adjective before it attaches."""
    while j < len(units) and units[j].entry is not None:
        if units[j].entry.noun:
            return True
        if not units[j].entry.adjective:
            return False
        j += 1
    return False


class _Collector:
    """Gathers noun phrases and lone adjectives, merging repeats ("a fox ... the red fox")."""

    def __init__(self) -> None:
        self.phrases: list[Term] = []
        self.lone: dict[str, Term] = {}
        self.order = 0

    def _next(self) -> int:
        self.order += 1
        return self.order

    def phrase(self, pending: list[_Unit], noun: _Unit) -> Term:
        modifiers = tuple(dict.fromkeys(w for u in pending for w in u.words))[-_MAX_MODIFIER_WORDS:]
        new = Term(noun.entry.noun or "object", noun.canonical, noun.words, modifiers, first=self._next())
        for term in self.phrases:
            if term.kind != new.kind or term.head != new.head:
                continue
            if set(new.modifiers) <= set(term.modifiers):
                term.count += 1
                return term
            if set(term.modifiers) < set(new.modifiers):
                term.modifiers, term.head_words = new.modifiers, new.head_words
                term.count += 1
                return term
        self.phrases.append(new)
        return new

    def lone_adjectives(self, units: list[_Unit]) -> None:
        for unit in units:
            kind = _STANDALONE_ADJECTIVES.get(unit.entry.adjective or "") if unit.entry else None
            if kind is None:
                continue  # "it was big" says little on its own; counts need a noun
            text = " ".join(unit.words)
            if text in self.lone:
                self.lone[text].count += 1
            else:
                self.lone[text] = Term(kind, text, unit.words, first=self._next())

    def terms(self) -> list[Term]:
        used = {w for t in self.phrases for w in t.modifiers}
        lone = [t for t in self.lone.values() if t.head not in used]
        return _by_importance(self.phrases + lone)


def _by_importance(terms: list[Term]) -> list[Term]:
    return sorted(terms, key=lambda t: (PROMPT_ORDER.index(t.kind), -t.count, t.first))


def visual_terms(tokens: list[Token], lex: Lexicon) -> list[Term]:
    """The lexicon's terms in the narration, by kind, then most mentioned, then earliest."""
    units = _units(tokens, lex)
    found = _Collector()
    pending: list[_Unit] = []
    last_phrase: Term | None = None
    for i, unit in enumerate(units):
        entry = unit.entry
        if unit.boundary or entry is None:
            if entry is None and last_phrase is not None and not pending and unit.canonical in lex.aux:
                continue  # "the fox is running": the action still belongs to the fox
            found.lone_adjectives(pending)
            pending, last_phrase = [], None
            continue
        if entry.action and last_phrase is not None and not pending:
            if last_phrase.kind == "subject" and last_phrase.action is None:
                last_phrase.action = unit.words[-1]
            last_phrase = None
            continue
        if entry.adjective and _leads_to_noun(units, i + 1):
            pending.append(unit)
            continue
        if entry.noun:
            after = units[i + 1].entry if i + 1 < len(units) else None
            if (entry.noun in _COMPOUND_MODIFIERS and after is not None and not after.action
                    and after.noun in _COMPOUND_MODIFIERS):
                pending.append(unit)
                continue
            last_phrase = found.phrase(pending, unit)
            pending = []
            continue
        found.lone_adjectives([*pending, unit])
        pending, last_phrase = [], None
    found.lone_adjectives(pending)
    return found.terms()


def content_runs(tokens: list[Token], lex: Lexicon) -> list[Term]:
    """The fallback when no lexicon word matched: runs of non-stopwords, at most four words each."""
    runs: dict[str, Term] = {}
    run: list[str] = []

    def flush() -> None:
        for start in range(0, len(run), _MAX_RUN_WORDS):
            words = tuple(run[start : start + _MAX_RUN_WORDS])
            text = " ".join(words)
            if text in runs:
                runs[text].count += 1
            else:
                runs[text] = Term("content", text, words, first=len(runs))
        run.clear()

    for tok in tokens:
        if tok.is_word and tok.key not in lex.stopwords and tok.key not in lex.filler_words:
            run.append(tok.key)
        else:
            flush()
    flush()
    return sorted(runs.values(), key=lambda t: t.first)
