"""The first hour, as a new user lives it: an interactive bake in a terminal (bad answers refused in one block
with a command to answer again), a git repository and next steps, the README's local setup run as written, and
the small things a reader notices (issue 23)."""

from __future__ import annotations

import ast
import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .test_cruft_update import GIT_ENV, IGNORE, commit_all, run
from .test_ecosystem import read_settings

ANSI = re.compile(rb"\x1b\[[0-9;]*[A-Za-z]")


class Terminal:
    """A command on a pseudo-terminal, answered prompt by prompt as a person would."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        self.seen = b""

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 65536)
        except OSError:  # the other end closed: the command ended
            return b""

    def answer(self, answers: dict[str, str], timeout: float = 120) -> str:
        """Answer each prompt (by a word of its text; Enter for the others) until the command ends."""
        pending, deadline = b"", time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self.read(0.2)
            pending += chunk
            self.seen += chunk
            text = ANSI.sub(b"", pending).decode(errors="replace")
            if text.rstrip(" ").endswith(":") and text.endswith(" "):
                reply = next((value for word, value in answers.items() if word in text), "")
                os.write(self.master, reply.encode() + b"\r")
                pending = b""
            elif not chunk and self.process.poll() is not None:
                break
        self.process.wait(timeout=30)
        os.close(self.master)
        return ANSI.sub(b"", self.seen).decode(errors="replace").replace("\r\n", "\n")


def terminal_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # No git identity: the first commit falls back to the author answers.
    return {
        "PATH": os.environ["PATH"], "HOME": str(home), "TERM": "xterm", "COLUMNS": "200",
        "GIT_CONFIG_NOSYSTEM": "1", "UV_PYTHON_DOWNLOADS": "never",
    }  # fmt: skip


def test_an_interactive_bake_refuses_bad_answers_at_once_then_bakes_a_repository(tmp_path: Path) -> None:
    env = terminal_env(tmp_path)
    first = Terminal([sys.executable, "-m", "cookiecutter", str(ROOT)], tmp_path, env)
    refused = first.answer({"Folder and Heroku app name": "Bad_Slug", "Author email": "nope"})
    assert first.process.returncode == 1
    assert "(2 to fix)" in refused, refused
    assert "project_slug 'Bad_Slug'" in refused and "author_email 'nope'" in refused
    assert "Traceback" not in refused, refused
    assert list(tmp_path.iterdir()) == [tmp_path / "home"], "a refused bake wrote something"
    (line,) = [line.strip() for line in refused.splitlines() if line.strip().startswith("cookiecutter ")]
    assert "project_slug=bad-slug" in line and "author_email" not in line

    # The paste-ready line, answered again: every prompt defaults to the good answers, the slug to its fix.
    second = Terminal([sys.executable, "-m", *shlex.split(line)], tmp_path, env)
    baked = second.answer({"Author email": "me@example.com", "Verify the baked project": "no"})
    assert second.process.returncode == 0, baked
    project = tmp_path / "bad-slug"
    log = run(["git", "log", "--format=%an <%ae>|%s"], project).stdout.strip()
    assert log == "Your Name <me@example.com>|Bake from the heroku-worker template", log
    assert run(["git", "status", "--porcelain"], project).stdout == "", "the first commit left files out"
    assert run(["git", "branch", "--show-current"], project).stdout.strip() == "main"
    steps = baked[baked.index("Next steps") :]
    for needed in (
        "cd bad-slug",
        "docker compose up",
        "python -m bad_slug",
        "heroku create --stack",
        "git push heroku main",
    ):
        assert needed in steps, steps
    assert "heroku create bad-slug" not in steps, "a bare slug is often a taken Heroku app name"


def cli_bake(tmp_path: Path, *answers: str) -> tuple[Path, str]:
    out = tmp_path / "out"
    baked = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(out), str(ROOT), "verify_on_bake=no", *answers],
        capture_output=True, text=True, check=False, env={**os.environ, **GIT_ENV},
    )  # fmt: skip
    assert baked.returncode == 0, baked.stdout + baked.stderr
    (project,) = [p for p in out.iterdir() if p.is_dir()]
    return project, baked.stdout + baked.stderr


def test_a_runtime_txt_bake_shows_its_deprecation_warning(tmp_path: Path) -> None:
    _, output = cli_bake(tmp_path, "python_version_file=runtime.txt", "init_git=no")
    assert "ok, 1 warning(s)" in output and "HW605 runtime.txt:1: runtime.txt is deprecated" in output, output
    assert "no git repository (init_git=no)" in output


USER_FACING = ("README.md", "app.json", "noxfile.py", ".env.example", "Procfile", "Procfile.dev", "compose.yaml")
POSTGRES_WORDS = re.compile(r"postgres|psycopg|migrat|release phase|release_phase|0002_", re.IGNORECASE)
REDIS_STORE_WORDS = re.compile(r"stores the results in Redis|\(here Redis\)|Nothing to change in Redis")


def test_each_store_answer_leaves_out_what_only_the_other_needs(bake: Any) -> None:
    redis_only = bake(use_postgres=False)
    package = redis_only / "events_worker"
    for path in (redis_only / name for name in USER_FACING):
        found = POSTGRES_WORDS.findall(path.read_text())
        assert not found, f"{path.name} of a use_postgres=no bake says {sorted(set(found))}"
    # The modules both stores share name neither: the store module says what it is (`migrate` is in every
    # bake: without PostgreSQL it records the store's layout version and creates the consumer group).
    for name in ("cli.py", "__main__.py", "config.py", "faults.py"):
        found = re.findall(r"postgres|psycopg", (package / name).read_text(), re.IGNORECASE)
        assert not found, f"{name} of a use_postgres=no bake says {sorted(set(found))}"
    assert not (package / "migrator.py").exists() and not (package / "migrations").exists()
    postgres = bake()
    for name in USER_FACING:
        assert not REDIS_STORE_WORDS.findall((postgres / name).read_text()), name


def test_two_projects_default_to_their_own_queue(bake: Any) -> None:
    for slug in ("orders-worker", "billing-worker"):
        project = bake(project_slug=slug)
        package = project / slug.replace("-", "_")
        settings = {s["name"]: s["default"] for s in read_settings(project)}
        assert settings["QUEUE_NAME"] == slug and package.is_dir()
        assert f"\nQUEUE_NAME={slug}\n" in (project / ".env.example").read_text()
        assert json.loads((project / "app.json").read_text())["env"]["QUEUE_NAME"]["value"] == slug


def test_small_things_a_reader_notices(bake: Any) -> None:
    project = bake(project_name="Quarterly Revenue Reconciliation Worker", project_slug="revenue-worker")
    assert json.loads((project / "app.json").read_text())["name"] == "Quarterly Revenue", "cut mid-word"
    sessions = ast.parse((project / "noxfile.py").read_text())
    for function in (node for node in sessions.body if isinstance(node, ast.FunctionDef) and node.decorator_list):
        first = (ast.get_docstring(function) or "").splitlines()[0]
        assert first.endswith((".", ")")), f"`nox -l` cuts {function.name}'s line: {first!r}"
    for line in (project / "Procfile.dev").read_text().splitlines():
        assert "exec python -m" in line, f"Ctrl-C would kill the shell, not the worker: {line}"
    readme = (project / "README.md").read_text()
    assert "--generation fir" in (project / "project.toml").read_text() and "--generation fir" in readme
    assert "`*.rej` files appear only in a folder that is not a git repository" in readme
    runtime = bake(python_version_file="runtime.txt")
    assert "project.toml" not in (runtime / "README.md").read_text().split("## Deploy")[1].split("### Scaling")[0]


def readme_blocks(readme: str, section: str) -> list[str]:
    body = readme.split(f"\n{section}\n", 1)[1]
    body = re.split(r"\n##+ ", body, maxsplit=1)[0]
    return re.findall(r"```bash\n(.*?)```", body, re.DOTALL)


NOX_SESSION_VARIABLES = {"VIRTUAL_ENV", "CONDA_PREFIX", "UV_PYTHON", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH"}


def fresh_home(home: Path) -> dict[str, str]:
    """This environment with a fresh HOME (uv tools installed there, on PATH), as a newcomer's machine has."""
    # The machine's proxy and certificate settings, if any; not what nox sets for its own session (UV_PYTHON,
    # UV_PROJECT_ENVIRONMENT and VIRTUAL_ENV would send `uv pip install` into nox's venv, not the README's).
    inherited = {k: v for k, v in os.environ.items() if k not in NOX_SESSION_VARIABLES}
    return {
        **inherited,
        "PATH": f"{home / 'bin'}:{os.environ['PATH']}", "HOME": str(home), "UV_TOOL_BIN_DIR": str(home / "bin"),
        "UV_TOOL_DIR": str(home / "tools"), "UV_PYTHON_DOWNLOADS": "never", **GIT_ENV,
    }  # fmt: skip


