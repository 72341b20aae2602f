"""Turn spoken narration into a Stable Diffusion prompt that fits SD-1.5's 77 CLIP tokens.

This is the paper's heuristic NLP stage without a model or a download, so it runs offline and
gives the same prompt for the same text every time (a run record can rebuild it):

1. normalise: Unicode, quotes, punctuation and whitespace; words are matched in lower case;
2. drop fillers: "um", "uh", "you know", "I mean", filler "like" (but not "I like foxes" or
   "looks like a fox"), and a leading "so" / "well" / "okay" in each sentence;
3. pick visual terms with the hand-made lexicon in `resources/prompt/lexicon.json`: subjects
   (with an action that directly follows, "fox runs"), objects, places, time of day, weather,
   mood; adjectives in front of a noun stay with it ("red fox", "snowy forest"). When nothing
   in the lexicon matches, the content words of the text are used instead;
4. assemble: subjects, objects, places, time, weather, mood, then the style's medium, lighting
   and camera modifiers, comma separated;
5. fit the limit (`max_tokens` includes CLIP's start and end markers, so 75 are left for words).
   Each term, a content phrase or one style modifier, is whole: it is kept or dropped, never cut.
   Terms are admitted by importance, "one of each kind before a second of any kind": the first
   subject, the first style medium, the first object, place, time, weather, lighting, mood and
   camera term; then the second of each in the same order, and so on. Within a kind, terms
   mentioned more often come first, then earlier ones. A term that would overflow the prompt is
   dropped and reported; a later, shorter one may still use the room left. The negative prompt
   is fitted the same way, its comma-separated parts in their given order.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Hear2SeeError
from hear2see_desktop.core.paths import resource_path
from hear2see_desktop.core.prompt.styles import Style, load_style
from hear2see_desktop.core.prompt.tokens import CLIP_MAX_TOKENS, SPECIAL_TOKENS, clip_token_count
from hear2see_desktop.core.transcript import Transcript

DEFAULT_NEGATIVE = (
    "text, watermark, signature, lowres, blurry, jpeg artifacts, deformed, disfigured, bad anatomy, "
    "extra limbs, cropped, worst quality, low quality"
)
"""Added to every render unless the caller passes its own; the style's extra negatives follow."""

NEGATIVE_DROPPED_PREFIX = "negative: "
"""Marks a dropped negative-prompt part in `PromptResult.dropped`, to tell it from prompt terms."""

_NOUN_GROUPS = (("subject", "subjects"), ("object", "objects"), ("place", "places"),
                ("time", "time_of_day"), ("weather", "weather"))
_CONTENT_KINDS = ("content", "subject", "object", "place", "time", "weather", "mood")
_STYLE_KINDS = ("medium", "lighting", "camera")
_PROMPT_ORDER = _CONTENT_KINDS + _STYLE_KINDS
_IMPORTANCE_ORDER = ("content", "subject", "medium", "object", "place", "time", "weather", "lighting",
                     "mood", "camera")
_COMPOUND_MODIFIERS = frozenset({"object", "place"})  # "mountain lake", "stone bridge", "city street"
_STANDALONE_ADJECTIVES = {"mood": "mood", "weather": "weather"}  # a lone "golden" is usually "golden eyes"
_MAX_MODIFIER_WORDS = 4
_MAX_RUN_WORDS = 4
_CLITICS_RE = re.compile(r"^(.+?)('(?:s|re|m|ll|ve|d))$", re.IGNORECASE)
_TOKEN_RE = re.compile(
    r"(?P<word>[^\W_]+(?:[-'][^\W_]+)*)"
    r"|(?P<stop>[.!?\u2026]+)"
    r"|(?P<comma>[,;:()\[\]{}\u2013\u2014]+|(?<!\S)-+(?!\S))"
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})


