"""The registry: one unit per check (its step, the codes it reports, its logic); the runner loops over it.

Adding a check = one `Check` here, its codes in codes.py, its row in heroku-preflight's README, and its test.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from . import buildpack, committed, layout, lockfiles, path_hacks, procfile, pythonpath
from .context import Context
from .findings import Finding, could_not_run
from .run import cache_dir, find_tool

ENTRY_CODES = ("HW410", "HW411", "HW412", "HW413", "HW414", "HW419")
STEPS = ("static", "in-place", "fresh-env", "deptry", "platform", "hooks")


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    step: str
    codes: tuple[str, ...]
    logic: Callable[[Context], Iterable[Finding]]
    in_build: bool = (
        True  # False: not true of a build directory at post_compile time (`--build` there skips it)
    )


def _shadowing(ctx: Context) -> Iterable[Finding]:
    return layout.check_shadowing(ctx.app, ctx.minor, ctx.reqs, ctx.dists)


def _in_place_imports(ctx: Context) -> Iterable[Finding]:
    from . import fresh_env  # imported when used: `--static` loads no process helpers

    found, ctx.dists = fresh_env.import_everything(
        ctx.app, sys.executable, None, _build_pycache(ctx), _reached(ctx)
    )
    return _remember(ctx, found)


def _reached(ctx: Context) -> set[str] | None:
    """The app modules the Procfile's processes import (reach.py); None when every module counts."""
    from . import reach

    django = "django" in ctx.reqs.names() or (ctx.app / "manage.py").is_file()
    return reach.reached(ctx.app, ctx.processes, django)


def _remember(ctx: Context, found: list[Finding]) -> list[Finding]:
    ctx.import_failures = {(f.file, f.line) for f in found if f.code in ("HW403", "HW414")}
    return found


def _build_pycache(ctx: Context) -> Path:
    """A temporary bytecode folder for `--build`: on Heroku HOME is the app, so ~/.cache is in the slug."""
    import tempfile

    return Path(ctx.stack.enter_context(tempfile.TemporaryDirectory(prefix="preflight-pycache-")))


def _entrypoints(ctx: Context, python: Path, pycache: Path) -> list[Finding]:
    """Each Procfile process proven to get past its imports (entrypoints.py), in the given interpreter.

    Each failure is reported once: a process whose target the static Procfile check already reports missing
    (HW503/HW504/HW508 errors) is left out, and an import failure already reported for the app module
    (HW403, same file and line) is not repeated as HW411.
    """
    from . import entrypoints, fresh_env

    static = procfile.check(ctx.app, ctx.processes, ctx.reqs, ctx.minor)
    broken = {f.line for f in static if f.severity == "error" and f.code in ("HW503", "HW504", "HW508")}
    commands = [(p.name, p.command) for p in ctx.processes if p.line not in broken]
    if not commands:
        return []
    found = entrypoints.verify_entrypoints(
        ctx.app, python, commands, fresh_env.IMPORT_TIMEOUT, pycache=pycache
    )
    seen = ctx.import_failures
    return [f for f in found if not (f.code in ("HW411", "HW414") and (f.file, f.line) in seen)]


def _in_place_entrypoints(ctx: Context) -> Iterable[Finding]:
    return _entrypoints(ctx, Path(sys.executable), _build_pycache(ctx))


def _env_entrypoints(ctx: Context) -> Iterable[Finding]:
    if ctx.env is None:
        return []
    return _entrypoints(ctx, ctx.env.python, cache_dir() / "pycache")


def _install(ctx: Context) -> Iterable[Finding]:
    return ctx.fresh_env()[1]


def _in_place_pip_check(ctx: Context) -> Iterable[Finding]:
    from . import fresh_env

    return fresh_env.pip_check(sys.executable, find_tool("uv"), ctx.reqs)


def _env_pip_check(ctx: Context) -> Iterable[Finding]:
    from . import fresh_env

    env = ctx.env
    return fresh_env.pip_check(str(env.python), env.uv, ctx.reqs) if env else []


def _env_imports(ctx: Context) -> Iterable[Finding]:
    from . import fresh_env

    if ctx.env is None:
        return []
    found, ctx.dists = fresh_env.import_everything(
        ctx.app, str(ctx.env.python), ctx.env.bindir, reached=_reached(ctx)
    )
    return _remember(ctx, found)


def _env_shadowing(ctx: Context) -> Iterable[Finding]:
    return _shadowing(ctx) if ctx.env is not None else []


def _deptry(ctx: Context) -> Iterable[Finding]:
    from . import fresh_env, tools

    if find_tool("deptry") is None:
        return tools.deptry(ctx.app, "", ctx.reqs)  # reports HW199 (not installed)
    env, out = ctx.fresh_env()
    if env is None:
        return out or [
            could_not_run("HW199", "no fresh environment to map imports with", "see the HW4xx finding")
        ]
    found = tools.deptry(ctx.app, env.site_packages(), ctx.reqs, ctx.requirements)
    installed = fresh_env.installed_top_levels(str(env.python), ctx.app)
    return [*out, *found, *tools.dynamic_imports(ctx.app, installed, ctx.minor, ctx.reqs)]


