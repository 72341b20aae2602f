"""Fitting whole terms within CLIP's token budget, dropping the least important first.

A term is kept or dropped, never cut; the negative prompt's parts are fitted in their given order.
"""

from __future__ import annotations

from dataclasses import dataclass

from hear2see_desktop.core.prompt.extract import Term
from hear2see_desktop.core.prompt.kinds import IMPORTANCE_ORDER, PROMPT_ORDER, STYLE_KINDS
from hear2see_desktop.core.prompt.styles import Style
from hear2see_desktop.core.prompt.tokens import clip_token_count


@dataclass(frozen=True)
class Slot:
    """One whole term of the final prompt: kept or dropped, never cut."""

    text: str
    kind: str
    rank: int  # place within its kind, most important first

    def prompt_key(self) -> tuple[int, int]:
        return PROMPT_ORDER.index(self.kind), self.rank

    def importance_key(self) -> tuple[int, int]:
        return self.rank, IMPORTANCE_ORDER.index(self.kind)


def term_slots(terms: list[Term], style: Style) -> list[Slot]:
    """The content terms then the style's modifiers as slots, repeats removed, ranked within kind."""
    ranks: dict[str, int] = {}
    slots: list[Slot] = []
    seen: set[str] = set()
    pairs = [(t.kind, t.text) for t in terms]
    pairs += [(kind, m) for kind in STYLE_KINDS for m in getattr(style, kind)]
    for kind, text in pairs:
        if text in seen:
            continue
        seen.add(text)
        slots.append(Slot(text, kind, ranks.get(kind, 0)))
        ranks[kind] = ranks.get(kind, 0) + 1
    return slots


def join_slots(slots: list[Slot]) -> str:
    """The prompt text: slots in prompt order, comma separated."""
    return ", ".join(s.text for s in sorted(slots, key=Slot.prompt_key))


def fit_slots(slots: list[Slot], budget: int) -> tuple[list[Slot], list[Slot]]:
    """Admit terms most important first while the joined prompt stays within `budget` tokens."""
    kept: list[Slot] = []
    dropped: list[Slot] = []
    for slot in sorted(slots, key=Slot.importance_key):
        if clip_token_count(join_slots([*kept, slot])) <= budget:
            kept.append(slot)
        else:
            dropped.append(slot)
    return sorted(kept, key=Slot.prompt_key), sorted(dropped, key=Slot.prompt_key)


def fit_negative(negative: str, budget: int) -> tuple[str, list[str]]:
    """The negative prompt's parts kept in order while within `budget`, repeats removed; and the dropped."""
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
