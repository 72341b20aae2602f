"""Exceptions that carry one sentence a user can act on, and the CLI exit code for it.

A sentence whose remedy is a setting names it as a `Fix` among its parts
(`BadInputError("No GPU here: use ", Fix("device", "cpu"), ".")`): the core knows which setting mends the
error, each front end knows what the setting is called there. The CLI words a fix as its flag
(`--device cpu`), the window as its field ("Device: CPU"); `str(error)` words it plainly ("device: cpu")
for logs and any other caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fix:
    """A setting the user can change to mend an error (a `RenderSettings` field or a request's input, such as
    `asr_model`), and the value to give it (None: one of their choosing)."""

    setting: str
    value: str | None = None


FixWords = Callable[[Fix], str]


def plain_words(fix: Fix) -> str:
    """A fix named without a front end: the setting's name, then the value."""
    name = fix.setting.replace("_", " ")
    return name if fix.value is None else f"{name}: {fix.value}"


def worded(parts: tuple[str | Fix, ...], words: FixWords) -> str:
    """Sentence parts with each fix named as `words` names it."""
    return "".join(words(part) if isinstance(part, Fix) else part for part in parts)


@dataclass(frozen=True)
class Sentence:
    """A sentence that is not an error (a metric's note, say) whose advice may also name a setting."""

    parts: tuple[str | Fix, ...]

    @classmethod
    def of(cls, *parts: str | Fix) -> Sentence:
        return cls(parts)

    def worded(self, words: FixWords) -> str:
        return worded(self.parts, words)

    def __str__(self) -> str:
        return worded(self.parts, plain_words)


class Hear2SeeError(Exception):
    """A failure a user can act on; `str(error)` is the sentence to show them (front ends: `worded`)."""

    exit_code = 1

    def __init__(self, *parts: str | Fix) -> None:
        self.parts = parts
        super().__init__(self.worded(plain_words))

    @property
    def fixes(self) -> tuple[Fix, ...]:
        return tuple(part for part in self.parts if isinstance(part, Fix))

    def worded(self, words: FixWords) -> str:
        """The sentence with each fix named as `words` names it."""
        return worded(self.parts, words)


class BadInputError(Hear2SeeError):
    """The input (a file, a flag, a setting) is wrong; the user must change it."""

    exit_code = 2


class ModelMissingError(Hear2SeeError):
    """A model the job needs is not on disk; the message says where we looked and how to get it."""

    exit_code = 3


class RenderFailedError(Hear2SeeError):
    """The render itself failed (out of memory, a broken backend); the message says what to lower."""

    exit_code = 4


class CancelledError(Hear2SeeError):
    """The user cancelled; nothing partial is left under the final name."""

    exit_code = 130

    def __init__(self, *parts: str | Fix) -> None:
        super().__init__(*(parts or ("Cancelled.",)))
