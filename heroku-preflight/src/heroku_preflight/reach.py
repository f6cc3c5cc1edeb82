"""Which app modules the Procfile's processes import (their import closure), read with ast.

An app module that fails to import is Heroku's verdict (an error) only where a process reaches it: a module
that no process imports (dead code, a script for an optional extra that is not installed) fails nowhere on
the dyno, so it is a warning that names it (HW404). The closure errs toward an error: imports inside functions
count as reached (a process may call them), and where a process's reach cannot be read from its command
(console scripts, `python -c`, Celery's autodiscovery, Django's settings, `--chdir`, commands that are not
Python), every module counts as reached.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from . import entrypoints, imports
from .procfile import Process

_READABLE = ("module", "attr", "dotted", "script")


def reached(app: Path, processes: Iterable[Process], django: bool) -> set[str] | None:
    """Module names the processes import at start or may import later; None when that cannot be read."""
    processes = list(processes)
    if django or not processes:
        return None  # Django imports what settings name; no Procfile: nothing to start from
    roots: list[str] = []
    for process in processes:
        for target in entrypoints.parse_command(process.command):
            if target.kind not in _READABLE or target.paths:
                return None
            roots.extend(_roots(app, target))
    return _closure(app, roots)


def _roots(app: Path, target: entrypoints.Target) -> list[str]:
    if target.kind == "module":
        return [target.value, f"{target.value}.__main__"]
    if target.kind == "script":
        script = app / target.value
        tree = imports.parse(script) if script.is_file() else None  # a missing script: HW504 says so
        if tree is None:
            return []
        return [name for name, _ in imports.imported_modules(tree, None)] + _from_names(tree, None)
    module = target.value.split(":")[0]
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]  # `a.b.Name`: any prefix may be the module


def _closure(app: Path, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        parts = todo.pop().split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            name = ".".join(parts[:i])
            path = _module_file(app, name)
            if path is None or name in seen:
                continue
            seen.add(name)
            package = name if path.name == "__init__.py" else name.rpartition(".")[0] or None
            tree = imports.parse(path)
            if tree is not None:
                todo.extend(module for module, _ in imports.imported_modules(tree, package))
                todo.extend(_from_names(tree, package))
    return seen


def _from_names(tree: ast.Module, package: str | None) -> list[str]:
    """`from pkg import sub` may import the submodule `pkg.sub`."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level and package:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1] if node.level > 1 else parts
                base = ".".join([*parts, *([node.module] if node.module else [])])
            found.extend(f"{base}.{alias.name}" for alias in node.names if base and alias.name != "*")
    return found


def _module_file(app: Path, name: str) -> Path | None:
    if not all(part.isidentifier() for part in name.split(".")):
        return None
    base = app.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
