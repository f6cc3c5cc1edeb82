"""Entry-point probe: run in the app's environment (`python -c <this file> <json>`) by preflight.entrypoints.

It proves that each Procfile entry would get past its imports without starting it. Modules the entry imports
are imported for real, as the dyno would, and each imported name is checked. The entry file itself is never
executed: its module-level statements are walked, and each import statement is performed as Python would,
honouring `try/except ImportError`, `if TYPE_CHECKING:`, version and platform tests, and the main guard (which
does run in an entry file). An entry file whose module level only binds names is also loaded under another
module name, so its guarded body stays off. Standalone on purpose (stdlib only, Python 3.10+): the app's
environment does not contain preflight.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import importlib
import importlib.util
import inspect
import json
import operator
import os
import re
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

MARK = "@@entry@@ "
Problem = dict[str, Any]
CANNOT_IMPORT = re.compile(r"cannot import name '([^']+)' from '([^']+)'")
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


class Unknown(Exception):
    """A condition the probe cannot decide without running app code."""


class Failed(Exception):
    """An import statement of the entry file failed; carries the statement for the report."""

    def __init__(self, exc: BaseException, stmt: ast.stmt) -> None:
        super().__init__(str(exc))
        self.exc, self.stmt = exc, stmt


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(MARK + json.dumps(event) + "\n")
    sys.stdout.flush()


def suggest(word: str, obj: object) -> str | None:
    close = difflib.get_close_matches(word, [n for n in dir(obj) if not n.startswith("__")], n=1, cutoff=0.6)
    return close[0] if close else None


class Probe:
    """Collects the problems of one target, each pointing at the deepest app file:line involved."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.problems: list[Problem] = []

    def in_app(self, filename: str | None) -> bool:
        if not filename or not os.path.isabs(filename):  # "<string>", "<frozen importlib._bootstrap>"
            return False
        path = os.path.realpath(filename)
        inside = path.startswith(self.root + os.sep)
        return inside and not any(p in path for p in ("site-packages", "dist-packages", os.sep + ".venv"))

    def add(self, kind: str, error: str, **fields: Any) -> None:
        self.problems.append({"kind": kind, "error": error, **fields})

    def failure(
        self, exc: BaseException, file: str | None, line: int | None, cond: str | None = None
    ) -> None:
        """Classify an exception raised by an import; point at the deepest app frame, else at (file, line)."""
        error = traceback.format_exception_only(type(exc), exc)[-1].strip()
        frames = traceback.extract_tb(exc.__traceback__)
        where: tuple[str | None, int | None] = (file, line)
        for frame in frames:
            if self.in_app(frame.filename):
                where = (frame.filename, frame.lineno)
        if isinstance(exc, SyntaxError) and self.in_app(exc.filename):
            where = (exc.filename, exc.lineno)
        via = [file, line] if where != (file, line) else None
        fields: dict[str, Any] = {"file": where[0], "line": where[1], "via": via}
        named = CANNOT_IMPORT.search(error) if isinstance(exc, ImportError) else None
        if cond is not None:
            self.add("not_verified", error, reason=f"an import under `if {cond}:` fails here", **fields)
        elif named:
            name, module = named.groups()
            hint = suggest(name, sys.modules[module]) if module in sys.modules else None
            self.add("name_missing", error, module=module, name=name, suggest=hint, **fields)
        elif isinstance(exc, KeyError) and frames and frames[-1].filename.endswith(("os.py", "<frozen os>")):
            self.add("not_verified", error, reason=f"config var {exc} is read at import", **fields)
        elif environment_dependent(exc):
            reason = "importing it raised an error that may depend on the dyno's config vars or services"
            self.add("not_verified", error, reason=reason, **fields)
        else:
            module = exc.name if isinstance(exc, ImportError) else None
            self.add("import_error", error, module=module, exception=type(exc).__name__, **fields)


def environment_dependent(exc: BaseException) -> bool:
    """OS errors (a refused connection, a missing file) and libraries' own exceptions (a driver's
    OperationalError, Django's ImproperlyConfigured) at import usually mean a config var or service the dyno
    has and this machine does not; builtin errors (NameError, TypeError, ...) are the code's own."""
    if isinstance(exc, (ImportError, SyntaxError, SystemExit, KeyboardInterrupt)):
        return False
    return isinstance(exc, OSError) or type(exc).__module__ != "builtins"


