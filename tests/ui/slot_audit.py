"""Finds slots that a signal's arguments can fill by mistake, by reading the UI package's source.

PySide hands a signal's arguments to a slot's positional parameters, defaults included: `clicked(bool)`
connected to `def export(self, choice=None)` calls `export(False)`. A connection is flagged when the
callable it names (a method, a function, a lambda, a `functools.partial`) has a positional parameter with a
default that a signal could fill. Parameters named `_...` are taken as deliberate sinks only when they
are the sole defaulted ones; `*args` is fine; keyword-only parameters are never filled.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SAFE_WRAPPERS = {"without_arguments"}


@dataclass(frozen=True)
class Connection:
    """One `.connect(...)` call: where it is and what it connects."""

    path: Path
    line: int
    source: str


def _defaulted_positional(args: ast.arguments, bound: int = 0) -> list[str]:
    """Names of positional parameters with defaults, after `bound` leading ones (self, or partial's arguments)."""
    positional = [*args.posonlyargs, *args.args][bound:]
    with_defaults = positional[len(positional) - len(args.defaults):] if args.defaults else []
    names = [arg.arg for arg in with_defaults]
    if all(name.startswith("_") for name in names):
        return []  # `lambda _=False: ...` exists to swallow the signal's argument
    return names


def _definitions(files: list[Path]) -> dict[str, list[ast.FunctionDef]]:
    """Every function and method in `files`, by name (a connection names a method without its class)."""
    found: dict[str, list[ast.FunctionDef]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                found.setdefault(node.name, []).append(node)
    return found


def _named(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _problem(slot: ast.expr, defs: dict[str, list[ast.FunctionDef]], bound: int = 0) -> str | None:
    """Why `slot` can be filled by a signal's arguments, or None when it cannot."""
    if isinstance(slot, ast.Lambda):
        names = _defaulted_positional(slot.args, bound)
        return f"the lambda's parameters {names} have defaults a signal fills" if names else None
    if isinstance(slot, ast.Call):
        called = _named(slot.func)
        if called in SAFE_WRAPPERS:
            return None
        if called == "partial" and slot.args:
            return _problem(slot.args[0], defs, bound=len(slot.args) - 1)
        return None
    name = _named(slot)
    for definition in defs.get(name or "", []):
        is_method = bool(definition.args.args) and definition.args.args[0].arg in ("self", "cls")
        names = _defaulted_positional(definition.args, bound + (1 if is_method else 0))
        if names:
            return f"{name}() has positional parameters with defaults {names} (line {definition.lineno})"
    return None


def connections(package: Path) -> list[Connection]:
    """Every `.connect(...)` call in `package`'s modules."""
    found = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and _named(node.func) == "connect" and node.args:
                found.append(Connection(path, node.lineno, ast.get_source_segment(text, node) or ""))
    return found


def _forwarders(defs: dict[str, list[ast.FunctionDef]]) -> dict[str, int]:
    """Helpers that connect one of their own parameters as it is (`def action(menu, text, slot): ...connect(slot)`),
    by name, with that parameter's position as the helper is called (without `self`)."""
    found = {}
    for name, definitions in defs.items():
        for definition in definitions:
            params = [arg.arg for arg in [*definition.args.posonlyargs, *definition.args.args]]
            if params and params[0] in ("self", "cls"):
                params = params[1:]
            for node in ast.walk(definition):
                if (isinstance(node, ast.Call) and _named(node.func) == "connect" and node.args
                        and isinstance(node.args[0], ast.Name) and node.args[0].id in params):
                    found[name] = params.index(node.args[0].id)
    return found


def fillable_slots(package: Path) -> list[str]:
    """`file:line: source: why` for every connection whose slot a signal's arguments can fill.

    Connections made through a helper that connects its argument as it is (the window's `action()`) count
    at the helper's call.
    """
    files = sorted(package.rglob("*.py"))
    defs = _definitions(files)
    forwarders = _forwarders(defs)
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            called = _named(node.func)
            if called == "connect" and node.args:
                slot = node.args[0]
            elif called in forwarders and len(node.args) > forwarders[called]:
                slot = node.args[forwarders[called]]
            else:
                continue
            why = _problem(slot, defs)
            if why is not None:
                source = ast.get_source_segment(text, node) or ""
                problems.append(f"{path.name}:{node.lineno}: {source}: {why}")
    return problems
