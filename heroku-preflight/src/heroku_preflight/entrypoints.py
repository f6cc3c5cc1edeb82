"""Entry points verified down to the names: each Procfile command would get past its imports on a dyno.

`parse_command` turns a Procfile command into targets (`python -m pkg`, `python file.py`, `python -c`,
`module:attr` of gunicorn/uvicorn/hypercorn/daphne/waitress, `celery -A`, rq/arq/huey/dramatiq targets,
console scripts). `verify_entrypoints` runs preflight/entry_probe.py in the app's fresh environment, from the
app root with PYTHONPATH=app as on a dyno, and turns what it reports into findings. The probe imports what an
entry imports and checks every imported name, but never runs the entry file's body: no worker loop starts.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from . import config_vars
from .findings import Finding, could_not_run, error, warning
from .procfile import ASSIGNMENT, PYTHON_COMMAND, SHELL_OPERATORS
from .run import cache_dir

PROBE_SOURCE = resources.files("heroku_preflight").joinpath("entry_probe.py").read_text("utf-8")
MARK = "@@entry@@ "


def _flags(text: str) -> frozenset[str]:
    return frozenset(text.split())


_IGNORED = _flags("cd echo export set true : sleep ulimit trap wait printf mkdir")
_MODULE_LIKE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*(:.+)?$")
# Wrappers that start the command after them (after their own sub-command, if any).
_WRAPPERS: dict[str, frozenset[str]] = {
    "ddtrace-run": frozenset(),
    "newrelic-admin": _flags("run-program run-python"),
    "opentelemetry-instrument": frozenset(),
    "scout-apm": frozenset(),
}


@dataclasses.dataclass(frozen=True)
class Target:
    """One thing a process needs at start-up, as the probe checks it.

    kind: module (`python -m`), script (`python file.py`), code (`python -c`), attr (`module:attr`; `default`
    is the attribute when none is given: "" = one is required, None = import the module only), dotted
    (`a.b.Name`), celery (`-A`), console (a command from the environment), unverified (not Python).
    paths: extra sys.path entries relative to the app root (gunicorn --chdir/--pythonpath, uvicorn --app-dir).
    """

    kind: str
    value: str
    default: str | None = None
    paths: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "default": self.default, "paths": list(self.paths)}


# --- Parsing Procfile commands ------------------------------------------------------------------------------


def parse_command(command: str) -> list[Target]:
    """The targets a Procfile command starts; [] if it does not parse (the Procfile parser reports that).

    A `cd DIR` moves the targets after it, as the shell does: a script's path is relative to DIR, and DIR
    comes first on sys.path (the dyno's PYTHONPATH still holds the app root).
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return []
    targets: list[Target] = []
    segment: list[str] = []
    cwd: str | None = ""  # where the shell is, relative to the app root; None: a folder not known here
    for word in [*words, ";"]:
        if word in SHELL_OPERATORS or word.endswith(";"):
            if word.endswith(";") and word != ";":  # `cd src;` ends a command
                segment.append(word[:-1])
            if segment[:1] == ["cd"]:
                cwd = _cd(cwd, segment[1:])
                if cwd is None:  # what follows runs in a folder the checker cannot know
                    return list(dict.fromkeys([*targets, Target("unverified", " ".join(segment))]))
            else:
                targets.extend(_moved(target, cwd or "") for target in _segment(segment))
            segment = []
        else:
            segment.append(word)
    return list(dict.fromkeys(targets))


def _cd(cwd: str | None, args: list[str]) -> str | None:
    """The folder after `cd args`, relative to the app root (/app and $HOME on a dyno); None if not known."""
    if cwd is None or len(args) > 1:
        return None
    where = args[0] if args else "~"
    for home in ("/app", "~", "$HOME", "${HOME}"):
        if where == home or where.startswith(home + "/"):
            where, cwd = where[len(home) :].lstrip("/") or ".", ""
            break
    if where.startswith(("/", "~", "-")) or "$" in where or "`" in where:
        return None
    moved = posixpath.normpath(posixpath.join(cwd, where))
    if moved == ".":
        return ""
    return None if moved == ".." or moved.startswith("../") else moved


def _moved(target: Target, cwd: str) -> Target:
    """A target as it runs from `cwd` (relative to the app root)."""
    if not cwd or target.kind == "console":
        return target
    if target.kind in ("script", "unverified"):  # a path (bin/start, run.py) is relative to the folder
        path = target.value
        if path.startswith("/") or (target.kind == "unverified" and (" " in path or "/" not in path)):
            return target
        return dataclasses.replace(target, value=posixpath.join(cwd, path))
    # The target's own folders (gunicorn --chdir, relative to where it starts) first, then the start folder.
    return dataclasses.replace(target, paths=(*(posixpath.join(cwd, p) for p in target.paths), cwd))


def _segment(words: list[str]) -> list[Target]:
    while words and (ASSIGNMENT.match(words[0]) or words[0] in ("exec", "env", "nice", "time", "--")):
        prefix, words = words[0], words[1:]
        while prefix == "env" and words and words[0].startswith("-"):  # env -i, env -u VAR
            words = words[2:] if words[0] in ("-u", "--unset", "-C", "--chdir") else words[1:]
    if not words or words[0] in _IGNORED:
        return []
    command, name = words[0], os.path.basename(words[0])
    if name in ("sh", "bash") and "-c" in words[1:-1]:
        return parse_command(words[words.index("-c") + 1])
    if PYTHON_COMMAND.match(name):
        return _python(words[1:])
    if "/" in command and command.endswith(".py"):  # ./manage.py: run by its shebang's Python
        return [Target("script", command)]
    if "/" in command:  # bin/start-nginx gunicorn app:app: the wrapped command is checked too
        wrapped = words[1:] and (words[1] in TOOLS or PYTHON_COMMAND.match(words[1]))
        return [Target("unverified", command), *(_segment(words[1:]) if wrapped else [])]
    if name in _WRAPPERS:
        rest = _skip_options(words[1:])
        if rest and rest[0] in _WRAPPERS[name]:
            rest = rest[1:]
        return [Target("console", name), *_segment(rest)]
    return [Target("console", name), *TOOLS.get(name, _no_targets)(words[1:])]


def _no_targets(args: list[str]) -> list[Target]:
    return []


def _skip_options(words: list[str]) -> list[str]:
    """Drop a wrapper's own `--opt value` / `--opt=value` / `-x` options before the wrapped command."""
    while words and words[0].startswith("-"):
        word = words.pop(0)
        takes_value = word.startswith("--") and "=" not in word and words and not words[0].startswith("-")
        if takes_value and not (PYTHON_COMMAND.match(words[0]) or words[0] in TOOLS):
            words.pop(0)
    return words


def _python(args: list[str]) -> list[Target]:
    """`python [options] (-m module | -c code | file | -) [args]`, read as the interpreter reads it."""
    while args:
        word = args.pop(0)
        if word.startswith("-m") and (len(word) > 2 or args):
            module = word[2:] or args.pop(0)
            return [Target("module", module), *TOOLS.get(module, _no_targets)(args)]
        if word.startswith("-c") and (len(word) > 2 or args):
            return [Target("code", word[2:] or args[0])]
        if word in ("-X", "-W", "--check-hash-based-pycs") and args:
            args.pop(0)
        elif word == "-":
            return [Target("unverified", "python -")]
        elif not word.startswith("-"):
            return [Target("script", word)]
    return [Target("unverified", "python (interactive)")]


def _options(
    args: list[str], takes_value: frozenset[str], many: frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, list[str]]]:
    """Positional words and option values, given which options take a value (`many`: several values)."""
    positional: list[str] = []
    values: dict[str, list[str]] = {}
    words = list(args)
    while words:
        word = words.pop(0)
        if word == "--":
            positional.extend(words)
            break
        if word.startswith("--") and "=" in word:
            key, _, value = word.partition("=")
            values.setdefault(key, []).append(value)
        elif word in many:
            while words and not words[0].startswith("-"):
                values.setdefault(word, []).append(words.pop(0))
        elif word in takes_value:
            if words:
                values.setdefault(word, []).append(words.pop(0))
        elif not word.startswith("--") and word[:2] in takes_value and len(word) > 2:
            values.setdefault(word[:2], []).append(word[2:])  # -Aproj
        elif not word.startswith("-") or word == "-":
            positional.append(word)
    return positional, values


