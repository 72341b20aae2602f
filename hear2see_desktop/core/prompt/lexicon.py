"""The hand-made word lexicon in `resources/prompt/lexicon.json`: word classes, plurals, filler lists.

`load_lexicon()` reads it once; `Lexicon.lookup` finds a phrase's entry, singular forms included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.paths import resource_path

_NOUN_GROUPS = (("subject", "subjects"), ("object", "objects"), ("place", "places"),
                ("time", "time_of_day"), ("weather", "weather"))


@dataclass(frozen=True)
class Entry:
    """What a lexicon word can be; several roles at once are normal ("light", "rose")."""

    noun: str | None = None  # subject, object, place, time, weather
    adjective: str | None = None  # mood, colour, visual, weather, count
    action: bool = False


@dataclass(frozen=True)
class Lexicon:
    """Every word list the prompt builder matches against, lower case."""

    entries: dict[str, Entry]
    irregular_plurals: dict[str, str]
    max_words: int
    filler_words: frozenset[str]
    filler_phrases: tuple[tuple[str, ...], ...]
    discourse_markers: frozenset[str]
    like_verb_after: frozenset[str]
    be_forms: frozenset[str]
    determiners: frozenset[str]
    clause_conjunctions: frozenset[str]
    aux: frozenset[str]
    stopwords: frozenset[str]

    def lookup(self, words: tuple[str, ...]) -> tuple[Entry, str] | None:
        """The entry for a phrase and its lexicon form (singular), or None."""
        phrase = " ".join(words)
        entry = self.entries.get(phrase)
        if entry is not None:
            return entry, phrase
        for single in self._singulars(words[-1]):
            canonical = " ".join((*words[:-1], single))
            entry = self.entries.get(canonical)
            if entry is not None and entry.noun:
                return entry, canonical
        if len(words) == 1 and phrase.isdecimal():  # "3 wolves"
            return Entry(adjective="count"), phrase
        if len(words) == 1 and "-" in phrase:  # "snow-covered", "sea-turtle"
            tail = phrase.rsplit("-", 1)[1]
            found = self.lookup((tail,))
            if found is not None and (found[0].noun or found[0].adjective):
                return found[0], phrase if found[0].adjective else found[1]
            if tail.endswith("ed"):
                return Entry(adjective="visual"), phrase
        return None

    def _singulars(self, word: str) -> Iterable[str]:
        if word in self.irregular_plurals:
            yield self.irregular_plurals[word]
        if word.endswith("s") and not word.endswith("ss"):
            yield word[:-1]
            if word.endswith("es"):
                yield word[:-2]
            if word.endswith("ies"):
                yield word[:-3] + "y"
            if word.endswith("ves"):
                yield word[:-3] + "f"
                yield word[:-3] + "fe"


def _word_list(value: Any, where: str) -> list[str]:
    """Flatten a list, or a dict of lists, of words into normalised lower-case phrases."""
    groups = value.values() if isinstance(value, dict) else [value]
    words: list[str] = []
    for group in groups:
        if not isinstance(group, list) or not all(isinstance(w, str) and w.strip() for w in group):
            raise Hear2SeeError(f"The prompt lexicon is broken: '{where}' must hold lists of words.")
        words.extend(" ".join(w.lower().split()) for w in group)
    return words


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The lexicon from `resources/prompt/lexicon.json`, read once; Hear2SeeError if it is broken."""
    path = resource_path("prompt", "lexicon.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        nouns: dict[str, str] = {}
        for role, key in _NOUN_GROUPS:
            for word in _word_list(data[key], key):
                nouns.setdefault(word, role)
        adjectives: dict[str, str] = {}
        for kind, words in data["adjectives"].items():
            for word in _word_list(words, f"adjectives.{kind}"):
                adjectives.setdefault(word, kind)
        actions = set(_word_list(list(data["actions"]), "actions"))
        actions.update(_word_list(data["actions"], "actions"))
        entries = {
            word: Entry(nouns.get(word), adjectives.get(word), word in actions)
            for word in (*nouns, *adjectives, *actions)
        }
        fillers = data["fillers"]
        context = data["filler_context"]
        return Lexicon(
            entries=entries,
            irregular_plurals={str(k).lower(): str(v).lower() for k, v in data["irregular_plurals"].items()},
            max_words=max(len(word.split()) for word in entries),
            filler_words=frozenset(_word_list(fillers["words"], "fillers.words")),
            filler_phrases=tuple(tuple(p.split()) for p in _word_list(fillers["phrases"], "fillers.phrases")),
            discourse_markers=frozenset(_word_list(fillers["discourse_markers"], "fillers")),
            like_verb_after=frozenset(_word_list(context["like_verb_after"], "filler_context")),
            be_forms=frozenset(_word_list(context["be_forms"], "filler_context")),
            determiners=frozenset(_word_list(context["determiners"], "filler_context")),
            clause_conjunctions=frozenset(_word_list(context["clause_conjunctions"], "filler_context")),
            aux=frozenset(_word_list(data["aux"], "aux")),
            stopwords=frozenset(_word_list(data["stopwords"], "stopwords")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise Hear2SeeError(f"The prompt lexicon {path} cannot be read: {error!r}.") from error
