"""Checks 1 and 3 by tools: deptry (imports vs requirements), uv (resolve for Heroku's platform)."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from . import imports, layout
from .findings import Finding, could_not_run, error
from .heroku import DEFAULT_STACK, platform_tag
from .requirements_file import LOCK_COMMAND, Requirements
from .run import NETWORK_ERRORS, TOOL_HINT, clean_environ, find_tool

# Run deptry's own interpreter isolated (-I: no cwd, no PYTHONPATH) and *append* the app env's site-packages:
# deptry maps imports with the app's real metadata, and the app's pins cannot replace deptry's own libraries.
_DEPTRY_WRAPPER = (
    "import sys; sys.path.append(sys.argv.pop(1)); sys.argv[0] = 'deptry'; "
    "from deptry.cli import deptry; sys.exit(deptry())"
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)


def _deptry_config(app: Path, folder: Path) -> Path:
    """A config with only the app's [tool.deptry]: a [project] table makes deptry ignore requirements.txt."""
    table: dict[str, object] = {}
    pyproject = app / "pyproject.toml"
    if pyproject.is_file():
        try:
            import tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.11+; on 3.10 no config copy

            table = tomllib.loads(pyproject.read_text()).get("tool", {}).get("deptry", {})
        except (ImportError, ValueError):
            table = {}
    config = folder / "pyproject.toml"
    body = "".join(f"{key} = {_toml_value(value)}\n" for key, value in table.items())
    config.write_text("[tool.deptry]\n" + body)
    return config


def _deptry_python(deptry: str) -> str | None:
    try:
        first = Path(deptry).read_bytes()[:300].split(b"\n", 1)[0].decode()
    except (OSError, UnicodeDecodeError):
        return None
    return (
        first[2:].strip()
        if first.startswith("#!") and "python" in first and " " not in first[2:].strip()
        else None
    )


def dynamic_imports(
    app: Path, installed: dict[str, list[str]], minor: int, reqs: Requirements
) -> list[Finding]:
    """import_module("x") with a literal: x must be local, stdlib, or installed from requirements.txt."""
    local = set(layout.top_level_names(app))
    stdlib = layout.stdlib_names(minor)
    findings = []
    for path in layout.app_python_files(app):
        tree = imports.parse(path)
        for name, line in imports.dynamic_imports(tree) if tree else []:
            top = name.split(".")[0]
            if top not in local and top not in stdlib and top not in installed:
                findings.append(
                    error(
                        "HW101",
                        path.relative_to(app).as_posix(),
                        line,
                        f"`import_module({name!r})` but no distribution in requirements.txt provides `{top}`",
                        reqs.add_advice(f"the distribution that provides `{top}`"),
                    )
                )
    return findings


def deptry(
    app: Path, site_packages: str, reqs: Requirements, requirements: str = "requirements.txt"
) -> list[Finding]:
    tool = find_tool("deptry")
    if tool is None:
        return [
            could_not_run(
                "HW199",
                "deptry is not installed, so imports were not checked against requirements",
                TOOL_HINT.format("deptry"),
            )
        ]
    findings: list[Finding] = []
    seen: set[str] = set()
    runs = [(requirements, "HW101")]
    direct = reqs.direct()
    with tempfile.TemporaryDirectory(prefix="preflight-direct-") as tmp:
        if (app / "requirements.in").is_file():
            runs.append(("requirements.in", "HW102"))  # direct dependencies; anything else is transitive-only
        elif (
            direct is not None
        ):  # a compiled lock, no requirements.in: its `# via -r` notes say what is direct
            listed = Path(tmp) / "direct-requirements.txt"
            listed.write_text("".join(f"{r.name}\n" for r in direct))
            runs.append((str(listed), "HW102"))
        results = [(code, _run_deptry(app, tool, site_packages, requirements)) for requirements, code in runs]
    for code, issues in results:
        if isinstance(issues, Finding):
            return [issues]
        for issue in issues:
            dep = issue["error"]["code"]
            module, loc = issue.get("module", "?"), issue.get("location") or {}
            file, line = loc.get("file"), loc.get("line")
            if file:
                file = (
                    Path(file).resolve().relative_to(app.resolve()).as_posix()
                    if Path(file).is_absolute()
                    else file
                )
            if file and line and _optional(app, file, line):
                continue  # try/except ImportError or TYPE_CHECKING: the app runs without it
            if dep in ("DEP001", "DEP003") and module not in seen:
                seen.add(module)
                if code == "HW101":
                    message = f"`import {module}` but no distribution in requirements.txt provides it"
                    fix = reqs.add_advice(f"the distribution that provides `{module}`")
                else:
                    message = (
                        f"`import {module}` but its distribution is only pinned as someone else's dependency"
                    )
                    fix = (
                        f"add it to requirements.in (a direct dependency), then re-lock: `{LOCK_COMMAND}`"
                        if reqs.has_in
                        else "list it as a direct requirement in the file requirements.txt is compiled from, "
                        "then re-lock"
                    )
                findings.append(error(code, file, line, message, fix))
            elif dep == "DEP004" and code == "HW101" and module not in seen:
                seen.add(module)
                findings.append(
                    error(
                        "HW103",
                        file,
                        line,
                        f"`import {module}` in app code, but it is a development-only requirement",
                        reqs.add_advice(f"the distribution that provides `{module}`")
                        + " (Heroku never installs requirements-dev.txt), or import it in tests only",
                    )
                )
    return findings


def _optional(app: Path, file: str, line: int) -> bool:
    tree = imports.parse(app / file)
    return tree is not None and line in imports.optional_import_lines(tree)