def _value(values: dict[str, list[str]], *names: str) -> list[str]:
    return [v for name in names for v in values.get(name, [])]


def _app_target(positional: list[str], default: str | None, paths: tuple[str, ...] = ()) -> list[Target]:
    """The `module:attr` word of a server command: one with a colon, else the first module-like word."""
    candidates = [w for w in positional if _MODULE_LIKE.match(w)]
    chosen = next((w for w in candidates if ":" in w), candidates[0] if candidates else None)
    return [Target("attr", chosen, default, paths)] if chosen else []


# Options that take a value, per tool (so that value is not mistaken for the app target).
_GUNICORN = _flags("""
    -b --bind -w --workers -k --worker-class -t --timeout -c --config --log-level --access-logfile
    --error-logfile --log-file --max-requests --max-requests-jitter --threads --chdir --pythonpath -e --env
    -n --name --keep-alive --graceful-timeout --worker-connections -p --pid -u --user -g --group
    --forwarded-allow-ips --certfile --keyfile --statsd-host -m --umask --limit-request-line --worker-tmp-dir
    --backlog --log-config --access-logformat --logger-class --limit-request-fields
    --limit-request-field_size --proxy-allow-from --paste --capture-output-file
""")
_UVICORN = _flags("""
    --host --port --uds --fd --workers --loop --http --ws --lifespan --interface --env-file --log-config
    --log-level --root-path --limit-concurrency --backlog --limit-max-requests --timeout-keep-alive
    --timeout-graceful-shutdown --ssl-keyfile --ssl-certfile --ssl-keyfile-password --ssl-version
    --ssl-cert-reqs --ssl-ca-certs --ssl-ciphers --header --forwarded-allow-ips --app-dir --reload-dir
    --reload-include --reload-exclude --reload-delay --ws-max-size --ws-max-queue --ws-ping-interval
    --ws-ping-timeout --h11-max-incomplete-event-size
""")
_HYPERCORN = _flags("""
    -b --bind -w --workers -k --worker-class -c --config --log-level --access-logfile --error-logfile
    --log-config --keep-alive --root-path --certfile --keyfile --ca-certs --ciphers -u --user -g --group
    -p --pid -m --umask --graceful-timeout --backlog --insecure-bind --quic-bind --access-logformat
    --server-name --read-timeout --max-requests --max-requests-jitter --statsd-host --statsd-prefix
    --websocket-ping-interval
""")
_DAPHNE = _flags("""
    -b --bind -p --port -u --unix-socket --fd -e --endpoint --access-log --log-fmt --root-path -t
    --http-timeout --websocket_timeout --websocket_connect_timeout --ping-interval --ping-timeout
    --application-close-timeout -v --verbosity --proxy-headers-host --proxy-headers-port --server-name
""")
_CELERY = _flags("""
    -A --app -b --broker --result-backend --loader --config --workdir -l --loglevel -c --concurrency -Q
    --queues -P --pool -n --hostname -O -E --logfile --pidfile -s --schedule -S --scheduler
    --max-tasks-per-child --autoscale -X --exclude-queues --time-limit --soft-time-limit
    --prefetch-multiplier -f -D --uid --gid --umask --executable
""")
_RQ = _flags("""
    -u --url -c --config -w --worker-class -j --job-class --queue-class -S --serializer --connection-class
    -P --path -n --name --results-ttl --worker-ttl --job-monitoring-interval --logging_level --log-format
    --date-format --exception-handler --pid --max-jobs --max-idle-time --dequeue-strategy
    --maintenance-interval --sentry-dsn --sentry-ca-certs --sentry-debug
""")
_RQ_CLASSES = ("-w", "--worker-class", "-j", "--job-class", "--queue-class", "-S", "--serializer")
_DRAMATIQ = _flags("-p --processes -t --threads --pid-file --log-file --watch -f --fork-function")
_HUEY = _flags("-w --workers -k --worker-type -l --logfile -d --delay -m --max-delay -b --backoff")


