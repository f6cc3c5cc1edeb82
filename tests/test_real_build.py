"""The template's first promise, judged by Heroku's real classic build (tests/heroku_build.py).

Each answer set is baked, committed, built by heroku-buildpack-python's own `bin/compile` (with the baked
`bin/post_compile` running the checker), released (`release:` run like a one-off dyno against real
PostgreSQL) and started like a `worker` dyno against real Redis until SIGTERM. It fails on a build error, a
release error, a worker that exits before SIGTERM or not cleanly after it, and on any buildpack warning that
the checker does not predict with its own code. One deliberately broken bake must fail at `post_compile` with
the checker's code: the hook is what keeps a crashing worker from being released.

Marked `real_build`: the `tests` session runs them on one pytest-xdist worker, one at a time (the builds share
`/app`, as on Heroku); `nox -s real_build` runs them alone.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import heroku_build
from tests.services import Services

# In the `tests` session's pytest run (pytest-xdist, --dist loadgroup) the builds go to one worker, one after the
# other (they share /app), while the other workers run the CPU-bound tests: a build mostly waits on PyPI.
pytestmark = [pytest.mark.real_build, pytest.mark.long, pytest.mark.xdist_group("real-build")]

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((ROOT / "cookiecutter.json").read_text())
OLDEST = min(CONTEXT["python_version"], key=lambda v: int(v.split(".")[1]))

# The answer sets the real build judges (the default, and each answer that changes what the build sees).
ANSWER_SETS: dict[str, dict[str, str]] = {
    "default": {},
    "runtime-txt": {"python_version_file": "runtime.txt"},
    "no-postgres": {"use_postgres": "no"},
    "no-pandas": {"use_pandas": "no"},
    "oldest-python": {"python_version": OLDEST},
    "heroku-22": {"stack": "heroku-22"},
}

# Each warning of the buildpack (its summary line) and the checker code that must predict it.
PREDICTED_BY = {
    "The runtime.txt file is deprecated.": "HW605",
    "Support for Python 3.10 is deprecated!": "HW606",
    "No Python version was specified.": "HW607",
}
WORKER_SECONDS = 4.0  # how long the worker dyno runs before SIGTERM (it starts in about 1 s)


def commit(project: Path) -> Path:
    """`git init` and a first commit, as before `git push heroku main` (Heroku builds what is committed)."""
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    subprocess.run([*git, "add", "--all"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "bake"], check=True)
    return project


def config_vars(services: Services, project: Path) -> dict[str, str]:
    """What Heroku's add-ons set: DATABASE_URL in Heroku's `postgres://` form, REDIS_URL; a queue of our own."""
    config = {"REDIS_URL": services.redis_url, "QUEUE_NAME": f"realbuild-{uuid.uuid4().hex[:8]}"}
    if "DATABASE_URL" in (project / "app.json").read_text():
        config["DATABASE_URL"] = re.sub(r"^postgresql://", "postgres://", services.create_database())
    return config


def checker_codes(project: Path) -> set[str]:
    """The codes the project's own checker reports on Cedar (static: what the version files say)."""
    done = subprocess.run(
        [sys.executable, "-m", "heroku_preflight", "--static", "--json", "--generation", "cedar"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return {f["code"] for f in json.loads(done.stdout)["findings"]}


def unpredicted(build: heroku_build.Build, project: Path) -> list[str]:
    codes = checker_codes(project)
    return [w for w in build.warnings if PREDICTED_BY.get(w) not in codes]


def real_build(project: Path, tmp_path: Path, config: dict[str, str], stack: str) -> heroku_build.Build:
    try:
        return heroku_build.compile_app(project, tmp_path / "work", stack=stack, config=config)
    except heroku_build.NotVerified as error:
        heroku_build.not_verified(error)


@pytest.fixture
def exclusive_app() -> Any:
    try:
        with heroku_build.exclusive_app():
            yield
    except heroku_build.NotVerified as error:
        heroku_build.not_verified(error)


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_real_build_release_and_worker(
    name: str, bake: Callable[..., Path], services: Services, tmp_path: Path, exclusive_app: None
) -> None:
    answers = ANSWER_SETS[name]
    project = commit(bake(**answers))
    config = config_vars(services, project)
    build = real_build(project, tmp_path, config, answers.get("stack", "heroku-24"))
    assert build.ok, f"the real build failed:\n{build.output[-6000:]}"
    print(f"{name}: Python installed -> served here: {build.python or 'from S3'}")
    surprises = unpredicted(build, project)
    assert not surprises, f"buildpack warnings the checker did not predict: {surprises}"

    heroku_build.place_slug(build)
    processes = heroku_build.procfile()
    if "release" in processes:
        code, output = heroku_build.run_once(processes["release"], config, "release.1")
        assert code == 0, f"the release phase failed:\n{output}"
    early, code, output = heroku_build.run_until_sigterm(processes["worker"], config, "worker.1", WORKER_SECONDS)
    assert early is None, f"the worker exited (code {early}) before SIGTERM:\n{output}"
    assert "event=worker_started" in output, output
    assert code == 0, f"the worker did not stop cleanly on SIGTERM (exit {code}):\n{output}"


def test_broken_bake_fails_the_real_build_at_post_compile(
    bake: Callable[..., Path], services: Services, tmp_path: Path, exclusive_app: None
) -> None:
    """The worker's entry name renamed (`__main__` still imports `main`): the dyno would crash, so the build
    must stop at `bin/post_compile`, with the checker's code, before anything is released."""
    project = bake()
    cli = next(project.glob("*/cli.py"))
    cli.write_text(cli.read_text().replace("def main(", "def run_main("))
    build = real_build(commit(project), tmp_path, config_vars(services, project), "heroku-24")
    assert not build.ok, f"the real build passed a worker that cannot start:\n{build.output[-4000:]}"
    assert "Failed to run the bin/post_compile script" in build.output, build.output[-4000:]
    assert re.search(r"error\s+HW41\d .*\bmain\b", build.output), build.output[-4000:]
