"""sys.path changes in app code, however sys or sys.path is named (`from sys import path`, `import sys as s`).

Such code makes imports depend on where the process starts and hides missing packages. Alias tracking is per
file, not per scope: a name once bound to `sys`, `sys.path` or `site.addsitedir` counts in the whole file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from .findings import Finding, error

_MUTATORS = {"append", "insert", "extend", "remove", "pop", "clear", "__setitem__", "__iadd__"}


class _Aliases:
    """Names bound to the sys module, to sys.path, and to site / site.addsitedir in one file."""

    def __init__(self, nodes: list[ast.AST]) -> None:
        self.sys: set[str] = {"sys"}
        self.path: set[str] = set()
        self.site: set[str] = {"site"}
        self.addsitedir: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in ("sys", "site"):
                        (self.sys if alias.name == "sys" else self.site).add(alias.asname or alias.name)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in ("sys", "site"):
                for alias in node.names:
                    if (node.module, alias.name) == ("sys", "path"):
                        self.path.add(alias.asname or "path")
                    elif (node.module, alias.name) == ("site", "addsitedir"):
                        self.addsitedir.add(alias.asname or "addsitedir")
        for node in nodes:  # `p = sys.path` makes p an alias too
            if isinstance(node, ast.Assign) and self.is_path(node.value):
                self.path.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def is_sys(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.sys
        return (  # __import__("sys")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and bool(node.args)
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "sys"
        )

    def is_path(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.path
        return isinstance(node, ast.Attribute) and node.attr == "path" and self.is_sys(node.value)

    def is_addsitedir(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.addsitedir
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "addsitedir"
            and isinstance(func.value, ast.Name)
            and func.value.id in self.site
        )


def _changes_path(node: ast.AST, names: _Aliases) -> bool:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _MUTATORS and names.is_path(func.value):
            return True
        return names.is_addsitedir(func)
    if isinstance(node, ast.AugAssign):
        return names.is_path(node.target) or (
            isinstance(node.target, ast.Subscript) and names.is_path(node.target.value)
        )
    if isinstance(node, (ast.Assign, ast.Delete)):
        return any(
            (isinstance(t, ast.Attribute) and names.is_path(t))
            or (isinstance(t, ast.Subscript) and names.is_path(t.value))
            for t in node.targets
        )
    return False


def path_hacks(source: str) -> list[int]:
    """Line numbers where this source changes sys.path (or calls site.addsitedir); [] if it does not parse."""
    if not ("sys" in source or "site" in source):
        return []  # no way to reach sys.path or site.addsitedir: skip the parse (`--static` stays fast)
    try:
        nodes = list(ast.walk(ast.parse(source)))
    except (SyntaxError, ValueError):
        return []  # the import checks report the SyntaxError with its line
    names = _Aliases(nodes)
    return sorted({node.lineno for node in nodes if _changes_path(node, names)})  # type: ignore[attr-defined]


def check(app: Path, files: Iterable[Path]) -> list[Finding]:
    """HW901 for each line of app code that changes sys.path."""
    findings: list[Finding] = []
    for path in files:
        try:
            source = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # unreadable files are reported by the import checks
        rel = path.relative_to(app).as_posix()
        findings.extend(
            error(
                "HW901",
                rel,
                line,
                "sys.path changed in app code: imports then depend on where the process starts and hide "
                "missing packages",
                "delete it and start the process from the app root with `python -m package.module` "
                "(cwd goes on sys.path, as on a dyno)",
            )
            for line in path_hacks(source)
        )
    return findings