@pytest.mark.network
def test_the_printed_next_steps_run_as_printed(tmp_path: Path) -> None:
    """The bake's "Next steps", run as printed (Docker and Heroku aside: the services run here already; the
    worker's first run ends at `status`), in a fresh HOME. They once said `pre-commit install` before anything
    had installed pre-commit: `pre-commit: command not found`, the first minute's dead end."""
    slug = f"next-steps-{uuid.uuid4().hex[:8]}"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    project, output = cli_bake(tmp_path, f"project_slug={slug}", f"python_version={python}")
    printed = [line.split("  # ")[0].strip() for line in output[output.index("Next steps") :].splitlines()[1:]]
    steps = [line for line in printed if line and not line.startswith(("docker ", "heroku ", "git push"))]
    package = slug.replace("-", "_")
    first_run = f"python -m {package} migrate && python -m {package}"
    assert first_run in steps, steps
    ends_at_status = f"python -m {package} migrate && python -m {package} status"
    script = "set -eo pipefail\n" + "\n".join(steps).replace(first_run, ends_at_status)
    # A newcomer's PATH: uv, this Python (no venv of ours: nothing the test tools installed, pre-commit included)
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("uv", "uvx"):
        found = shutil.which(name)
        assert found, f"{name} is not installed"
        (tools / name).symlink_to(found)
    base = Path(os.path.realpath(sys.executable)).parent
    env = fresh_home(tmp_path / "home")
    env["PATH"] = f"{tmp_path / 'home' / 'bin'}:{tools}:{base}:/usr/local/bin:/usr/bin:/bin"
    run_as_a_newcomer(script, project.parent, env, project, slug, queued=0)


