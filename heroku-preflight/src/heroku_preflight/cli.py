"""Command line: parse the options, run the registry's checks step by step, print findings, exit 0/1/2."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from . import __version__, buildpack
from .checks import CHECKS, STEPS, start_early
from .codes import FAMILIES
from .context import Context, Options
from .findings import COULD_NOT_RUN, Report, could_not_run
from .run import IN_HOOK

PRESETS = {
    "static": ["static"],
    "build": ["static", "in-place"],
    "full": ["static", "fresh-env", "deptry", "platform", "hooks"],
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="heroku-preflight",
        description="Check that a Heroku Python app will build and start. Exit 0 clean, 1 errors, 2 not run.",
    )
    parser.add_argument("--version", action="version", version=f"heroku-preflight {__version__}")
    parser.add_argument("app_dir", nargs="?", default=".", help="the app root (default: current directory)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--static", action="store_true", help="file checks only: no imports, network or installs"
    )
    mode.add_argument(
        "--build", action="store_true",
        help="static + import check in this interpreter (Heroku's build); stdlib only",
    )  # fmt: skip
    mode.add_argument("--steps", help=f"comma-separated steps to run, from: {', '.join(STEPS)}")
    parser.add_argument("--strict", action="store_true", help="house rules (policy findings) are errors too")
    parser.add_argument(
        "--generation", choices=("cedar", "fir"),
        help="Heroku generation (default: fir when project.toml uses the Python CNB, else cedar)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--python", metavar="X.Y", help="target Python (default: from the app's version file)"
    )
    parser.add_argument(
        "--venv-backend", choices=("auto", "uv", "venv"), default="auto",
        help="how to build the fresh environment (auto: uv when on PATH)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.step_list = _steps(parser, args)
    if args.python and not (args.python.count(".") in (1, 2) and args.python.replace(".", "").isdigit()):
        parser.error("--python takes a version like 3.13 or 3.13.1")
    return args


def _steps(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    if not args.steps:
        return PRESETS["static" if args.static else "build" if args.build else "full"]
    chosen = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STEPS]
    if unknown or not chosen:
        parser.error(f"unknown step(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STEPS)}")
    return [s for s in STEPS if s in chosen]


def run(args: argparse.Namespace) -> Report:
    app = Path(args.app_dir).resolve()
    if args.build and os.environ.get(IN_HOOK):  # our own post_compile, run by the hooks step
        return Report(str(app), "(nested in the hooks step: checked by the run that started it)")
    generation = args.generation or (buildpack.detect_generation(app) if app.is_dir() else "cedar")
    report = Report(str(app), "?", strict=args.strict, generation=generation)
    if not app.is_dir():
        report.add([could_not_run("HW000", f"{args.app_dir} is not a directory", "pass the app root")])
        return report
    in_build = bool(
        os.environ.get("STACK") or os.environ.get("CNB_STACK_ID") or os.environ.get("CNB_LAYERS_DIR")
    )
    options = Options(args.strict, generation, args.python, args.venv_backend, args.build and in_build)
    with contextlib.ExitStack() as stack:
        ctx = Context(app, options, stack)
        report.python = ctx.target
        start_early(ctx, args.step_list)
        for step_name in args.step_list:
            with report.step(step_name):
                for check in CHECKS:
                    if check.step == step_name and (check.in_build or not options.heroku_build):
                        report.add(check.logic(ctx))
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
        f"preflight: {report.app_dir} (Python {report.python}; {report.generation}; steps: "
        f"{', '.join(s.name for s in report.steps) or 'none'}{'; strict' if report.strict else ''})"
    ]
    for family, title in FAMILIES.items():
        group = [f for f in report.findings if f.code[2:3] == family]
        if group:
            lines.append(f"\n{title} (HW{family}xx)")
        for f in sorted(group, key=lambda f: (f.severity != "error", f.code, f.file or "", f.line or 0)):
            label = f"{f.severity}{'*' if f.policy else ''}"
            lines.append(f"  {label:<8} {f.code} {f.where()}: {f.message}")
            lines.append(f"           fix: {f.fix}")
    lines.append("\nsteps: " + ", ".join(
        f"{s.name} {s.status} {s.seconds:.2f}s" + (f" ({s.detail})" if s.status != "ok" and s.detail else "")
        for s in report.steps
    ))  # fmt: skip
    if any(f.policy for f in report.findings):
        lines.append("* policy: a house rule, not Heroku's verdict (an error only with --strict)")
    errors = sum(f.severity == "error" and not f.blocking for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    not_run = any(f.blocking for f in report.findings)
    verdict = {
        0: "clean",
        1: "errors found" + ("; some checks could not run (NOT VERIFIED)" if not_run else ""),
        2: "COULD NOT RUN - this is not a clean result",
    }[report.exit_code]
    lines.append(f"{errors} error(s), {warnings} warning(s): exit {report.exit_code} ({verdict})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        report = run(args)
    except KeyboardInterrupt:
        return COULD_NOT_RUN
    print(json.dumps(report.to_json(), indent=2) if args.json else render_text(report))
    return report.exit_code


__all__ = ["main", "run"]
