"""Count CLIP tokens the way Stable Diffusion 1.5's text encoder sees them.

SD-1.5 reads at most 77 tokens, start and end markers included, and silently ignores the rest;
the prompt builder counts with the real CLIP BPE so that nothing the user sees is cut off.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

CLIP_MAX_TOKENS = 77
"""SD-1.5's text encoder context, including the start and end markers."""

SPECIAL_TOKENS = 2
"""The start-of-text and end-of-text markers every encoded prompt carries."""

CLIP_CONTENT_TOKENS = CLIP_MAX_TOKENS - SPECIAL_TOKENS
"""Tokens left for the prompt's own words: 75."""


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    # Imported and built lazily: the vocabulary takes a moment to load and not every run needs it.
    import instant_clip_tokenizer

    return instant_clip_tokenizer.Tokenizer()


def clip_token_count(text: str) -> int:
    """How many CLIP tokens `text` takes, without the start/end markers."""
    if not text.isascii():  # the tokenizer needs valid UTF-8; a lone surrogate would raise
        text = text.encode("utf-8", "replace").decode("utf-8")
    return len(_tokenizer().encode(text))