@dataclass
class PromptResult:
    """What the storyboard shows and the renderer uses: the prompt, negatives and what was left out."""

    prompt: str
    negative_prompt: str
    keywords: list[str]
    style: str
    dropped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The shape saved in run records and project files."""
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "keywords": list(self.keywords),
            "style": self.style,
            "dropped": list(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptResult:
        """Read the `to_dict` shape back; raises KeyError/TypeError on a wrong shape."""
        return cls(
            prompt=str(data["prompt"]),
            negative_prompt=str(data["negative_prompt"]),
            keywords=[str(k) for k in data.get("keywords", [])],
            style=str(data.get("style", "")),
            dropped=[str(d) for d in data.get("dropped", [])],
        )


# --- lexicon ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """What a lexicon word can be; several roles at once are normal ("light", "rose")."""

    noun: str | None = None  # subject, object, place, time, weather
    adjective: str | None = None  # mood, colour, visual, weather, count
    action: bool = False


@dataclass(frozen=True)
class _Lexicon:
    entries: dict[str, _Entry]
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

    def lookup(self, words: tuple[str, ...]) -> tuple[_Entry, str] | None:
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
            return _Entry(adjective="count"), phrase
        if len(words) == 1 and "-" in phrase:  # "snow-covered", "sea-turtle"
            tail = phrase.rsplit("-", 1)[1]
            found = self.lookup((tail,))
            if found is not None and (found[0].noun or found[0].adjective):
                return found[0], phrase if found[0].adjective else found[1]
            if tail.endswith("ed"):
                return _Entry(adjective="visual"), phrase
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
def _lexicon() -> _Lexicon:
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
            word: _Entry(nouns.get(word), adjectives.get(word), word in actions)
            for word in (*nouns, *adjectives, *actions)
        }
        fillers = data["fillers"]
        context = data["filler_context"]
        return _Lexicon(
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


# --- normalising and fillers ------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "comma" (a pause inside a sentence) or "stop" (end of a sentence)
    text: str  # as written, for the cleaned text
    key: str = ""  # lower case, for matching
    attach: bool = False  # a clitic ("'s") written without a space before it

    @property
    def is_word(self) -> bool:
        return self.kind == "word"


def _tokenise(text: str) -> list[_Tok]:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    tokens: list[_Tok] = []
    for match in _TOKEN_RE.finditer(text):
        if match.lastgroup == "word":
            clitic = _CLITICS_RE.match(match.group())
            parts = [clitic.group(1), clitic.group(2)] if clitic else [match.group()]
            for n, part in enumerate(parts):
                tokens.append(_Tok("word", part, part.lower(), attach=n > 0))
        elif match.lastgroup == "stop":
            tokens.append(_Tok("stop", match.group()))
        else:
            tokens.append(_Tok("comma", ","))
    return tokens


def _at_sentence_start(kept: list[_Tok]) -> bool:
    for tok in reversed(kept):
        if tok.kind == "stop":
            return True
        if tok.is_word:
            return False
    return True


def _at_clause_start(kept: list[_Tok], lex: _Lexicon) -> bool:
    return not kept or not kept[-1].is_word or kept[-1].key in lex.clause_conjunctions


def _is_filler_like(kept: list[_Tok], after: _Tok | None, lex: _Lexicon) -> bool:
    """'it was like, huge' and 'there were like five' are fillers; 'I like foxes' is not."""
    before = kept[-1] if kept else None
    if before is not None and before.is_word and before.key in lex.like_verb_after:
        return False  # a verb ("we like", "would like") or a comparison ("looks like")
    if after is None or not after.is_word or (before is not None and before.key in lex.determiners):
        return True  # "it was like, huge", "this like old man"
    opens_clause = _at_clause_start(kept, lex) or (before is not None and before.key in lex.be_forms)
    return opens_clause and after.key not in lex.determiners  # "like a bird" compares


def _filler_span(kept: list[_Tok], toks: list[_Tok], i: int, lex: _Lexicon) -> int:
    """How many tokens from `i` on are a filler (0 if none), judged by the kept text before them."""
    key = toks[i].key
    if key in lex.filler_words:
        return 1
    if key in lex.discourse_markers and _at_sentence_start(kept):
        return 1
    for phrase in lex.filler_phrases:
        end = i + len(phrase)
        if tuple(t.key for t in toks[i:end]) == phrase and all(t.is_word for t in toks[i:end]):
            after = toks[end] if end < len(toks) else None
            ends_clause = after is None or not after.is_word or after.key in lex.clause_conjunctions
            if ends_clause or _at_clause_start(kept, lex):
                return len(phrase)
    if key == "like" and _is_filler_like(kept, _following(toks, i + 1, lex), lex):
        return 1
    return 0


def _following(toks: list[_Tok], j: int, lex: _Lexicon) -> _Tok | None:
    """The next token that is not itself an "um" or "uh"."""
    while j < len(toks) and toks[j].is_word and toks[j].key in lex.filler_words:
        j += 1
    return toks[j] if j < len(toks) else None


def _tidy_punctuation(tokens: list[_Tok]) -> list[_Tok]:
    """No leading or doubled pauses: what is left where the fillers were taken out."""
    out: list[_Tok] = []
    for tok in tokens:
        if tok.is_word:
            out.append(tok)
        elif out and out[-1].kind != "stop":
            if out[-1].kind == "comma":
                if tok.kind == "stop":
                    out[-1] = tok
            else:
                out.append(tok)
    while out and out[-1].kind == "comma":
        out.pop()
    return out


def _drop_fillers(toks: list[_Tok], lex: _Lexicon) -> list[_Tok]:
    kept: list[_Tok] = []
    i = 0
    while i < len(toks):
        span = _filler_span(kept, toks, i, lex) if toks[i].is_word else 0
        if not span:
            kept.append(toks[i])
            i += 1
            continue
        i += span
        if i < len(toks) and toks[i].kind == "comma":  # the filler's own pause: "it was like, huge"
            i += 1
            if kept and kept[-1].kind == "comma":  # "it was, uh, old" -> "it was old"
                kept.pop()
    return _tidy_punctuation(kept)


def clean_text(text: str) -> str:
    """The narration as the prompt builder reads it: fillers gone, sentences capitalised and ended.

    Shown next to the prompt so the user can see what was understood; "" when nothing is left.
    """
    parts: list[str] = []
    sentence_start = True
    for tok in _drop_fillers(_tokenise(text), _lexicon()):
        if not tok.is_word:
            parts.append(tok.text)
            sentence_start = tok.kind == "stop"
            continue
        word = "I" if tok.key == "i" else tok.text
        if sentence_start:
            word = word[:1].upper() + word[1:]
            sentence_start = False
        parts.append(word if tok.attach or not parts else " " + word)
    if parts and parts[-1].strip()[-1:].isalnum():
        parts.append(".")
    return "".join(parts)


# --- picking visual terms ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """One lexicon match (or one unknown word, or a pause) in the cleaned narration."""

    words: tuple[str, ...] = ()
    entry: _Entry | None = None
    canonical: str = ""
    boundary: bool = False


@dataclass
class _Term:
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


def _units(tokens: list[_Tok], lex: _Lexicon) -> list[_Unit]:
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
        self.phrases: list[_Term] = []
        self.lone: dict[str, _Term] = {}
        self.order = 0

    def _next(self) -> int:
        self.order += 1
        return self.order

    def phrase(self, pending: list[_Unit], noun: _Unit) -> _Term:
        modifiers = tuple(dict.fromkeys(w for u in pending for w in u.words))[-_MAX_MODIFIER_WORDS:]
        new = _Term(noun.entry.noun or "object", noun.canonical, noun.words, modifiers, first=self._next())
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
                self.lone[text] = _Term(kind, text, unit.words, first=self._next())

    def terms(self) -> list[_Term]:
        used = {w for t in self.phrases for w in t.modifiers}
        lone = [t for t in self.lone.values() if t.head not in used]
        return _by_importance(self.phrases + lone)


def _by_importance(terms: list[_Term]) -> list[_Term]:
    return sorted(terms, key=lambda t: (_PROMPT_ORDER.index(t.kind), -t.count, t.first))


def _visual_terms(tokens: list[_Tok], lex: _Lexicon) -> list[_Term]:
    units = _units(tokens, lex)
    found = _Collector()
    pending: list[_Unit] = []
    last_phrase: _Term | None = None
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


def _content_runs(tokens: list[_Tok], lex: _Lexicon) -> list[_Term]:
    """The fallback when no lexicon word matched: runs of non-stopwords, at most four words each."""
    runs: dict[str, _Term] = {}
    run: list[str] = []

    def flush() -> None:
        for start in range(0, len(run), _MAX_RUN_WORDS):
            words = tuple(run[start : start + _MAX_RUN_WORDS])
            text = " ".join(words)
            if text in runs:
                runs[text].count += 1
            else:
                runs[text] = _Term("content", text, words, first=len(runs))
        run.clear()

    for tok in tokens:
        if tok.is_word and tok.key not in lex.stopwords and tok.key not in lex.filler_words:
            run.append(tok.key)
        else:
            flush()
    flush()
    return sorted(runs.values(), key=lambda t: t.first)


# --- fitting the token limit ------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """One whole term of the final prompt: kept or dropped, never cut."""

    text: str
    kind: str
    rank: int  # place within its kind, most important first

    def prompt_key(self) -> tuple[int, int]:
        return _PROMPT_ORDER.index(self.kind), self.rank

    def importance_key(self) -> tuple[int, int]:
        return self.rank, _IMPORTANCE_ORDER.index(self.kind)


def _slots(terms: list[_Term], style: Style) -> list[_Slot]:
    ranks: dict[str, int] = {}
    slots: list[_Slot] = []
    seen: set[str] = set()
    pairs = [(t.kind, t.text) for t in terms]
    pairs += [(kind, m) for kind in _STYLE_KINDS for m in getattr(style, kind)]
    for kind, text in pairs:
        if text in seen:
            continue
        seen.add(text)
        slots.append(_Slot(text, kind, ranks.get(kind, 0)))
        ranks[kind] = ranks.get(kind, 0) + 1
    return slots


def _join(slots: list[_Slot]) -> str:
    return ", ".join(s.text for s in sorted(slots, key=_Slot.prompt_key))


def _fit(slots: list[_Slot], budget: int) -> tuple[list[_Slot], list[_Slot]]:
    """Admit terms most important first while the joined prompt stays within `budget` tokens."""
    kept: list[_Slot] = []
    dropped: list[_Slot] = []
    for slot in sorted(slots, key=_Slot.importance_key):
        if clip_token_count(_join([*kept, slot])) <= budget:
            kept.append(slot)
        else:
            dropped.append(slot)
    return sorted(kept, key=_Slot.prompt_key), sorted(dropped, key=_Slot.prompt_key)


def _fit_negative(negative: str, budget: int) -> tuple[str, list[str]]:
    negative = negative.encode("utf-8", "ignore").decode("utf-8")  # no lone surrogates from a paste
    parts = [" ".join(p.split()) for p in negative.split(",")]
    kept: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for part in parts:
        if not part or part.lower() in seen:
            continue
        seen.add(part.lower())
        if clip_token_count(", ".join([*kept, part])) <= budget:
            kept.append(part)
        else:
            dropped.append(part)
    return ", ".join(kept), dropped


def _preview(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


# --- public entry points ----------------------------------------------------------------------


def build_prompt(
    text: str,
    style: str = "cinematic",
    negative: str | None = None,
    max_tokens: int = CLIP_MAX_TOKENS,
) -> PromptResult:
    """Build the prompt for one narration (or one storyboard scene) in the named style preset.

    `negative=None` uses DEFAULT_NEGATIVE plus the style's extra negatives; any string, "" too,
    replaces them. `max_tokens` counts CLIP's start and end markers, as SD-1.5's 77 does.
    Raises BadInputError for an empty transcript, one with nothing to picture, an unknown style,
    or a limit too small for the main subject.
    """
    preset = load_style(style)
    if max_tokens < SPECIAL_TOKENS + 1:
        raise BadInputError(f"The prompt token limit must be at least 3 (SD-1.5 uses 77), not {max_tokens}.")
    if not isinstance(text, str) or not text.strip():
        raise BadInputError("The transcript is empty: record or type the narration first.")
    budget = max_tokens - SPECIAL_TOKENS
    lex = _lexicon()
    tokens = _drop_fillers(_tokenise(text), lex)
    terms = _visual_terms(tokens, lex) or _content_runs(tokens, lex)
    if not terms:
        raise BadInputError(
            f"The transcript has nothing to picture once fillers are removed ('{_preview(text)}'): "
            "say or type what the scene shows."
        )
    kept, dropped = _fit(_slots(terms, preset), budget)
    if not any(s.kind in _CONTENT_KINDS for s in kept):
        raise BadInputError(
            f"Even the main subject ('{_preview(terms[0].text)}') does not fit in {max_tokens} CLIP "
            "tokens: shorten the narration or raise the token limit."
        )
    if negative is None:
        negative = ", ".join([DEFAULT_NEGATIVE, *preset.extra_negative])
    negative_prompt, negative_dropped = _fit_negative(negative, budget)
    return PromptResult(
        prompt=_join(kept),
        negative_prompt=negative_prompt,
        keywords=[t.text for t in terms],
        style=preset.name,
        dropped=[s.text for s in dropped] + [NEGATIVE_DROPPED_PREFIX + d for d in negative_dropped],
    )


def prompt_from_transcript(
    transcript: Transcript,
    style: str = "cinematic",
    negative: str | None = None,
    max_tokens: int = CLIP_MAX_TOKENS,
) -> PromptResult:
    """`build_prompt` over a transcript's text, or its words when an engine left the text empty."""
    text = transcript.text if transcript.text.strip() else " ".join(w.word for w in transcript.words)
    return build_prompt(text, style=style, negative=negative, max_tokens=max_tokens)
