"""Command line: pick the steps, run them in order, print findings (text or JSON), exit 0/1/2."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import fresh_env, imports, layout, procfile, python_version, pythonpath, requirements_file, tools
from .findings import COULD_NOT_RUN, Finding, Report, could_not_run

STEPS = ("static", "in-place", "fresh-env", "deptry", "platform")
PRESETS = {
    "static": ["static"],
    "build": ["static", "in-place"],
    "full": ["static", "fresh-env", "deptry", "platform"],
}
FAMILIES = {
    "1": "imports vs requirements",
    "2": "requirements.txt pins",
    "3": "installability on Heroku",
    "4": "fresh environment",
    "5": "Procfile",
    "6": "Python version",
    "7": "package managers",
    "8": "shadowing",
    "9": "path hacks and PYTHONPATH",
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Check that a Heroku Python app will build and start. Exit 0 clean, 1 errors, 2 not run.",
    )
    parser.add_argument("app_dir", nargs="?", default=".", help="the app root (default: current directory)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--static", action="store_true", help="file checks only: no imports, network or installs"
    )
    mode.add_argument(
        "--build",
        action="store_true",
        help="static + import check in this interpreter (bin/post_compile on Heroku); stdlib only",
    )
    mode.add_argument("--steps", help=f"comma-separated steps to run, from: {', '.join(STEPS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--python", metavar="X.Y", help="target Python (default: from .python-version/runtime.txt)"
    )
    parser.add_argument(
        "--venv-backend",
        choices=("auto", "uv", "venv"),
        default="auto",
        help="how to build the fresh environment (auto: uv when on PATH)",
    )
    args = parser.parse_args(argv)
    if args.steps:
        chosen = [s.strip() for s in args.steps.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in STEPS]
        if unknown or not chosen:
            parser.error(f"unknown step(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STEPS)}")
        args.step_list = [s for s in STEPS if s in chosen]
    else:
        args.step_list = PRESETS["static" if args.static else "build" if args.build else "full"]
    if args.python and not (args.python.count(".") in (1, 2) and args.python.replace(".", "").isdigit()):
        parser.error("--python takes a version like 3.13 or 3.13.1")
    return args


def run(args: argparse.Namespace) -> Report:
    app = Path(args.app_dir).resolve()
    report = Report(str(app), "?")
    if not app.is_dir():
        report.add([could_not_run("HW000", f"{args.app_dir} is not a directory", "pass the app root")])
        return report
    version = python_version.check(app)
    target = args.python or version.version
    minor = ".".join(target.split(".")[:2])
    report.python = target
    reqs = requirements_file.parse(app)
    processes, procfile_findings = procfile.parse(app)
    heroku_build = args.build and bool(os.environ.get("STACK"))  # buildpacks get STACK=heroku-24

    if "static" in args.step_list:
        with report.step("static"):
            report.add(reqs.findings)
            report.add(version.findings)
            report.add(layout.check_package_managers(app, heroku_build))
            report.add(layout.check_src_layout(app, reqs))
            report.add(procfile_findings)
            report.add(procfile.check(app, processes, reqs, int(minor.split(".")[1])))
            report.add(layout.check_shadowing(app, int(minor.split(".")[1]), reqs))
            report.add(imports.path_hacks(app, layout.app_python_files(app)))
            report.add(pythonpath.check_files(app))

    if "in-place" in args.step_list:
        with report.step("in-place") as step:
            step.detail = sys.executable
            report.add(pythonpath.check_environment(app, os.environ))  # on Heroku: the config vars
            report.add(fresh_env.pip_check(sys.executable, fresh_env.find_tool("uv"), reqs))
            with tempfile.TemporaryDirectory(prefix="preflight-pycache-") as pycache:  # never into the slug
                found, dists = fresh_env.import_everything(
                    app, sys.executable, processes, None, Path(pycache)
                )
            report.add(found)
            report.add(layout.check_shadowing(app, int(minor.split(".")[1]), reqs, dists))

    with contextlib.ExitStack() as stack:
        env: fresh_env.Env | None = None
        env_failed = False

        def make_env() -> fresh_env.Env | None:
            nonlocal env, env_failed
            if env is not None or env_failed:
                return env
            if not reqs.exists:
                report.add([could_not_run(
                    "HW499", "no requirements.txt: the fresh environment is built from requirements.txt only",
                    "add requirements.txt (Heroku's pip path), e.g. `uv export --format requirements-txt "
                    "-o requirements.txt` for a uv project",
                )])  # fmt: skip
                env_failed = True
                return None
            uv = fresh_env.find_tool("uv")
            backend = args.venv_backend if args.venv_backend != "auto" else ("uv" if uv else "venv")
            if backend == "uv" and uv is None:
                report.add(
                    [
                        could_not_run(
                            "HW499", "--venv-backend uv but uv is not installed", tools.TOOL_HINT.format("uv")
                        )
                    ]
                )
                env_failed = True
                return None
            python = fresh_env.find_python(minor, uv)
            if python is None:
                source = "--python" if args.python else version.source
                report.add(
                    [
                        could_not_run(
                            "HW499",
                            f"Python {minor} (the app's target, from {source}) is not installed on this "
                            "machine",
                            f"install it (`uv python install {minor}`, pyenv, or your OS), or check another "
                            "version with "
                            f"`--python X.Y`; `--static` and `--build` need no second Python",
                        )
                    ]
                )
                env_failed = True
                return None
            out: list[Finding] = []
            env = stack.enter_context(fresh_env.build(app, python, minor, backend, uv, out, reqs))
            report.add(out)
            env_failed = env is None
            return env

        if "fresh-env" in args.step_list:
            with report.step("fresh-env") as step:
                built = make_env()
                if built is not None:
                    step.detail = f"{built.backend}: {built.python}"
                    report.add(fresh_env.pip_check(str(built.python), built.uv, reqs))
                    found, dists = fresh_env.import_everything(
                        app, str(built.python), processes, built.bindir
                    )
                    report.add(found)
                    report.add(layout.check_shadowing(app, int(minor.split(".")[1]), reqs, dists))

        if "deptry" in args.step_list:
            with report.step("deptry") as step:
                if fresh_env.find_tool("deptry") is None:
                    report.add(tools.deptry(app, "", reqs))  # reports HW199 (not installed)
                else:
                    built = make_env()
                    if built is None:
                        step.status, step.detail = (
                            "skipped",
                            "no fresh environment to map imports with (see HW4xx)",
                        )
                    else:
                        report.add(tools.deptry(app, built.site_packages(), reqs))
                        installed = fresh_env.installed_top_levels(str(built.python), app)
                        report.add(tools.dynamic_imports(app, installed, int(minor.split(".")[1])))

    if "platform" in args.step_list:
        with report.step("platform"):
            if reqs.exists:
                report.add(tools.platform_resolve(app, target, reqs))
            else:
                report.add([could_not_run("HW399", "no requirements.txt to resolve for Heroku's platform",
                                           "add requirements.txt (see HW7xx)")])  # fmt: skip

    _dedupe(report)
    return report


def _dedupe(report: Report) -> None:
    seen: set[tuple[object, ...]] = set()
    unique = []
    for f in report.findings:
        key = (
            (f.code, f.file, f.line) if f.code in ("HW802", "HW801") else (f.code, f.file, f.line, f.message)
        )
        if key not in seen:
            seen.add(key)
            unique.append(f)
    report.findings = unique


def render_text(report: Report) -> str:
    lines = [
        f"preflight: {report.app_dir} (Python {report.python}; steps: "
        f"{', '.join(s.name for s in report.steps) or 'none'})"
    ]
    for family, title in FAMILIES.items():
        group = [f for f in report.findings if f.code[2:3] == family]
        if not group:
            continue
        lines.append(f"\n{title} (HW{family}xx)")
        for f in sorted(group, key=lambda f: (f.severity != "error", f.code, f.file or "", f.line or 0)):
            lines.append(f"  {f.severity:<7} {f.code} {f.where()}: {f.message}")
            lines.append(f"          fix: {f.fix}")
    for f in report.findings:
        if f.code[2:3] not in FAMILIES:
            lines.append(f"  error   {f.code} {f.message}\n          fix: {f.fix}")
    lines.append(
        "\nsteps: "
        + ", ".join(
            f"{s.name} {s.status} {s.seconds:.2f}s"
            + (f" ({s.detail})" if s.status != "ok" and s.detail else "")
            for s in report.steps
        )
    )
    errors = sum(f.severity == "error" and not f.blocking for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    verdict = {0: "clean", 1: "errors found", 2: "COULD NOT RUN - this is not a clean result"}[
        report.exit_code
    ]
    lines.append(f"{errors} error(s), {warnings} warning(s): exit {report.exit_code} ({verdict})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except KeyboardInterrupt:
        return COULD_NOT_RUN
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_text(report))
    return report.exit_code


__all__ = ["main", "run"]