def _run_deptry(
    app: Path, tool: str, site_packages: str, requirements: str
) -> list[dict[str, Any]] | Finding:
    local = sorted(layout.top_level_names(app))
    # Anchored: deptry uses re.match, so a bare "bin" would also skip binance.py. Replaces deptry's defaults.
    venvs = [re.escape(p.name) for p in app.iterdir() if p.is_dir() and layout.is_venv(p)]
    top_dirs = [
        "bin",
        "docs",
        "build",
        "dist",
        r"\.nox",
        r"\.git",
        r"\.venv",
        "venv",
        r"\.direnv",
        *venvs,
    ]
    excludes = [
        rf"({'|'.join(top_dirs)})/",
        r"(.*/)?(tests?|__pycache__|node_modules)/",
        r"(.*/)?(noxfile|setup|conftest)\.py$",
    ]
    with tempfile.TemporaryDirectory(prefix="preflight-deptry-") as tmp:
        out = Path(tmp) / "deptry.json"
        args = [
            ".",
            "--config",
            str(_deptry_config(app, Path(tmp))),
            "--requirements-files",
            requirements,
            "--json-output",
            str(out),
            "--no-ansi",
            "--ignore",
            "DEP002,DEP005",
            *[a for name in local for a in ("--known-first-party", name)],
            *[a for pattern in excludes for a in ("--exclude", pattern)],
        ]
        python = _deptry_python(tool)
        env = clean_environ()
        if python:
            command = [python, "-I", "-c", _DEPTRY_WRAPPER, site_packages, *args]
        else:  # not a Python launcher script: fall back to PYTHONPATH (prepends, so less isolated)
            command, env["PYTHONPATH"] = [tool, *args], site_packages
        result = subprocess.run(command, cwd=app, capture_output=True, text=True, env=env, check=False)
        if not out.is_file():
            return could_not_run(
                "HW199",
                f"deptry failed: {(result.stderr or result.stdout).strip()[-300:]}",
                "run the deptry command by hand to see why; `deptry --version` must work",
            )
        issues: list[dict[str, Any]] = json.loads(out.read_text())
        return issues


# sdist-only distributions whose build needs a library the stack's build image lacks: the ones the classic
# buildpack's `bin/warnings` names when their compile fails (v351: sqlite3.h, gdal-config).
STACK_LACKS = {
    "pysqlite3": "the SQLite headers (sqlite3.h)",
    "gdal": "the GDAL library (gdal-config; Heroku's geo buildpack provides it)",
}


def platform_resolve(
    app: Path, python_version: str, reqs: Requirements, stack: str = DEFAULT_STACK
) -> list[Finding]:
    """Resolve requirements.txt for the stack's Linux x86_64 and Python, wheels only, without that Python."""
    platform = platform_tag(stack)
    uv = find_tool("uv")
    if uv is None:
        return [
            could_not_run(
                "HW399",
                "uv is not installed, so Heroku installability was not checked",
                TOOL_HINT.format("uv"),
            )
        ]
    allowed = {r.key for r in reqs.items if r.sdist_ok}
    no_build = (
        ["--no-build"]
        if not allowed
        else [a for key in sorted(reqs.names() - allowed) for a in ("--no-build-package", key)]
    )
    with tempfile.TemporaryDirectory(prefix="preflight-uv-") as tmp:
        command = [
            uv,
            "pip",
            "compile",
            "requirements.txt",
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--python-version",
            python_version,
            "--python-platform",
            platform,
            *no_build,
            "-o",
            str(Path(tmp) / "resolved.txt"),
        ]
        result = subprocess.run(
            command, cwd=app, capture_output=True, text=True, env=clean_environ(), check=False
        )
    if result.returncode == 0:
        return []
    output = result.stderr.strip()
    if NETWORK_ERRORS.search(output) and "No solution found" not in output:
        return [
            could_not_run(
                "HW399",
                f"package index unreachable: {output.splitlines()[-1][:300]}",
                "check the network / UV_INDEX_URL and run again (nothing was checked)",
            )
        ]
    findings = []
    found = re.findall(r"([A-Za-z0-9._-]+)==(\S+?) has no (?:usable )?wheels", output)
    found += [
        (name, "any")
        for name in re.findall(r"all versions of ([A-Za-z0-9._-]+) have no usable wheels", output)
    ]
    for name, version in found:
        req = reqs.find(name)
        lacks = STACK_LACKS.get(name.lower().replace("_", "-"))
        if lacks:
            findings.append(error(
                "HW304", req.file if req else "requirements.txt", req.line if req else None,
                f"{name}=={version} has no wheel for CPython {python_version} on Heroku ({platform}), "
                f"and compiling it needs {lacks}, which the stack image lacks: the build fails",
                f"move to a version with wheels for {python_version} "
                f"(`uv pip compile --upgrade-package {name}`)",
            ))  # fmt: skip
            continue
        findings.append(
            error(
                "HW301",
                req.file if req else "requirements.txt",
                req.line if req else None,
                f"{name}=={version} has no wheel for CPython {python_version} on Heroku ({platform}): "
                "the build compiles it from source (the stack image has a compiler and libpq; the fresh env "
                "builds it too, and HW401 says if it does not build)",
                f"move to a version with wheels for {python_version} (`uv pip compile --upgrade-package "
                f"{name} ...`), "
                f"or mark a pure-Python sdist with `# preflight: sdist-ok`",
            )
        )
    if not findings:
        cause = " ".join(
            line.strip().removeprefix("cause:").strip()
            for line in output.splitlines()
            if line.strip() and not line.strip().startswith("hint:")
        )
        findings.append(
            error(
                "HW302",
                "requirements.txt",
                None,
                f"does not resolve for Python {python_version} on {platform}: {cause[:500] or output[:500]}",
                f"re-lock for Heroku: `{reqs.lock_command} --python-version {python_version} "
                f"--python-platform {platform}`",
            )
        )
    return findings
