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

from dataclasses import dataclass, field
from typing import Any

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.prompt.extract import Term, content_runs, visual_terms
from hear2see_desktop.core.prompt.fillers import clean_text, drop_fillers
from hear2see_desktop.core.prompt.fit import fit_negative, fit_slots, join_slots, term_slots
from hear2see_desktop.core.prompt.kinds import CONTENT_KINDS
from hear2see_desktop.core.prompt.lexicon import load_lexicon
from hear2see_desktop.core.prompt.styles import load_style
from hear2see_desktop.core.prompt.tokenise import tokenise
from hear2see_desktop.core.prompt.tokens import CLIP_MAX_TOKENS, SPECIAL_TOKENS
from hear2see_desktop.core.transcript import Transcript

__all__ = [
    "DEFAULT_NEGATIVE",
    "NEGATIVE_DROPPED_PREFIX",
    "PromptResult",
    "build_prompt",
    "clean_text",
    "prompt_from_transcript",
]

DEFAULT_NEGATIVE = (
    "text, watermark, signature, lowres, blurry, jpeg artifacts, deformed, disfigured, bad anatomy, "
    "extra limbs, cropped, worst quality, low quality"
)
"""Added to every render unless the caller passes its own; the style's extra negatives follow."""

NEGATIVE_DROPPED_PREFIX = "negative: "
"""Marks a dropped negative-prompt part in `PromptResult.dropped`, to tell it from prompt terms."""


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


def _preview(text: str, limit: int = 60) -> str:
    """The text on one line, cut to `limit` characters for an error message."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


# --- public entry points ----------------------------------------------------------------------


def build_prompt(
    text: str,
    style: str = "cinematic",
    negative: str | None = None,
    max_tokens: int = CLIP_MAX_TOKENS,
    *,
    subjects: list[str] | None = None,
    sounds: list[str] | None = None,
) -> PromptResult:
    """Build the prompt for one narration (or one storyboard scene) in the named style preset.

    `negative=None` uses DEFAULT_NEGATIVE plus the style's extra negatives; any string, "" too,
    replaces them. `max_tokens` counts CLIP's start and end markers, as SD-1.5's 77 does.
    `subjects`, when given, replaces the subjects found in the text, in its order and first, so a
    storyboard can say "red fox" where a scene only says "it" or "the fox"; with subjects and no
    other lexicon term the content-word fallback is skipped, so the subjects stay first.
    `sounds`: the visual words the scene's sound events added ("rain", "wet streets"), terms of their own kind
    fitted in the same token budget; with sounds, an empty `text` (a take without speech) is a prompt too.
    Raises BadInputError for an empty transcript, one with nothing to picture, an unknown style,
    or a limit too small for the main subject.
    """
    preset = load_style(style)
    if max_tokens < SPECIAL_TOKENS + 1:
        raise BadInputError(f"The prompt token limit must be at least 3 (SD-1.5 uses 77), not {max_tokens}.")
    sound_terms = _sound_terms(sounds or [])
    if not isinstance(text, str) or (not text.strip() and not sound_terms):
        raise BadInputError("The transcript is empty: record or type the narration first.")
    budget = max_tokens - SPECIAL_TOKENS
    lex = load_lexicon()
    tokens = drop_fillers(tokenise(text), lex) if text.strip() else []
    terms = visual_terms(tokens, lex)
    if subjects is not None:
        terms = _with_subjects(terms, subjects)
    terms = (terms or content_runs(tokens, lex)) + sound_terms
    if not terms:
        raise BadInputError(
            f"The transcript has nothing to picture once fillers are removed ('{_preview(text)}'): "
            "say or type what the scene shows."
        )
    kept, dropped = fit_slots(term_slots(terms, preset), budget)
    if not any(s.kind in CONTENT_KINDS for s in kept):
        raise BadInputError(
            f"Even the main subject ('{_preview(terms[0].text)}') does not fit in {max_tokens} CLIP "
            "tokens: shorten the narration or raise the token limit."
        )
    if negative is None:
        negative = ", ".join([DEFAULT_NEGATIVE, *preset.extra_negative])
    negative_prompt, negative_dropped = fit_negative(negative, budget)
    return PromptResult(
        prompt=join_slots(kept),
        negative_prompt=negative_prompt,
        keywords=[t.text for t in terms],
        style=preset.name,
        dropped=[s.text for s in dropped] + [NEGATIVE_DROPPED_PREFIX + d for d in negative_dropped],
    )


def _sound_terms(sounds: list[str]) -> list[Term]:
    """The sound words as terms of kind "sound", in their order, each phrase whole."""
    phrases = dict.fromkeys(" ".join(str(s).split()) for s in sounds)
    return [Term("sound", p, tuple(p.split()), first=n) for n, p in enumerate(p for p in phrases if p)]


def _with_subjects(terms: list[Term], subjects: list[str]) -> list[Term]:
    """The given subject phrases, first and in order, then the text's terms that are not subjects."""
    phrases = dict.fromkeys(" ".join(str(s).split()) for s in subjects)
    given = [Term("subject", p, tuple(p.split()), first=n) for n, p in enumerate(phrases) if p]
    return given + [t for t in terms if t.kind != "subject"]


def prompt_from_transcript(
    transcript: Transcript,
    style: str = "cinematic",
    negative: str | None = None,
    max_tokens: int = CLIP_MAX_TOKENS,
) -> PromptResult:
    """`build_prompt` over a transcript's text, or its words when an engine left the text empty."""
    text = transcript.text if transcript.text.strip() else " ".join(w.word for w in transcript.words)
    return build_prompt(text, style=style, negative=negative, max_tokens=max_tokens)