@pytest.mark.network
def test_the_readme_local_setup_runs_as_written_in_a_fresh_bake(tmp_path: Path) -> None:
    """Every command of "Local setup" (Docker aside: the services run here already), then the first jobs of
    "Run it", in a fresh bake, a fresh venv and a fresh HOME."""
    slug = f"first-hour-{uuid.uuid4().hex[:8]}"  # its queue, by default, is its own
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    project, _ = cli_bake(tmp_path, f"project_slug={slug}", f"python_version={python}")
    readme = (project / "README.md").read_text()
    docker, setup = readme_blocks(readme, "## Local setup")
    assert docker.startswith("docker compose up")
    _, first_jobs = readme_blocks(readme, "### Run it")[:2]
    env = fresh_home(tmp_path / "home")
    script = f"set -eo pipefail\n{setup}\n{first_jobs}"
    run_as_a_newcomer(script, project, env, project, slug, queued=2)


def run_as_a_newcomer(script: str, cwd: Path, env: dict[str, str], project: Path, slug: str, queued: int) -> None:
    """Run a newcomer's commands in bash: they succeed, install the pre-commit hook and end with `status`
    showing `queued` jobs. The project's own queue keys are then deleted with the project's own redis client."""
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert (project / ".git" / "hooks" / "pre-commit").is_file(), "pre-commit install did not install"
        assert f"queue {slug}: queued={queued}" in done.stdout, done.stdout + done.stderr
    finally:
        forget = (
            "import redis,sys; r=redis.Redis.from_url(sys.argv[1]); [r.delete(k) for k in r.scan_iter(sys.argv[2])]"
        )
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        if (project / ".venv" / "bin" / "python").exists():
            subprocess.run(
                [str(project / ".venv/bin/python"), "-c", forget, redis_url, "{" + slug + "}:*"], check=False
            )


@pytest.mark.xdist_group("cruft")
def test_cruft_diff_skips_the_checker_and_prints_only_the_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    template = tmp_path / "template"
    import shutil

    shutil.copytree(ROOT, template, ignore=IGNORE)
    run(["git", "init", "-q", "-b", "main"], template)
    commit_all(template, "template v1")
    out = tmp_path / "out"
    no_check = json.dumps({"verify_on_bake": False})
    create = [sys.executable, "-m", "cruft", "create", str(template), "--no-input", "--output-dir", str(out)]
    run([*create, "--extra-context", no_check], tmp_path)
    (project,) = out.iterdir()
    assert run(["git", "log", "--oneline"], project).stdout.count("\n") == 1, "cruft create makes the repository"
    commit_all(project, "cruft state")
    slugignore = project / ".slugignore"  # a change of the team's own: what `cruft diff` shows
    slugignore.write_text("# Changed by the team.\n" + slugignore.read_text().split("\n", 1)[1])
    diff = run([sys.executable, "-m", "cruft", "diff"], project)
    assert diff.stdout.lstrip().startswith("diff --git"), diff.stdout[:500]
    assert "Verifying" not in diff.stdout + diff.stderr and "Next steps" not in diff.stdout
