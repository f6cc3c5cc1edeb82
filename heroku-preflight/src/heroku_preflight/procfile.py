"""Procfile: parse each process and resolve its target from the app root the way a dyno starts it."""

from __future__ import annotations

import dataclasses
import difflib
import re
import shlex
from pathlib import Path

from . import imports, layout
from .findings import Finding, error, warning
from .requirements_file import Requirements, normalize

_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.*)$")
# How a Procfile command is read; entrypoints.py reads commands with these too (one home).
PYTHON_COMMAND = re.compile(r"^python(3(\.\d+)?)?$")
SHELL_OPERATORS = frozenset({"&&", "||", ";", "|", "&"})
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclasses.dataclass(frozen=True)
class Process:
    name: str
    line: int
    command: str
    # "module" (python -m X), "script" (python x.py), "path" (bin/x), "console" (a command) or "other"
    kind: str
    target: str


def parse(app: Path) -> tuple[list[Process], list[Finding]]:
    path = app / "Procfile"
    if not path.is_file():
        return [], [
            error(
                "HW501",
                "Procfile",
                None,
                "no Procfile: Heroku has no worker process to start",
                "add a Procfile with e.g. `worker: python -m yourpackage`",
            )
        ]
    processes: list[Process] = []
    findings: list[Finding] = []
    seen: set[str] = set()
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        match = _LINE.match(raw.strip())
        if not match or not match.group(2).strip():
            findings.append(
                error(
                    "HW502",
                    "Procfile",
                    number,
                    f"cannot parse `{raw.strip()}`: expected `<type>: <command>`",
                    "write it as `worker: python -m yourpackage` (type: letters, digits, - or _)",
                )
            )
            continue
        name, command = match.group(1), match.group(2).strip()
        if name in seen:
            findings.append(
                error(
                    "HW502",
                    "Procfile",
                    number,
                    f"process type `{name}` is defined twice",
                    "keep one line per process type",
                )
            )
            continue
        seen.add(name)
        try:
            words = shlex.split(command)
        except ValueError as exc:
            findings.append(
                error(
                    "HW502",
                    "Procfile",
                    number,
                    f"`{name}` command does not parse: {exc}",
                    "balance the quotes in the command",
                )
            )
            continue
        processes.append(_classify(name, number, command, words))
    return processes, findings


def _classify(name: str, line: int, command: str, words: list[str]) -> Process:
    while words and (ASSIGNMENT.match(words[0]) or words[0] in ("exec", "env")):
        words = words[1:]
    for i, word in enumerate(words):
        if word in SHELL_OPERATORS:
            words = words[:i]
            break
    if not words:
        return Process(name, line, command, "other", "")
    first = words[0]
    if PYTHON_COMMAND.match(first):
        rest = words[1:]
        while rest:
            word = rest.pop(0)
            if word == "-m" and rest:
                return Process(name, line, command, "module", rest[0])
            if word.startswith("-m") and len(word) > 2:
                return Process(name, line, command, "module", word[2:])
            if word in ("-c",) or word.startswith("-c"):
                return Process(name, line, command, "other", "")
            if word in ("-X", "-W") and rest:
                rest.pop(0)
            elif not word.startswith("-"):
                return Process(name, line, command, "script", word)
        return Process(name, line, command, "other", "")
    if "/" in first:
        return Process(name, line, command, "path", first)
    return Process(name, line, command, "console", first)


def check(app: Path, processes: list[Process], reqs: Requirements, minor: int) -> list[Finding]:
    findings: list[Finding] = []
    local = layout.top_level_names(app)
    for proc in processes:
        if proc.kind == "module":
            findings.extend(_check_module(app, proc, local, reqs, minor))
        elif proc.kind == "script":
            findings.extend(_check_script(app, proc, local))
        elif proc.kind == "path" and not (app / proc.target).is_file():
            findings.append(
                error(
                    "HW504",
                    "Procfile",
                    proc.line,
                    f"`{proc.name}` runs {proc.target}, which does not exist",
                    "fix the path (relative to the app root) or commit the file",
                )
            )
        # console commands (`rq worker`) are resolved by the entry-point check (entrypoints.py, HW413)
    return findings


def _suggest(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _check_module(
    app: Path, proc: Process, local: dict[str, str], reqs: Requirements, minor: int
) -> list[Finding]:
    parts = proc.target.split(".")
    top = parts[0]
    where = f"Procfile `{proc.name}`: python -m {proc.target}"
    if top in local:
        base = app
        for i, part in enumerate(parts):
            folder, module = base / part, base / f"{part}.py"
            if folder.is_dir() and (folder / "__init__.py").is_file():
                base = folder
                continue
            if module.is_file() and i == len(parts) - 1:
                return []
            siblings = [p.stem for p in base.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()]
            wanted = ".".join(parts[: i + 1])
            return [
                error(
                    "HW503",
                    "Procfile",
                    proc.line,
                    f"{where}: no module `{wanted}` from the app root" + _suggest(part, siblings),
                    f"point it at an existing module, e.g. `python -m {top}`",
                )
            ]
        if not (base / "__main__.py").is_file():
            return [
                error(
                    "HW508",
                    "Procfile",
                    proc.line,
                    f"{where}: `{proc.target}` is a package without __main__.py",
                    f"add {base.relative_to(app).as_posix()}/__main__.py, or run a module: `python -m "
                    f"{proc.target}.main`",
                )
            ]
        return []
    if (app / "src" / top).is_dir():
        return []  # reported once as HW507 (src layout never installed)
    if top in layout.stdlib_names(minor) or normalize(top) in reqs.names():
        return []
    suggestion = _suggest(top, list(local))
    if suggestion:
        return [
            error(
                "HW503",
                "Procfile",
                proc.line,
                f"{where}: no module `{top}` in the app root" + suggestion,
                "fix the module name in the Procfile",
            )
        ]
    return [
        warning(
            "HW503",
            "Procfile",
            proc.line,
            f"{where}: `{top}` is neither in the app root nor named like a requirement",
            "check the name; the fresh-env / in-place steps import it to be sure",
        )
    ]


def _check_script(app: Path, proc: Process, local: dict[str, str]) -> list[Finding]:
    script = app / proc.target
    if not script.is_file():
        candidates = [p.relative_to(app).as_posix() for p in layout.app_python_files(app)]
        return [
            error(
                "HW504",
                "Procfile",
                proc.line,
                f"Procfile `{proc.name}`: python {proc.target}: no such file"
                + _suggest(proc.target, candidates),
                "fix the path; it is relative to the app root (/app on a dyno)",
            )
        ]
    if script.resolve().parent == app.resolve():
        return []
    tree = imports.parse(script)
    if tree is None:
        return []
    rel = script.relative_to(app)
    used = sorted({name.split(".")[0] for name, _ in imports.imported_modules(tree, None)} & set(local))
    used = [name for name in used if not (script.parent / f"{name}.py").exists()]
    if not used:
        return []
    dotted = ".".join(rel.with_suffix("").parts)
    return [
        error(
            "HW505",
            "Procfile",
            proc.line,
            f"Procfile `{proc.name}`: `python {proc.target}` puts {rel.parent.as_posix()}/ on sys.path, not "
            "the app "
            f"root, yet it imports {', '.join(used)}: works on a dyno only via PYTHONPATH=/app, fails "
            "locally",
            f"run it as a module from the app root: `{proc.name}: python -m {dotted}`",
        )
    ]
