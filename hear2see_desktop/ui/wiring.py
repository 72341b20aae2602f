"""Connecting a signal to a slot without letting the signal's arguments fill the slot's parameters.

PySide passes a signal's arguments to as many positional parameters as a slot has, defaults included:
`clicked(bool)` and `triggered(bool)` hand `checked=False` to `def export(self, choice=None)`, which then
fails on `False.mp4` and the button does nothing. Menu actions and buttons that mean "do it" connect
through `without_arguments`; a slot that has options takes them keyword-only, which PySide never fills.
"""

from __future__ import annotations

from collections.abc import Callable


def without_arguments(slot: Callable[[], object]) -> Callable[[], None]:
    """`slot`, called with no arguments whatever the signal carries (a `checked` flag, an index, a text)."""

    def call() -> None:
        slot()

    call.__name__ = getattr(slot, "__name__", "slot")
    call.__qualname__ = getattr(slot, "__qualname__", call.__name__)
    return call


__all__ = ["without_arguments"]