def import_from(module: str, names: list[str]) -> None:
    """`from module import names` as Python does it: an attribute, else a submodule."""
    mod = importlib.import_module(module)
    for name in names:
        if name == "*" or hasattr(mod, name):
            continue
        try:
            importlib.import_module(f"{module}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{module}.{name}":
                raise
            where = getattr(mod, "__file__", None) or "unknown location"
            raise ImportError(f"cannot import name '{name}' from '{module}' ({where})", name=module) from None


class Walker:
    """Performs the import statements of one entry file in order, without executing anything else in it."""

    def __init__(self, probe: Probe, file: str, package: str | None) -> None:
        self.probe, self.file, self.package = probe, file, package
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.followed: set[str] = set()
        self.imported: dict[str, Any] = {}  # names the file's import statements bound, and to what
        self.rebound: set[str] = set()  # names the file also binds otherwise (their calls are not judged)

    def run(self, body: list[ast.stmt]) -> None:
        self.functions = {s.name: s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.rebound = rebound_names(body)
        self.block(body, in_try=False, cond=None)

    def block(self, body: list[ast.stmt], in_try: bool, cond: str | None) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self.statement(stmt, in_try, cond)
            elif isinstance(stmt, ast.If):
                self.branch(stmt, in_try, cond)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":  # TryStar: 3.11+, same fields
                self.trial(stmt, in_try, cond)  # type: ignore[arg-type, unused-ignore]
            elif isinstance(stmt, (ast.With, ast.AsyncWith, ast.ClassDef)):
                self.block(stmt.body, in_try, cond)
            elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
                self.block(stmt.body, in_try, cond)
                self.block(stmt.orelse, in_try, cond)
            elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.calls(stmt, in_try, cond)
                self.follow(stmt, in_try, cond)  # function bodies run only when called

    def calls(self, stmt: ast.stmt, in_try: bool, cond: str | None) -> None:
        """A call this statement makes at import, to a callable an import bound, with arguments its signature
        refuses: the program raises that TypeError when it starts (`discord.Client()` without discord.py 2's
        required `intents`). Only calls with no `*args`/`**kwargs`, to a signature Python can read."""
        for node in run_now(stmt):
            if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
                continue
            if any(k.arg is None for k in node.keywords):
                continue
            target = self.resolve(node.func)
            if target is None:
                continue
            try:
                signature = inspect.signature(target)
            except (TypeError, ValueError):
                continue
            try:
                signature.bind(*node.args, **{k.arg: k.value for k in node.keywords if k.arg})
            except TypeError as exc:
                shown = ast.unparse(node.func)
                error = TypeError(f"{shown}() {exc}")
                if in_try:
                    raise Failed(error, stmt) from None
                self.probe.failure(error, self.file, node.lineno, cond)
                return

    def resolve(self, func: ast.expr) -> Any:
        """The object `name` or `name.attr...` is, when `name` came from an import; None otherwise."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.insert(0, func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in self.imported or func.id in self.rebound:
            return None
        obj = self.imported[func.id]
        for part in parts:
            if not hasattr(obj, part):
                return None
            obj = getattr(obj, part)
        return obj if callable(obj) else None

    def follow(self, stmt: ast.stmt, in_try: bool, cond: str | None) -> None:
        """A call to one of the entry file's own functions (`main()` under the main guard) runs its body."""
        for node in ast.walk(stmt):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            name = node.func.id
            if name in self.functions and name not in self.followed:
                self.followed.add(name)
                self.block(self.functions[name].body, in_try, cond)

    def statement(self, stmt: ast.Import | ast.ImportFrom, in_try: bool, cond: str | None) -> None:
        try:
            self.perform(stmt)
        except BaseException as exc:  # an imported module may raise anything, SystemExit included
            if in_try:
                raise Failed(exc, stmt) from None
            self.probe.failure(exc, self.file, stmt.lineno, cond)

    def perform(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                importlib.import_module(alias.name)
                bound = alias.asname or alias.name.partition(".")[0]
                self.imported[bound] = sys.modules[alias.name if alias.asname else bound]
            return
        module = stmt.module or ""
        if stmt.level:
            if not self.package:
                raise ImportError("attempted relative import with no known parent package")
            module = importlib.util.resolve_name("." * stmt.level + module, self.package)
        if module == "__future__":
            return
        import_from(module, [alias.name for alias in stmt.names])
        for alias in stmt.names:
            if alias.name != "*" and hasattr(sys.modules[module], alias.name):
                self.imported[alias.asname or alias.name] = getattr(sys.modules[module], alias.name)

    def branch(self, stmt: ast.If, in_try: bool, cond: str | None) -> None:
        try:
            taken = bool(evaluate(stmt.test))
        except Unknown:
            where = cond or ast.unparse(stmt.test)
            self.block(stmt.body, in_try, where)
            self.block(stmt.orelse, in_try, where)
            return
        self.block(stmt.body if taken else stmt.orelse, in_try, cond)

    def trial(self, stmt: ast.Try, in_try: bool, cond: str | None) -> None:
        catches = any(_may_catch_import(h) for h in stmt.handlers)
        try:
            self.block(stmt.body, in_try or catches, cond)
        except Failed as failed:
            handler = next((h for h in stmt.handlers if _handles(h, failed.exc)), None)
            if handler is None:
                if in_try:
                    raise
                self.probe.failure(failed.exc, self.file, failed.stmt.lineno, cond)
            else:
                self.block(handler.body, in_try, cond)
                if _gives_up(handler):  # `except ImportError: raise ...` / `sys.exit(...)`: still a crash
                    if in_try:
                        raise
                    self.probe.failure(failed.exc, self.file, failed.stmt.lineno, cond)
        else:
            self.block(stmt.orelse, in_try, cond)
        finally:
            self.block(stmt.finalbody, in_try, cond)


def run_now(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a statement that run when it does: not the bodies of lambdas or nested functions."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from run_now(child)


def rebound_names(body: list[ast.stmt]) -> set[str]:
    """Names a module binds other than by import (assignment, def, class, for, with, global), anywhere."""
    names: set[str] = set()
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Global):
            names.update(node.names)
    return names


def _gives_up(handler: ast.ExceptHandler) -> bool:
    """The handler raises or exits: the import failure still stops the process."""
    exits = ("sys.exit", "exit", "quit", "os._exit")
    return any(
        isinstance(stmt, ast.Raise)
        or (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and ast.unparse(stmt.value.func) in exits
        )
        for stmt in handler.body
    )


def handler_types(handler: ast.ExceptHandler) -> tuple[type, ...] | None:
    """The builtin exception classes a handler names (None: bare `except:`); unknown names are left out."""
    if handler.type is None:
        return None
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    found = [getattr(builtins, n.id, None) for n in nodes if isinstance(n, ast.Name)]
    return tuple(t for t in found if isinstance(t, type) and issubclass(t, BaseException))


def _may_catch_import(handler: ast.ExceptHandler) -> bool:
    """`except ImportError`, `except ModuleNotFoundError`, `except Exception`, bare `except:` and the like."""
    types = handler_types(handler)
    return types is None or any(issubclass(ImportError, t) or issubclass(t, ImportError) for t in types)


def _catches(types: tuple[type, ...], exc_type: type) -> bool:
    return any(issubclass(exc_type, t) for t in types)


def _handles(handler: ast.ExceptHandler, exc: BaseException) -> bool:
    types = handler_types(handler)
    return types is None or _catches(types, type(exc))


def evaluate(node: ast.expr) -> Any:
    """Value of a condition built from constants, `__name__` (the entry: "__main__"), TYPE_CHECKING,
    sys.version_info, sys.platform, os.name and sys.implementation.name; Unknown for anything else."""
    known: dict[str, Any] = {
        "__name__": "__main__",
        "TYPE_CHECKING": False,
        "typing.TYPE_CHECKING": False,
        "sys.version_info": sys.version_info,
        "sys.platform": sys.platform,
        "os.name": os.name,
        "sys.implementation.name": sys.implementation.name,
    }
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Name, ast.Attribute)):
        dotted = ast.unparse(node)
        if dotted in known:
            return known[dotted]
        raise Unknown(dotted)
    if isinstance(node, ast.Tuple):
        return tuple(evaluate(e) for e in node.elts)
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Slice):
            bounds = [evaluate(b) if b is not None else None for b in (index.lower, index.upper, index.step)]
            return evaluate(node.value)[slice(*bounds)]
        return evaluate(node.value)[evaluate(index)]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not evaluate(node.operand)
    if isinstance(node, ast.BoolOp):
        values = [evaluate(v) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = evaluate(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = evaluate(right_node)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("startswith", "endswith")
        and not node.keywords
    ):
        subject = evaluate(node.func.value)
        if isinstance(subject, str):
            return getattr(subject, node.func.attr)(*[evaluate(a) for a in node.args])
    raise Unknown(ast.dump(node))


def binds_only(body: list[ast.stmt]) -> bool:
    """True when module level only imports and binds names (no calls but decorators), so loading it under
    another name runs nothing of the program; the main guard and TYPE_CHECKING bodies are not entered then.
    Conservative: False only means the file is not loaded (its imports are still checked statically)."""
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _calls(stmt.args):
            continue  # decorators run at import, and are left to run: they are how such modules bind names
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and not _calls(stmt):
            continue
        if (
            isinstance(stmt, ast.ClassDef)
            and not any(_calls(b) for b in stmt.bases)
            and binds_only(stmt.body)
        ):
            continue
        if isinstance(stmt, ast.If):
            test = ast.unparse(stmt.test).replace("'", '"')
            skipped = test in ('__name__ == "__main__"', '"__main__" == __name__', *_TYPE_CHECKING)
            if (skipped or binds_only(stmt.body)) and binds_only(stmt.orelse):
                continue
            return False
        if isinstance(stmt, ast.Try) and all(
            binds_only(part)
            for part in (stmt.body, stmt.orelse, stmt.finalbody, *[h.body for h in stmt.handlers])
        ):
            continue
        return False
    return True


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _calls(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)) for n in ast.walk(node))


