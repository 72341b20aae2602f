"""A `RenderRequest` as plain JSON and back, field by field from its type hints.

Written generically so a field added to the request (a path, a number, a flag) is queued with it without
an edit here: paths become strings, the settings, transcript and storyboard their own `to_dict` shapes.
A field missing from an older queue file takes the request's default.
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from functools import cache
from pathlib import Path
from typing import Any

from hear2see_desktop.core.render_request import RenderRequest
from hear2see_desktop.core.settings import RenderSettings


def request_to_dict(request: RenderRequest) -> dict[str, Any]:
    return {spec.name: _to_json(getattr(request, spec.name)) for spec in fields(RenderRequest)}


def request_from_dict(data: dict[str, Any]) -> RenderRequest:
    """Raises KeyError, TypeError or ValueError when a required field is missing or has the wrong shape."""
    hints = _hints()
    values = {}
    for spec in fields(RenderRequest):
        if spec.name in data:
            values[spec.name] = _from_json(data[spec.name], hints[spec.name])
        elif spec.default is MISSING and spec.default_factory is MISSING:
            raise KeyError(spec.name)
    return RenderRequest(**values)


@cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(RenderRequest)


def _to_json(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _from_json(value: Any, hint: Any) -> Any:
    if value is None:
        return None
    kinds = [kind for kind in typing.get_args(hint) if kind is not type(None)] \
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else [hint]
    kind = kinds[0] if len(kinds) == 1 else None
    if kind is Path:
        return Path(value)
    if kind is RenderSettings:
        if not isinstance(value, dict):
            raise TypeError(f"settings must be an object, not {type(value).__name__}")
        return RenderSettings.from_dict(value)
    if isinstance(kind, type) and hasattr(kind, "from_dict"):
        return kind.from_dict(value)
    return value
