"""Agreement of preflight's verdict with the real classic build, on heroku-buildpack-python's fixture apps.

    python benchmarks/bench_fixtures.py PATH/TO/spec/fixtures [--expected FILE] [--steps static] [--json]

The fixtures are not in this repository: fetch heroku/heroku-buildpack-python and pass its `spec/fixtures`.
`buildpack_fixtures_expected.json` (beside this script) says, per fixture, whether the real build passes or
fails, as the buildpack's own `spec/hatchet` specs assert. preflight's verdict is "fail" when it reports an
error finding and "pass" on exit 0 (exit 2 without an error, could not run, is counted apart). Policy findings are
house rules, so the benchmark runs without --strict, on Cedar (the classic buildpack).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKER = HERE.parent / "heroku-preflight" / "src"  # the checker's source, on PYTHONPATH


def verdict(app: Path, steps: str, extra: list[str], config: dict[str, str]) -> tuple[str, list[str], float]:
    env = {**os.environ, **config, "PYTHONPATH": str(CHECKER), "UV_PYTHON_DOWNLOADS": "never"}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "heroku_preflight", str(app), "--json", "--generation", "cedar", "--steps", steps,
         *extra],
        capture_output=True, text=True, env=env, cwd=HERE, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    try:
        findings = json.loads(proc.stdout)["findings"]
    except (ValueError, KeyError):
        return "crash", [proc.stderr.strip()[-200:]], seconds
    errors = sorted({f["code"] for f in findings if f["severity"] == "error" and not f["blocking"]})
    if errors:  # an error finding is preflight saying "the build fails", even when another step could not run
        return "fail", errors, seconds
    result = {0: "pass", 2: "not-run"}.get(proc.returncode, "crash")
    return result, sorted({f["code"] for f in findings if f["blocking"]}), seconds


def declared(app: Path) -> str:
    """The X.Y a fixture asks for (.python-version, else runtime.txt), "" when none."""
    for name, prefix in ((".python-version", ""), ("runtime.txt", "python-")):
        path = app / name
        if path.is_file():
            lines = [x.strip() for x in path.read_text(errors="replace").splitlines() if x.strip()[:1] not in "#"]
            if lines and lines[0].startswith(prefix):
                return ".".join(lines[0].removeprefix(prefix).split(".")[:2])
    return ""


def installed(minor: str) -> bool:
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    return bool(minor) and any(pyenv.glob(f"{minor}.*/bin/python"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--expected", type=Path, default=HERE / "buildpack_fixtures_expected.json")
    parser.add_argument("--steps", default="static", help="preflight steps to run (default: static)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--python", help="pass --python X.Y to preflight for fixtures whose own version is not installed here"
    )
    args = parser.parse_args()
    data = json.loads(args.expected.read_text())
    expected: dict[str, str] = data["expected"]
    config: dict[str, dict[str, str]] = data.get("config", {})
    rows: list[tuple[str, str, str, list[str], float]] = []  # name, build's verdict, preflight's, codes, s
    for name, want in expected.items():
        app = args.fixtures / name
        if not app.is_dir():
            rows.append((name, want, "missing", [], 0.0))
            continue
        override = args.python and not installed(declared(app))
        rows.append(
            (
                name,
                want,
                *verdict(app, args.steps, ["--python", args.python] if override else [], config.get(name, {})),
            )
        )
    agree = [r for r in rows if r[1] == r[2]]
    false_alarms = [r for r in rows if r[1] == "pass" and r[2] == "fail"]
    misses = [r for r in rows if r[1] == "fail" and r[2] == "pass"]
    other = [r for r in rows if r[2] not in ("pass", "fail")]
    if args.json:
        print(json.dumps({"agree": len(agree), "total": len(rows), "rows": rows}, indent=2))
    else:
        for name, want, got, codes, seconds in rows:
            mark = "ok  " if want == got else "DIFF"
            print(f"{mark} {name:<48} build={want:<5} preflight={got:<8} {' '.join(codes)} ({seconds:.2f}s)")
        print(f"\nagreement: {len(agree)}/{len(rows)} ({100 * len(agree) / max(len(rows), 1):.1f}%); "
              f"false alarms {len(false_alarms)}, misses {len(misses)}, not run/crash {len(other)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