def walk_entry(probe: Probe, source: str | bytes, file: str, package: str | None, load: bool) -> None:
    """Check an entry file's imports; if clean and `load`, execute its module level under another name."""
    try:
        tree = ast.parse(source, filename=file)
    except SyntaxError as exc:
        probe.failure(exc, file, exc.lineno)
        return
    before = len(probe.problems)
    Walker(probe, file, package).run(tree.body)
    if not load or len(probe.problems) > before or not binds_only(tree.body):
        return
    alias = f"{package}.__preflight_entry__" if package else "__preflight_entry__"
    spec = importlib.util.spec_from_file_location(alias, file)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        probe.failure(exc, file, None)


def entry_module(probe: Probe, name: str) -> None:
    """`python -m name`: import the parent packages, find the file runpy would run, walk it."""
    parent = name.rpartition(".")[0]
    try:
        if parent:
            importlib.import_module(parent)
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        package = parent
        if spec.submodule_search_locations is not None:
            importlib.import_module(name)
            spec = importlib.util.find_spec(f"{name}.__main__")
            if spec is None:
                raise ImportError(
                    f"No module named {name}.__main__; '{name}' is a package and cannot be directly executed"
                )
            package = name
    except BaseException as exc:
        probe.failure(exc, None, None)
        return
    if spec.origin and spec.origin.endswith(".py") and os.path.isfile(spec.origin):
        with open(spec.origin, "rb") as handle:
            walk_entry(probe, handle.read(), spec.origin, package or None, load=True)
    elif spec.loader is not None and hasattr(spec.loader, "get_code"):
        try:
            spec.loader.get_code(spec.name)
        except BaseException as exc:
            probe.failure(exc, spec.origin, None)