def _platform(ctx: Context) -> Iterable[Finding]:
    from . import pip_verdict, tools

    if not ctx.reqs.exists:
        return []  # a Pipfile/Poetry/uv app (its lock pins the platform), or none (HW70x says so)
    stack = buildpack.stack(ctx.app)
    pip = ctx.early_pip or pip_verdict.start(ctx.reqs, f"3.{ctx.minor}", stack)  # runs beside uv's resolve
    found = tools.platform_resolve(ctx.app, ctx.target, ctx.reqs, stack)
    return pip_verdict.finish(pip, found)


def start_early(ctx: Context, steps: list[str]) -> None:
    """Start pip's resolve (about 1 s, network-bound) before the other steps, so it overlaps them."""
    from . import pip_verdict

    if "platform" in steps and ctx.reqs.exists:
        ctx.early_pip = pip_verdict.start(ctx.reqs, f"3.{ctx.minor}", buildpack.stack(ctx.app))


def _hooks(ctx: Context) -> Iterable[Finding]:
    from . import hooks

    if ctx.options.generation != "cedar":
        return []  # the Python CNB never runs them (HW712 says so)
    # post_compile expects the app's whole environment: not one missing local, editable or VCS packages.
    partial = ctx.requirements != "requirements.txt" or any(
        f.code in ("HW203", "HW204", "HW205") for f in ctx.reqs.findings
    )
    return hooks.run_hooks(ctx.app, ctx.env.bindir if ctx.env and not partial else None)


def _collectstatic(ctx: Context) -> Iterable[Finding]:
    from . import collectstatic

    python = ctx.env.python if ctx.env else None
    return collectstatic.check(ctx.app, python, "django" in ctx.reqs.names(), ctx.options.generation)


CHECKS: list[Check] = [
    Check(
        "requirements",
        "static",
        ("HW201", "HW202", "HW203", "HW204", "HW205", "HW206", "HW207", "HW209"),
        lambda ctx: ctx.reqs.findings,
    ),
    Check(
        "python version",
        "static",
        ("HW601", "HW602", "HW603", "HW604", "HW605", "HW606", "HW607", "HW608", "HW609", "HW611", "HW612"),
        lambda ctx: ctx.version.findings,
    ),
    Check(
        "version file names", "static", ("HW610",), lambda ctx: buildpack.misspelled_version_files(ctx.app)
    ),
    Check(
        "package managers",
        "static",
        ("HW701", "HW702", "HW703", "HW705"),
        lambda ctx: layout.check_package_managers(ctx.app),
    ),
    Check(
        "lock files",
        "static",
        ("HW707", "HW708", "HW709", "HW710"),
        lambda ctx: lockfiles.check(ctx.app, ctx.version),
    ),
    # What the app commits: the buildpack refused these before installing, and made `.heroku/python/` itself.
    Check(
        "committed folders",
        "static",
        ("HW704", "HW706"),
        lambda ctx: committed.check(ctx.app),
        in_build=False,
    ),
    Check("build hooks", "static", ("HW711", "HW712"), lambda ctx: buildpack.hooks(ctx.app)),
    Check("stack", "static", ("HW713",), lambda ctx: buildpack.check_stack(ctx.app)),
    Check("src layout", "static", ("HW507",), lambda ctx: layout.check_src_layout(ctx.app, ctx.reqs)),
    Check("Procfile", "static", ("HW501", "HW502"), lambda ctx: ctx.procfile_findings),
    Check(
        "Procfile targets",
        "static",
        ("HW503", "HW504", "HW505", "HW508"),
        lambda ctx: procfile.check(ctx.app, ctx.processes, ctx.reqs, ctx.minor),
    ),
    Check("shadowing by name", "static", ("HW801", "HW802"), _shadowing),
    Check(
        "path hacks",
        "static",
        ("HW901",),
        lambda ctx: path_hacks.check(ctx.app, layout.app_python_files(ctx.app)),
    ),
    Check("PYTHONPATH files", "static", ("HW903",), lambda ctx: pythonpath.check_files(ctx.app)),
    Check("forbidden config vars", "static", ("HW904",), lambda ctx: buildpack.forbidden_env(ctx.app)),
    Check(
        "config vars", "in-place", ("HW902",), lambda ctx: pythonpath.check_environment(ctx.app, os.environ)
    ),
    Check(
        "pip check",
        "in-place",
        ("HW402", "HW406"),
        _in_place_pip_check,
    ),
    Check("imports", "in-place", ("HW403", "HW404", "HW405", "HW414"), _in_place_imports),
    Check("entry points", "in-place", ENTRY_CODES, _in_place_entrypoints),
    Check("shadowing by installed modules", "in-place", ("HW802",), _shadowing),
    Check("install", "fresh-env", ("HW401", "HW499"), _install),
    Check("pip check", "fresh-env", ("HW402", "HW406"), _env_pip_check),
    Check("imports", "fresh-env", ("HW403", "HW404", "HW405", "HW414"), _env_imports),
    Check("entry points", "fresh-env", ENTRY_CODES, _env_entrypoints),
    Check("shadowing by installed modules", "fresh-env", ("HW802",), _env_shadowing),
    Check("deptry", "deptry", ("HW101", "HW102", "HW103", "HW199"), _deptry),
    Check("platform resolve", "platform", ("HW301", "HW302", "HW303", "HW304", "HW399"), _platform),
    Check("build hooks run", "hooks", ("HW711", "HW714", "HW715"), _hooks),
    Check("Django collectstatic", "hooks", ("HW716", "HW717"), _collectstatic),
]