def _gunicorn(args: list[str]) -> list[Target]:
    positional, values = _options(args, _GUNICORN)
    paths = (
        *_value(values, "--chdir"),
        *(p for v in _value(values, "--pythonpath") for p in v.split(",") if p),
    )
    return _app_target(positional, "application", paths)


def _uvicorn(args: list[str]) -> list[Target]:
    positional, values = _options(args, _UVICORN)
    return _app_target(positional, "", tuple(_value(values, "--app-dir")))


def _celery(args: list[str]) -> list[Target]:
    _, values = _options(args, _CELERY)
    paths = tuple(_value(values, "--workdir"))
    return [Target("celery", app, None, paths) for app in _value(values, "-A", "--app")]


def _rq(args: list[str]) -> list[Target]:
    _, values = _options(args, _RQ)
    paths = tuple(_value(values, "-P", "--path"))
    targets = [Target("attr", config, None, paths) for config in _value(values, "-c", "--config")]
    for option in _RQ_CLASSES:
        targets.extend(Target("dotted", value, None, paths) for value in _value(values, option))
    return targets


def _dramatiq(args: list[str]) -> list[Target]:
    positional, values = _options(args, _DRAMATIQ, _flags("-Q --queues -P --path"))
    paths = tuple(_value(values, "-P", "--path"))
    return [Target("attr", word, None, paths) for word in positional if _MODULE_LIKE.match(word)]