def entry_script(probe: Probe, path: str) -> None:
    """`python path`: sys.path[0] is the script's folder; the file is walked, never run."""
    full = os.path.join(probe.root, path)
    if not os.path.isfile(full):
        probe.add("import_error", f"can't open file '{path}': [Errno 2] No such file or directory", file=None)
        return
    sys.path[0] = os.path.dirname(os.path.realpath(full))
    with open(full, "rb") as handle:
        walk_entry(probe, handle.read(), full, None, load=True)


def resolve_attr(probe: Probe, module_name: str, attr: str, shown: str) -> None:
    """Import module_name, then follow the dotted attribute path as the server would."""
    try:
        obj: object = importlib.import_module(module_name)
    except BaseException as exc:
        probe.failure(exc, None, None)
        return
    for part in attr.split("."):
        if not part or not hasattr(obj, part):
            probe.add(
                "attr_missing",
                f"`{shown}`: module `{module_name}` has no attribute `{attr}`",
                module=module_name,
                name=attr,
                file=getattr(sys.modules.get(module_name), "__file__", None),
                line=None,
                suggest=suggest(part, obj),
            )
            return
        obj = getattr(obj, part)


def entry_attr(probe: Probe, value: str, default: str | None) -> None:
    """`module:attr` (gunicorn, uvicorn, ...): attr may be a dotted path or a factory call `create()`."""
    module, _, attr = value.partition(":")
    attr = attr.split("(", 1)[0].strip()
    if not attr and default == "":
        probe.add("attr_missing", f"`{value}` is not in `module:attribute` form", module=module, name=None)
        return
    if not attr and not default:
        try:
            importlib.import_module(module)
        except BaseException as exc:
            probe.failure(exc, None, None)
        return
    resolve_attr(probe, module, attr or str(default), value)


def entry_dotted(probe: Probe, value: str) -> None:
    """`a.b.Name` (rq, arq, huey): the longest importable module prefix, then attributes."""
    if ":" in value:
        entry_attr(probe, value, None)
        return
    parts = value.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name) and cut > 1:
                continue
            probe.failure(exc, None, None)
            return
        except BaseException as exc:
            probe.failure(exc, None, None)
            return
        resolve_attr(probe, module, ".".join(parts[cut:]), value)
        return
    entry_attr(probe, value, None)


