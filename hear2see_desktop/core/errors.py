"""Exceptions that carry one sentence a user can act on, and the CLI exit code for it."""

from __future__ import annotations


class Hear2SeeError(Exception):
    """A failure a user can act on; `str(error)` is the sentence to show them."""

    exit_code = 1


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

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message)
