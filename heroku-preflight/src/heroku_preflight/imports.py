"""What a file imports (for probing entry points without running them), read with ast."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path


def parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):
        return None  # the import probe reports the SyntaxError with its line


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def _catches_import_error(node: ast.Try) -> bool:
    """`try: import x / except ImportError:` (or a broader handler): a missing x is handled, not a crash."""
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for kind in kinds:
            if kind is None or (isinstance(kind, ast.Name) and kind.id in _IMPORT_ERRORS):
                return True
            if isinstance(kind, ast.Attribute) and kind.attr in _IMPORT_ERRORS:
                return True
    return False


def _walk_runtime(tree: ast.AST) -> Iterable[ast.AST]:
    """ast.walk that skips `if TYPE_CHECKING:` bodies (never executed at run time) and the body of a `try`
    whose handler catches ImportError (an optional import: the fallback runs when it is missing)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Try) and _catches_import_error(node):
            stack.extend([*node.handlers, *node.orelse, *node.finalbody])
            continue
        stack.extend(ast.iter_child_nodes(node))


def optional_import_lines(tree: ast.Module) -> set[int]:
    """Lines of imports that are guarded (try/except ImportError, `if TYPE_CHECKING:`): never a crash."""
    every = {n.lineno for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))}
    running = {n.lineno for n in _walk_runtime(tree) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return every - running


def imported_modules(tree: ast.Module, package: str | None) -> list[tuple[str, int]]:
    """(absolute module name, line) for each import; relative ones resolved against `package`."""
    out: list[tuple[str, int]] = []
    for node in _walk_runtime(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                out.append((node.module, node.lineno))
            elif node.level and package:
                base = package.split(".")
                base = base[: len(base) - node.level + 1] if node.level > 1 else base
                out.append((".".join([*base, *([node.module] if node.module else [])]), node.lineno))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.append((node.args[0].value, node.lineno))
    return sorted(out, key=lambda item: item[1])


def dynamic_imports(tree: ast.Module) -> list[tuple[str, int]]:
    """`importlib.import_module("literal")` anywhere (deptry 0.25 sees only bare-statement calls)."""
    found = []
    for node in _walk_runtime(tree):
        if (
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
        ):
            found.append((node.args[0].value, node.lineno))
    return sorted(found, key=lambda item: item[1])
