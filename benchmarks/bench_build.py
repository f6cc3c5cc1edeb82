"""What the pinned checker costs Heroku's real classic build: build time and slug size of the default bake.

    python benchmarks/bench_build.py [--against COMMIT] [--runs 2]

Bakes the default project from this checkout (and, with --against, from COMMIT of this repository, e.g. the
last commit that vendored the checker's source), builds each with the real classic buildpack
(tests/heroku_build.py; run as root, one build at a time), and prints the median build time of --runs warm
builds, the slug's size and the installed checker's size. Figures go to heroku-preflight/docs/preflight.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.heroku_build: the harness that runs the real build

from tests import heroku_build  # noqa: E402


def bake(template: Path, out: Path) -> Path:
    subprocess.run(
        ["cookiecutter", "--no-input", "-o", str(out), str(template), "verify_on_bake=no", "init_git=no"],
        check=True, capture_output=True,
    )  # fmt: skip
    (project,) = out.iterdir()
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "bake"], cwd=project, check=True)
    return project


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def measure(project: Path, runs: int) -> dict[str, float]:
    times, build = [], None
    for run in range(runs + 1):  # the first run warms the build cache and pip's
        with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp, heroku_build.exclusive_app():
            started = time.perf_counter()
            build = heroku_build.compile_app(project, Path(tmp) / "work", stack="heroku-24", config={})
            seconds = time.perf_counter() - started
            if not build.ok:
                raise SystemExit(f"the build failed:\n{build.output[-3000:]}")
            if run:
                times.append(seconds)
            site = next(build.slug.glob(".heroku/python/lib/python3.*/site-packages"))
            checker = sum(size(p) for p in site.glob("heroku_preflight*"))
            slug = size(build.slug)
    return {"build_s": statistics.median(times), "slug_mb": slug / 1e6, "checker_kb": checker / 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a commit of this repository to compare with")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        templates = {"this checkout": ROOT}
        if args.against:
            old = Path(tmp) / "against"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.against],
                           check=True)  # fmt: skip
            templates[args.against] = old
        try:
            for label, template in templates.items():
                figures = measure(bake(template, Path(tmp) / f"bake-{len(label)}"), args.runs)
                print(
                    f"{label}: build {figures['build_s']:.1f} s (median of {args.runs} warm), "
                    f"slug {figures['slug_mb']:.1f} MB, installed checker {figures['checker_kb']:.0f} kB"
                )
        finally:
            if args.against:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(templates[args.against])])


if __name__ == "__main__":
    main()
