"""Time a default bake with and without the post-gen fresh-environment check (warm caches, median of N).

Run: uv run --with cookiecutter python benchmarks/bench_bake.py [--runs 3]
(needs the default Python, 3.13, on PATH and uv for the fresh environment, as the bake itself does).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bake_seconds(verify: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", out, str(ROOT),
             f"verify_on_bake={'yes' if verify else 'no'}"],
            check=True, capture_output=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )  # fmt: skip
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    bake_seconds(verify=True)  # warm uv's cache and the interpreter's files
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| bake (default answers) | median s | runs |")
    print("|---|---|---|")
    for verify in (False, True):
        times = [bake_seconds(verify) for _ in range(runs)]
        label = "with fresh-environment check" if verify else "static checks only (verify_on_bake=no)"
        print(f"| {label} | {statistics.median(times):.2f} | {runs} |")


if __name__ == "__main__":
    main()