def _first_dotted(args: list[str], takes_value: frozenset[str]) -> list[Target]:
    positional = [w for w in _options(args, takes_value)[0] if _MODULE_LIKE.match(w)]
    return [Target("dotted", positional[0])] if positional else []


TOOLS: dict[str, Callable[[list[str]], list[Target]]] = {
    "gunicorn": _gunicorn,
    "uvicorn": _uvicorn,
    "hypercorn": lambda args: _app_target(_options(args, _HYPERCORN)[0], "app"),
    "daphne": lambda args: _app_target(_options(args, _DAPHNE)[0], ""),
    "waitress-serve": lambda args: _app_target(_options(args, frozenset())[0], ""),
    "celery": _celery,
    "rq": _rq,
    "rqworker": _rq,
    "dramatiq": _dramatiq,
    "huey_consumer": lambda args: _first_dotted(args, _HUEY),
    "huey_consumer.py": lambda args: _first_dotted(args, _HUEY),
    "arq": lambda args: _first_dotted(args, _flags("--custom-log-dict --watch")),
}


# --- Running the probe --------------------------------------------------------------------------------------


def probe_command(python: Path, task: dict[str, Any], pycache: Path | None) -> list[str]:
    """`python -I -X pycache_prefix=... -c PROBE task`.

    -I: none of the caller's PYTHON* settings, no user site, and no app folder on sys.path while the probe
    imports its own stdlib modules (an app's root `ast.py` must not break the probe); the probe then puts the
    app root on sys.path as a dyno's PYTHONPATH=/app does. Bytecode goes to a cache of ours: warm re-runs, and
    no __pycache__ written into the app (the slug).
    """
    prefix = pycache or cache_dir() / "pycache"
    return [str(python), "-I", "-X", f"pycache_prefix={prefix}", "-c", PROBE_SOURCE, json.dumps(task)]


