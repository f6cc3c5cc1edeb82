"""Check 4: build an environment from requirements.txt alone, pip check it, import the app's modules in it.

The same import probe runs in the current interpreter for `--build` (on Heroku the build's environment *is*
the fresh one). Each probe is a clean subprocess started from the app root: no inherited PYTHONPATH, no user
site.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from . import config_vars, imports, layout
from .findings import Finding, could_not_run, error, warning
from .requirements_file import Requirements
from .run import NETWORK_ERRORS, cache_dir, clean_environ, last_line

PROBE_SOURCE = resources.files("heroku_preflight").joinpath("probe.py").read_text("utf-8")
MARK = "@@preflight@@ "
IMPORT_TIMEOUT = float(os.environ.get("PREFLIGHT_IMPORT_TIMEOUT", "120"))
INSTALL_TIMEOUT = float(os.environ.get("PREFLIGHT_INSTALL_TIMEOUT", "900"))


def venv_python(path: Path) -> Path:
    return path / "Scripts" / "python.exe" if os.name == "nt" else path / "bin" / "python"


def _runs(python: str) -> bool:
    try:
        return (
            subprocess.run([python, "-c", ""], capture_output=True, timeout=30, check=False).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_python(minor: str, uv: str | None) -> str | None:
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == minor:
        return sys.executable
    found = shutil.which(f"python{minor}")
    if found and _runs(found):  # a pyenv shim for a version not selected is on PATH but exits 127
        return found
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    for candidate in sorted(pyenv.glob(f"{minor}.*/bin/python"), reverse=True):  # pyenv, not selected
        if _runs(str(candidate)):
            return str(candidate)
    if uv:
        result = subprocess.run(
            [uv, "python", "find", minor], capture_output=True, text=True, env=clean_environ(), check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip().splitlines()[-1]
    return None


@dataclasses.dataclass
class Env:
    path: Path
    python: Path
    backend: str
    uv: str | None

    @property
    def bindir(self) -> Path:
        return self.python.parent

    def site_packages(self) -> str:
        result = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            env=clean_environ(),
            check=True,
        )
        return result.stdout.strip()


@contextlib.contextmanager
def _env_dir(app: Path, minor: str) -> Iterator[Path]:
    """A stable path per app (so PYTHONPYCACHEPREFIX hits next run), wiped before use; a temp dir if busy."""
    key = hashlib.sha256(str(app.resolve()).encode()).hexdigest()[:12]
    stable = cache_dir() / "envs" / f"{key}-py{minor}"
    stable.parent.mkdir(parents=True, exist_ok=True)
    lock = open(stable.parent / f"{stable.name}.lock", "w")  # noqa: SIM115 - held for the whole run
    try:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (ImportError, OSError):  # another run holds it (or no fcntl): use a throwaway path
        lock.close()
        tmp = Path(tempfile.mkdtemp(prefix="preflight-env-"))
        try:
            yield tmp / "venv"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        shutil.rmtree(stable, ignore_errors=True)
        yield stable
    finally:
        shutil.rmtree(stable, ignore_errors=True)
        lock.close()


@contextlib.contextmanager
def build(
    app: Path,
    python: str,
    minor: str,
    backend: str,
    uv: str | None,
    out: list[Finding],
    reqs: Requirements,
    requirements: str = "requirements.txt",
) -> Iterator[Env | None]:
    """Create the environment and install `requirements` (requirements.txt, or a lock's pins written out);
    yields None (findings in `out`) on failure."""
    with _env_dir(app, minor) as path:
        env = clean_environ()
        if backend == "uv" and uv:
            steps = [
                [uv, "venv", "--quiet", "--python", python, str(path)],
                [
                    uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(venv_python(path)),
                    "-r",
                    requirements,
                ],
            ]
        else:
            steps = [
                [python, "-m", "venv", str(path)],
                [str(venv_python(path)), "-m", "pip", "install", "--quiet", "-r", requirements],
            ]
        for index, command in enumerate(steps):
            try:
                result = subprocess.run(
                    command,
                    cwd=app,
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=INSTALL_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                out.append(
                    could_not_run(
                        "HW499",
                        f"`{' '.join(command[:3])}` took over {INSTALL_TIMEOUT:.0f} s",
                        "check the network / package index, or raise PREFLIGHT_INSTALL_TIMEOUT",
                    )
                )
                yield None
                return
            if result.returncode != 0:
                output = result.stderr + result.stdout
                if NETWORK_ERRORS.search(output):
                    out.append(
                        could_not_run(
                            "HW499",
                            f"package index unreachable while building the fresh env: {last_line(output)}",
                            "check the network or PIP_INDEX_URL/UV_INDEX_URL, then run again (nothing was "
                            "checked)",
                        )
                    )
                elif index == 1:
                    last = last_line(output)
                    failed = failed_distribution(output)
                    named = [
                        r
                        for r in reqs.items
                        if re.search(rf"(?<![\w.-]){re.escape(r.name)}(?![\w.-])", failed or last, re.I)
                    ]
                    last = last if not failed or failed in last else f"{failed}: {last}"
                    out.append(
                        error(
                            "HW401",
                            named[0].file if named else "requirements.txt",
                            named[0].line if named else None,
                            f"`pip install -r requirements.txt` fails in a fresh env: {last}",
                            "fix the requirement named above; Heroku's build runs the same install",
                        )
                    )
                else:
                    out.append(
                        could_not_run(
                            "HW499",
                            f"could not create the environment: {last_line(output)}",
                            f"check that {python} works, or try --venv-backend venv",
                        )
                    )
                yield None
                return
        yield Env(path, venv_python(path), backend, uv)


_FAILED = (
    re.compile(r"Failed to (?:build|download|prepare distributions?|install)[^`]*`([^`]+)`"),
    re.compile(r"(?:no version of|Because) ([A-Za-z0-9][A-Za-z0-9._-]*(?:[=<>!~]=?[^\s,]+)?)"),
    re.compile(r"satisfies the requirement ([^\s(]+)"),
    re.compile(r"Failed to build ([A-Za-z0-9][A-Za-z0-9._-]*)"),
)


def failed_distribution(output: str) -> str | None:
    """The distribution an install failed on, from uv's or pip's output (None when it names none)."""
    for pattern in _FAILED:
        match = pattern.search(output)
        if match:
            return match.group(1)
    return None


def pip_crashed(output: str) -> bool:
    """pip failed for its own reasons (a traceback), not because of what is installed: e.g. pip 23.0's
    `pip --python ENV check` (what `python -m venv` gives on 3.10) dies on a Python 3.12 ENV with
    `AttributeError: module 'pkgutil' has no attribute 'ImpImporter'`. Its words are never about the app."""
    return "Traceback (most recent call last)" in output or "ERROR: Exception:" in output


def crash_line(output: str) -> str:
    """The exception a traceback ends with (its last non-blank line)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def pip_check(python: str, uv: str | None, reqs: Requirements) -> list[Finding]:
    result = subprocess.run(
        [python, "-m", "pip", "check"], capture_output=True, text=True, env=clean_environ(), check=False
    )
    output = result.stdout + result.stderr
    outside = shutil.which("pip")
    if "No module named pip" in output and outside:
        # The Python CNB's venv has no pip: its pip lives in a build layer (on PATH, with PYTHONUSERBASE),
        # pointed at the venv. Run that pip as the build would, in the build's own environment.
        result = subprocess.run(
            [outside, "--python", python, "check"],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            check=False,
        )
        output = result.stdout + result.stderr
    crashed = pip_crashed(output)
    if "No module named pip" in output or (outside and "no such option: --python" in output) or crashed:
        if not uv:
            why = (
                f"pip crashed ({crash_line(output)})" if crashed else f"no pip in {python} and no uv on PATH"
            )
            return [
                could_not_run(
                    "HW406",
                    f"pip check could not run: {why}",
                    "install pip or uv in that environment (Heroku's build has pip)",
                )
            ]
        result = subprocess.run(
            [uv, "pip", "check", "--python", python],
            capture_output=True,
            text=True,
            env=clean_environ(),
            check=False,
        )
        output = result.stdout + result.stderr
    if result.returncode == 0:
        return []
    findings = []
    for line in output.splitlines():
        line = line.strip()
        if not line or line.startswith(("Checked", "Found", "No broken")) or line.lower().startswith("using"):
            continue
        name = re.split(r"[\s`]+", line.lstrip("`").replace("The package `", ""), maxsplit=1)[0]
        req = reqs.find(name)
        findings.append(
            error(
                "HW402",
                req.file if req else "requirements.txt",
                req.line if req else None,
                f"pip check: {line}",
                f"re-lock so the set is consistent: `{reqs.lock_command}`",
            )
        )
    return findings or [
        error(
            "HW402",
            "requirements.txt",
            None,
            f"pip check failed: {last_line(output)}",
            "re-lock requirements.txt",
        )
    ]


def installed_top_levels(python: str, app: Path) -> dict[str, list[str]]:
    """Top-level module -> distributions installed in that interpreter (importlib.metadata, real metadata)."""
    events, _ = run_probe(python, app, {"dists": True}, None)
    return next((e["dists"] for e in events if "dists" in e), {})


def run_probe(
    python: str, app: Path, task: dict[str, object], bindir: Path | None, pycache: Path | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Events from one probe process, and the name being imported when it timed out (None if it finished)."""
    proc = subprocess.Popen(
        [python, "-c", PROBE_SOURCE, json.dumps(task)],
        cwd=app,
        env=clean_environ(bindir, pycache),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=IMPORT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        timed_out = True
    events = [json.loads(line[len(MARK) :]) for line in stdout.splitlines() if line.startswith(MARK)]
    pending = None
    done = {e.get("import") for e in events if "ok" in e}
    for event in events:
        if "start" in event and event["start"] not in done:
            pending = event["start"]
    if timed_out:
        return events, pending or "(before the first import)"
    if proc.returncode != 0:  # died inside an import (os._exit, a crash) or before the first one
        events.append(
            {
                "import": pending or "(the import probe itself)",
                "ok": False,
                "error": last_line(stderr) or f"exit {proc.returncode}",
                "where": None,
            }
        )
    return events, None


def plan(app: Path) -> list[tuple[str, str, int | None]]:
    """(module, relative file, line) to import: every app module, and what each `__main__.py` imports."""
    modules: list[tuple[str, str, int | None]] = []
    entry: list[tuple[str, str, int | None]] = []
    for name, path in layout.package_modules(app, layout.app_packages(app)):
        rel = path.relative_to(app).as_posix()
        if name.endswith(".__main__"):  # importing __main__ would start the program: import what it imports
            entry.extend((mod, rel, line) for mod, line in _imports_of(path, name.rsplit(".", 1)[0]))
        else:
            modules.append((name, rel, None))
    known = {m for m, _, _ in modules}
    for item in entry:
        if item[0] not in known:
            known.add(item[0])
            modules.append(item)
    return modules


def _imports_of(path: Path, package: str | None) -> list[tuple[str, int]]:
    tree = imports.parse(path) if path.is_file() else None
    return imports.imported_modules(tree, package) if tree else []


def import_everything(
    app: Path,
    python: str,
    bindir: Path | None = None,
    pycache: Path | None = None,
    reached: set[str] | None = None,
) -> tuple[list[Finding], dict[str, list[str]]]:
    """Import every app module; returns findings and installed top-level names.

    Procfile processes are entrypoints.py's (HW410-HW419): each failure is reported once, there. A module
    outside `reached` (what the processes import, reach.py; None: all) fails nowhere on the dyno: HW404.
    """
    todo = plan(app)
    app_modules = {name for name, file, line in todo if line is None}  # (the rest: what a __main__ imports)
    findings: list[Finding] = []
    events, stuck = run_probe(
        python, app, {"imports": [m for m, _, _ in todo], "dists": True}, bindir, pycache
    )
    where = {m: (f, line) for m, f, line in todo}
    dists: dict[str, list[str]] = {}
    for event in events:
        if "dists" in event:
            dists = event["dists"]
        elif event.get("ok") is False:
            name = event["import"]
            file, line = where.get(name, (None, None))
            if event["where"] and not (file and line):
                file, line = event["where"]
            raised = event["where"] or (file, line)
            needs = config_vars.unset_reads(app, raised[0], raised[1], event["error"])
            if needs:
                message = f"import {name} {config_vars.message(needs)}: {event['error']}"
                findings.append(warning("HW414", file, line, message, config_vars.FIX))
                continue
            if reached is not None and name not in reached and name in app_modules:
                message = f"import {name} fails, but no Procfile process imports it: {event['error']}"
                findings.append(warning("HW404", file, line, message, _UNREACHED_FIX))
                continue
            message = f"import {name} fails: {event['error']}"
            findings.append(error("HW403", file, line, message, _import_fix(event["error"], app)))
    if stuck:
        findings.append(
            error(
                "HW405",
                where.get(stuck, (None, None))[0],
                None,
                f"import {stuck} did not finish in {IMPORT_TIMEOUT:.0f} s (it runs something at import)",
                'move side effects under `if __name__ == "__main__":` or into a function',
            )
        )
    return findings, dists


_UNREACHED_FIX = "delete the module if it is dead code; if a process will import it, fix what it needs first"


def _dependency_file(app: Path) -> str:
    """Where this app declares dependencies (never suggest a requirements.txt to a Pipfile/uv/Poetry app)."""
    for name, where in (
        ("requirements.in", "requirements.in, then re-lock"),
        ("Pipfile", "Pipfile, then `pipenv lock`"),
        ("uv.lock", "pyproject.toml (`uv add`)"),
        ("poetry.lock", "pyproject.toml (`poetry add`)"),
    ):
        if (app / name).is_file():
            return where
    return "requirements.txt"


def _import_fix(message: str, app: Path) -> str:
    match = re.search(r"No module named '([^']+)'", message)
    if match:
        return (
            f"add the distribution that provides `{match.group(1).split('.')[0]}`, pinned, to "
            f"{_dependency_file(app)}; if it is your own module, fix the import"
        )
    return "fix the error above; it happens on the dyno too"
