"""Filler removal from narration tokens: "um", "you know", filler "like", a leading "so" / "well".

"I like foxes" and "looks like a fox" keep their "like"; `clean_text` shows the result.
"""

from __future__ import annotations

from hear2see_desktop.core.prompt.lexicon import Lexicon, load_lexicon
from hear2see_desktop.core.prompt.tokenise import Token, tokenise


def _at_sentence_start(kept: list[Token]) -> bool:
    for tok in reversed(kept):
        if tok.kind == "stop":
            return True
        if tok.is_word:
            return False
    return True


def _at_clause_start(kept: list[Token], lex: Lexicon) -> bool:
    return not kept or not kept[-1].is_word or kept[-1].key in lex.clause_conjunctions


def _is_filler_like(kept: list[Token], after: Token | None, lex: Lexicon) -> bool:
    """'it was like, huge' and 'there were like five' are fillers; 'I like foxes' is not."""
    before = kept[-1] if kept else None
    if before is not None and before.is_word and before.key in lex.like_verb_after:
        return False  # a verb ("we like", "would like") or a comparison ("looks like")
    if after is None or not after.is_word or (before is not None and before.key in lex.determiners):
        return True  # "it was like, huge", "this like old man"
    opens_clause = _at_clause_start(kept, lex) or (before is not None and before.key in lex.be_forms)
    return opens_clause and after.key not in lex.determiners  # "like a bird" compares


def _filler_span(kept: list[Token], toks: list[Token], i: int, lex: Lexicon) -> int:
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


def _following(toks: list[Token], j: int, lex: Lexicon) -> Token | None:
    """The next token that is not itself an "um" or "uh"."""
    while j < len(toks) and toks[j].is_word and toks[j].key in lex.filler_words:
        j += 1
    return toks[j] if j < len(toks) else None


def _tidy_punctuation(tokens: list[Token]) -> list[Token]:
    """No leading or doubled pauses: what is left where the fillers were taken out."""
    out: list[Token] = []
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


def drop_fillers(toks: list[Token], lex: Lexicon) -> list[Token]:
    """The tokens without fillers, their own pauses or doubled punctuation."""
    kept: list[Token] = []
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
    for tok in drop_fillers(tokenise(text), load_lexicon()):
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