def probe_environ(python: Path) -> dict[str, str]:
    """The caller's environment (config vars an app reads), the app environment's bin first on PATH."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "__PYVENV_LAUNCHER__")
    }
    env["PATH"] = str(python.parent) + os.pathsep + env.get("PATH", os.defpath)
    return env


@dataclasses.dataclass
class _Run:
    """One probe process, shared by the processes whose commands need the same targets."""

    processes: list[str]
    targets: list[Target]
    proc: subprocess.Popen[str] | None = None
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    timed_out: bool = False
    stderr: str = ""

    def start(self, app: Path, python: Path, pycache: Path | None) -> None:
        task = {"targets": [t.to_json() for t in self.targets]}
        self.proc = subprocess.Popen(
            probe_command(python, task, pycache),
            cwd=app,
            env=probe_environ(python),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, timeout: float) -> None:
        assert self.proc is not None
        try:
            stdout, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            stdout, self.stderr = self.proc.communicate()
            self.timed_out = True
        self.events = [json.loads(line[len(MARK) :]) for line in stdout.splitlines() if line.startswith(MARK)]


def verify_entrypoints(
    app: Path,
    python: Path,
    commands: list[tuple[str, str]],
    timeout: float = 60.0,
    *,
    pycache: Path | None = None,
) -> list[Finding]:
    """Findings for every (process name, Procfile command): what would stop it before its first line of work.

    `python` is the interpreter of the fresh environment built from the app's requirements. Processes with the
    same targets share one probe; probes run in parallel, each for at most `timeout` seconds.
    """
    app, python = app.resolve(), python.absolute()  # absolute(): a venv's python symlink must stay as it is
    if not python.exists() or not app.is_dir():
        missing = f"interpreter {python}" if app.is_dir() else f"app folder {app}"
        return [
            could_not_run(
                "HW419",
                f"entry points not checked: {missing} does not exist",
                "build the fresh environment first, and pass the app's root folder",
            )
        ]
    findings: list[Finding] = []
    grouped: dict[tuple[Target, ...], list[str]] = {}
    for name, command in commands:
        targets = [_python_shebang(app, t) for t in parse_command(command)]
        findings.extend(_unverified(name, command, t) for t in targets if t.kind == "unverified")
        checkable = tuple(t for t in targets if t.kind != "unverified")
        if checkable:
            grouped.setdefault(checkable, []).append(name)
    runs = [_Run(names, list(targets)) for targets, names in grouped.items()]
    try:
        for run in runs:
            run.start(app, python, pycache)
    except OSError as exc:
        for run in runs:
            if run.proc is not None:
                run.proc.kill()
                run.proc.communicate()
        return [could_not_run("HW419", f"entry points not checked: cannot start {python}: {exc}", _START_FIX)]
    deadline = time.monotonic() + timeout  # the probes run side by side: one budget for all of them
    for run in runs:
        run.finish(max(deadline - time.monotonic(), 0.1))
        findings.extend(_report(run, app, timeout))
    return findings


_START_FIX = "check that the fresh environment's interpreter runs (`python -c pass`)"


def _python_shebang(app: Path, target: Target) -> Target:
    """`bin/worker` whose first line is `#!/usr/bin/env python3` is a Python script."""
    path = app / target.value
    if target.kind != "unverified" or not path.is_file():
        return target
    with path.open("rb") as handle:
        first = handle.readline(200)
    shebang = first.decode("utf-8", "replace").strip().split()
    if first.startswith(b"#!") and any(PYTHON_COMMAND.match(os.path.basename(word)) for word in shebang[:2]):
        return Target("script", target.value)
    return target


# --- Findings -----------------------------------------------------------------------------------------------


def _unverified(name: str, command: str, target: Target) -> Finding:
    if target.value.startswith("cd "):
        return warning(
            "HW414",
            "Procfile",
            None,
            f"`{name}: {command}`: `{target.value}` goes to a folder not known before the dyno runs, so what "
            "the command starts there is NOT VERIFIED",
            "use a folder inside the app, relative to its root (`cd src && python -m pkg`)",
        )
    return warning(
        "HW414",
        "Procfile",
        None,
        f"`{name}: {command}`: `{target.value}` is not a Python entry point, so its imports are NOT VERIFIED",
        "start Python code with `python -m package` (or a console script) so preflight can check it",
    )


def _report(run: _Run, app: Path, timeout: float) -> list[Finding]:
    who = ", ".join(f"`{p}`" for p in run.processes)
    done = {e["done"]: e["problems"] for e in run.events if "done" in e}
    started = [e["start"] for e in run.events if "start" in e]
    findings = [
        _finding(who, target, problem, app)
        for index, target in enumerate(run.targets)
        for problem in done.get(index, [])
    ]
    if len(done) == len(run.targets):
        return findings
    stuck = _describe(run.targets[started[-1]]) if started else "(before the first target)"
    if run.timed_out:
        message = f"{who} ({stuck}): its imports did not finish in {timeout:.0f} s (something runs at import)"
        fix = "move loops and network calls out of module level, into a function or under the main guard"
    else:
        last = (run.stderr.strip().splitlines() or [f"exit {run.proc.returncode if run.proc else '?'}"])[-1]
        message = f"{who} ({stuck}): the process died while importing: {last[:300]}"
        fix = "fix the error above; the dyno dies the same way"
    return [*findings, error("HW411", "Procfile", None, message, fix)]


def _rel(app: Path, file: str | None) -> str | None:
    if not file:
        return None
    try:
        return Path(file).resolve().relative_to(app).as_posix()
    except ValueError:
        return None  # a file of an installed distribution: named by its module in the message instead


def _where(app: Path, problem: dict[str, Any]) -> tuple[str | None, int | None, str]:
    """(file, line) for the finding, and `file:line (imported from file:line)` for its message."""
    file, line = _rel(app, problem.get("file")), problem.get("line")
    text = (f"{file}:{line}" if line else file) if file else ""
    via = problem.get("via")
    if via and _rel(app, via[0]):
        text += f" (imported from {_rel(app, via[0])}" + (f":{via[1]})" if via[1] else ")")
    return file or "Procfile", line if file else None, text


def _finding(who: str, target: Target, problem: dict[str, Any], app: Path) -> Finding:
    kind, err = problem["kind"], problem["error"]
    file, line, where = _where(app, problem)
    at = f" {where}:" if where else ""
    head = f"{who} ({_describe(target)}):{at}"
    hint = f" (did you mean `{problem['suggest']}`?)" if problem.get("suggest") else ""
    module, name = problem.get("module"), problem.get("name")
    if kind == "name_missing":
        return error(
            "HW410",
            file,
            line,
            f"{head} imports `{name}` from `{module}`, which has no such name{hint}",
            f"define `{name}` in `{module}`, or change the import{_at(where)} to a name `{module}` has",
        )
    if kind == "attr_missing":
        return error("HW412", file, line, f"{head} {err}{hint}", _ATTR_FIX)
    if kind == "console_missing":
        return error(
            "HW413",
            "Procfile",
            None,
            f"{who}: {err}",
            f"add the distribution that provides `{name}` to requirements.txt, or start the code with "
            "`python -m package`",
        )
    if kind == "not_verified":
        return warning(
            "HW414", file, line, f"{head} NOT VERIFIED: {problem.get('reason')}: {err}", _MAYBE_FIX
        )
    if kind == "probe_error":
        return could_not_run("HW419", f"{head} the entry-point probe failed: {err[-400:]}", _BUG)
    needs = config_vars.unset_reads(app, problem.get("file"), problem.get("line"), err)
    if needs:
        return warning("HW414", file, line, f"{head} {config_vars.message(needs)}: {err}", config_vars.FIX)
    return error("HW411", file, line, f"{head} {err}", _import_fix(err, module, app))


_ATTR_FIX = "point the command at an object that exists (`module:attribute`), or define it in that module"
_MAYBE_FIX = "make sure the dyno's config vars and conditions hold, or import it unconditionally"
_BUG = "a bug in preflight's entry-point probe: report it with the app's Procfile line"


def _at(where: str) -> str:
    return f" at {where.split(' ')[0]}" if where else ""


def _describe(target: Target) -> str:
    return {
        "module": f"python -m {target.value}",
        "script": f"python {target.value}",
        "code": "python -c",
        "celery": f"celery -A {target.value}",
        "console": f"command `{target.value}`",
    }.get(target.kind, target.value)


def _import_fix(err: str, module: str | None, app: Path) -> str:
    if err.startswith("ModuleNotFoundError") and module:
        top = module.split(".")[0]
        if (app / top).is_dir() or (app / f"{top}.py").is_file():
            return f"`{module}` is the app's own code: fix the module path or add the missing file"
        return f"add the distribution that provides `{top}`, pinned, to requirements.txt (or fix the import)"
    if err.startswith(("SyntaxError", "IndentationError", "TabError")):
        return "fix the syntax error at that line"
    return "fix the error above; the dyno fails the same way at start-up"
