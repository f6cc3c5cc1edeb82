"""Time preflight's full check with uv environments against the same checks with `python -m venv` + pip.

    python benchmarks/bench_preflight.py [--app DIR] [--runs 3] [--backends uv,venv] [--json]

Without --app it bakes the template's default project (cookiecutter must be importable; verify_on_bake=false).
Run it with an interpreter whose environment has uv and deptry (the checker's tool environment). Each backend
gets one untimed warm-up run, so the figures are warm-cache figures (uv's cache, pip's cache, bytecode); the
median of --runs timed runs is reported, per step and in total. Figures go to docs/preflight.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parents[1]
CHECKER_SOURCE = ROOT / "heroku-preflight" / "src"  # on PYTHONPATH: the checker as it is in this checkout


def bake(out: Path) -> Path:
    """The default project, baked quietly (the hook's output would mix with --json)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(ROOT),
            "-o",
            str(out),
            "verify_on_bake=false",
        ],
        check=True,
        capture_output=True,
    )
    (project,) = [p for p in out.iterdir() if p.is_dir()]
    return project


def time_static(app: Path, runs: int) -> float:
    """Median wall time of `python -m preflight --static --strict` (the pre-commit hook), interpreter start included."""
    env = {**os.environ, "PYTHONPATH": str(CHECKER_SOURCE)}
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "heroku_preflight", str(app), "--static", "--strict"],
                       capture_output=True, env=env, check=True)  # fmt: skip
        times.append(time.perf_counter() - started)
    return round(statistics.median(times[1:]), 3)


class BackendResult(TypedDict):
    total_s: float  # median of the runs
    steps_s: dict[str, float]  # each step's median


def run_once(app: Path, backend: str) -> tuple[float, dict[str, float], int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(CHECKER_SOURCE), UV_PYTHON_DOWNLOADS="never")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "heroku_preflight", str(app), "--json", "--strict", "--venv-backend", backend],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    total = time.perf_counter() - started
    data = json.loads(proc.stdout)
    return total, {s["name"]: s["seconds"] for s in data["steps"]}, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, help="app to check (default: bake the template's default project)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="uv,venv", help="fresh-env backends to time (comma-separated)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-preflight-") as tmp:
        app = args.app.resolve() if args.app else bake(Path(tmp))
        results: dict[str, BackendResult] = {}
        static_s = time_static(app, max(args.runs, 5))
        for backend in args.backends.split(","):
            _, _, code = run_once(app, backend)  # warm-up: fills uv's and pip's caches and the bytecode cache
            if code != 0:
                print(f"preflight exits {code} on {app} with --venv-backend {backend}; fix that first")
                return 1
            runs = [run_once(app, backend) for _ in range(args.runs)]
            steps = {name: statistics.median(r[1][name] for r in runs) for name in runs[0][1]}
            results[backend] = {"total_s": round(statistics.median(r[0] for r in runs), 2),
                                "steps_s": {k: round(v, 2) for k, v in steps.items()}}  # fmt: skip
    machine = {
        "platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "processor": platform.machine(),
    }  # fmt: skip
    if args.json:
        print(json.dumps({"app": str(app), "runs": args.runs, "machine": machine, "static_s": static_s,
                          "results": results}, indent=2))  # fmt: skip
        return 0
    print(f"app: {app}\nmachine: {machine}\n--static --strict: {static_s} s (median, with interpreter start)")
    print(f"median of {args.runs} warm runs (seconds)")
    names = list(next(iter(results.values()))["steps_s"])
    print(f"{'backend':<10}{'total':>8}" + "".join(f"{n:>11}" for n in names))
    for backend, result in results.items():
        steps = result["steps_s"]
        print(f"{backend:<10}{result['total_s']:>8}" + "".join(f"{steps[n]:>11}" for n in names))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