def entry_celery(probe: Probe, value: str) -> None:
    """`celery -A value`: Celery's own resolver (when Celery is missing, the console check reports it)."""
    if ":" in value:  # Celery reads `module:attr` as exactly that
        entry_attr(probe, value, None)
        return
    try:
        from celery.app.utils import find_app  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        entry_attr(probe, value, "app")
        return
    try:
        app = find_app(value)
    except AttributeError as exc:
        probe.add("attr_missing", f"celery -A {value}: {exc}", module=value.split(":")[0], name=None)
    except BaseException as exc:
        probe.failure(exc, None, None)
    else:
        load_transport(probe, app, value)


def load_transport(probe: Probe, app: Any, value: str) -> None:
    """What `celery worker` loads at start for the broker URL's scheme, short of connecting: kombu's transport
    module and class (its client library imported, e.g. redis), then the channel's client check, where kombu
    raises VersionMismatch ("Redis transport requires redis-py versions 6.1.0 or later"). No broker URL in the
    app's configuration here (a config var unset on this machine): not checked."""
    try:
        url = app.conf.broker_read_url or app.conf.broker_url
    except BaseException as exc:
        probe.failure(exc, None, None)
        return
    if not url:
        return
    try:
        transport = app.connection_for_read().transport  # imports kombu.transport.<scheme>; no connection yet
        channel = getattr(transport, "Channel", None)
        get_client = getattr(channel, "_get_client", None)
        if channel is not None and get_client is not None:
            try:
                stub = channel.__new__(channel)
            except TypeError:
                return
            try:
                get_client(stub)
            except AttributeError:
                return  # this kombu's channel needs more than the probe gives: its version check ran first
    except BaseException as exc:
        if isinstance(exc, ImportError) or type(exc).__name__ == "VersionMismatch":
            module = exc.name if isinstance(exc, ImportError) else None
            error = traceback.format_exception_only(type(exc), exc)[-1].strip()
            probe.add("import_error", f"celery -A {value}: broker transport: {error}", module=module,
                      exception=type(exc).__name__, file=None, line=None, via=None)  # fmt: skip
        else:
            probe.failure(exc, None, None)


def entry_console(probe: Probe, name: str) -> None:
    """A command: its console_scripts entry point from the environment's metadata, loaded (not called)."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="console_scripts") if ep.name == name]
    if found:
        resolve_attr(probe, found[0].module, found[0].attr, f"{name} = {found[0].value}")
        return
    bindir = os.path.dirname(sys.executable)
    if os.path.isfile(os.path.join(bindir, name)) or shutil.which(name):
        probe.add(
            "not_verified", f"`{name}` is not a Python entry point", reason="not a Python console script"
        )
        return
    probe.add("console_missing", f"command not found: no installed distribution provides `{name}`", name=name)


def entry_code(probe: Probe, code: str) -> None:
    """`python -c CODE`: its module level is walked like an entry file's, never run."""
    walk_entry(probe, code, "<string>", None, load=False)


# How each kind of target (see entrypoints.py) is probed; "attr" also takes the target's default attribute.
ENTRIES: dict[str, Callable[[Probe, str], None]] = {
    "module": entry_module,
    "script": entry_script,
    "code": entry_code,
    "dotted": entry_dotted,
    "celery": entry_celery,
    "console": entry_console,
}


def run_target(probe: Probe, target: dict[str, Any]) -> None:
    kind, value = target["kind"], target["value"]
    for extra in reversed(target.get("paths", [])):
        sys.path.insert(0, os.path.join(probe.root, extra))
    if kind == "attr":
        entry_attr(probe, value, target.get("default"))
    elif kind in ENTRIES:
        ENTRIES[kind](probe, value)


def main() -> None:
    """Run with -I from the app root: sys.path gets the app root as the start folder and as PYTHONPATH."""
    task = json.loads(sys.argv[1])
    sys.path[0:0] = [os.getcwd(), os.getcwd()]  # [0]: cwd (-m, -c) or the script's folder; [1]: PYTHONPATH
    for index, target in enumerate(task["targets"]):
        probe = Probe(os.getcwd())
        emit({"start": index})
        try:
            run_target(probe, target)
        except BaseException as exc:  # the probe's own bug must not pass as success
            probe.add("probe_error", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        emit({"done": index, "problems": probe.problems})
    sys.stdout.flush()
    os._exit(0)  # threads or atexit hooks started by app imports must not keep the probe alive


if __name__ == "__main__":
    main()
