"""Finish the baked project, prove it with the project's own checker (heroku-preflight), make it a git repository
and say what to do next.

Safe to run again. `cruft diff` and `cruft update` render the template again, twice, into temporary folders
of their own, which runs this hook each time: those re-renders only get the file modes fixed, silently (no
checker, no git, no next steps), so a diff starts with the diff and an update takes seconds.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SKIP_ENV = "HEROKU_WORKER_SKIP_VERIFY"  # set to 1 to skip the fresh-environment check for one bake
EXECUTABLES = ("bin/post_compile",)

# What the checker's exit codes mean to the bake (see preflight's docs).
CLEAN, FINDINGS, COULD_NOT_RUN = 0, 1, 2
WARNINGS = re.compile(r"(\d+) warning\(s\)")  # the checker's summary line: "0 error(s), 1 warning(s): …"


# The package's name in the template: the default answers' package, so that the template's Python is the
# default bake's Python, valid as it sits (ruff and mypy --strict run over it in the template's own lint).
STAND_IN = "events_worker"
# Files the template holds twice, each real Python: (answer, file, the file that replaces it when the answer
# is no). A bake has one of each, under the first name; imports of the second are renamed to match.
ALTERNATIVES = (
    ("use_postgres", f"{STAND_IN}/store.py", f"{STAND_IN}/store_redis.py"),
    ("use_pandas", f"{STAND_IN}/prepare.py", f"{STAND_IN}/prepare_plain.py"),
    ("use_pandas", f"{STAND_IN}/transform.py", f"{STAND_IN}/transform_plain.py"),
    ("use_postgres", "tests/store_support.py", "tests/store_support_redis.py"),
)
# Files only one answer keeps: (answer, the answer that keeps them, globs in the template).
ONLY_WHEN = (
    ("use_postgres", True, (f"{STAND_IN}/migrator.py", f"{STAND_IN}/migrations", "tests/test_*_postgres.py")),
    ("use_postgres", False, ("tests/test_*_redis.py", f"{STAND_IN}/lua/store_save.lua")),
)
SKIPPED_DIRS = {".git", ".nox", ".venv", "vendor"}


def choose_files(answers: Mapping[str, Any], project: Path) -> None:
    """Keep the files the answers chose, under their one name, and the package under its own name.

    Imports follow: every `.py` of the bake names the package and its modules as the bake has them. A
    re-render by cruft runs this too, so that `cruft diff` compares like with like.
    """
    if not any((project / alternative).exists() for _, _, alternative in ALTERNATIVES):
        return  # already done: the hook run again on a bake
    names = {STAND_IN: str(answers["__package_name"])}
    for answer, name, alternative in ALTERNATIVES:
        if answers.get(answer):
            (project / alternative).unlink()
        else:
            (project / alternative).replace(project / name)
            names[Path(alternative).stem] = Path(name).stem
    for answer, keeps, patterns in ONLY_WHEN:
        if bool(answers.get(answer)) != keeps:
            for path in (p for pattern in patterns for p in project.glob(pattern)):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    (project / STAND_IN).rename(project / names[STAND_IN])
    rename_in_sources(project, names)


def rename_in_sources(project: Path, names: Mapping[str, str]) -> None:
    """Replace whole identifiers (`events_worker`, `store_redis` …) in every `.py` of the bake."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    for path in project.rglob("*.py"):
        if SKIPPED_DIRS.isdisjoint(path.relative_to(project).parts):
            text = path.read_text(encoding="utf-8")
            renamed = pattern.sub(lambda m: names[m.group(1)], text)
            if renamed != text:
                path.write_text(renamed, encoding="utf-8")


def make_executable(project: Path) -> None:
    for name in EXECUTABLES:
        path = project / name
        if path.exists():
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def remove_empty_dirs(project: Path) -> None:
    """Folders whose every file was skipped by its name (e.g. .github without GitHub Actions) go too."""
    for folder in sorted((p for p in project.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if ".git" not in folder.relative_to(project).parts and not any(folder.iterdir()):
            folder.rmdir()


def should_verify(answers: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    return bool(answers.get("verify_on_bake")) and environ.get(SKIP_ENV, "") not in ("1", "true", "yes")


def is_rerender(answers: Mapping[str, Any], project: Path) -> bool:
    """True when cruft renders the template again to compare it (`cruft diff`, `cruft update`).

    cruft sets no answer for it, but it is visible: cruft records the template commit (`_commit`, also set by
    `cruft create`), and a re-render goes into a fresh temporary folder (`tempfile`'s `tmp…`, directly in the
    temporary directory) that holds only the project, where `cruft create` writes where it is told.
    """
    parent = project.resolve().parent
    return (
        "_commit" in answers
        and parent.parent == Path(tempfile.gettempdir()).resolve()
        and parent.name.startswith("tmp")
        and [p.name for p in parent.iterdir()] == [project.name]
    )


def git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)


def init_git(answers: Mapping[str, Any], project: Path) -> str:
    """`git init` and a first commit; returns one line saying what happened (never fails the bake).

    The commit is the user's when git knows who they are; otherwise it is signed with the author's answers,
    for this commit only (nothing is written to git's configuration).
    """
    if not answers.get("init_git", True):
        return "no git repository (init_git=no): `git init` before `pre-commit install` and `git push heroku main`"
    if shutil.which("git") is None:
        return "no git repository: git is not installed; install it, then `git init` and commit"
    if (project / ".git").exists():
        return "git repository already there: left as it is"
    inside = git(project.parent, "rev-parse", "--show-toplevel")
    if inside.returncode == 0:
        return f"no git repository: {project.name} is inside the repository {inside.stdout.strip()}; left to it"
    identity = []
    for key, answer in (("user.name", "author_name"), ("user.email", "author_email")):
        if git(project, "config", "--get", key).returncode != 0:
            identity += ["-c", f"{key}={answers.get(answer, '')}"]
    steps = [
        ["init", "-q"],
        ["symbolic-ref", "HEAD", "refs/heads/main"],  # `git init -b` needs git 2.28
        ["add", "--all"],
        [*identity, "commit", "-q", "--no-verify", "-m", "Bake from the heroku-worker template"],
    ]
    for step in steps:
        done = git(project, *step)
        if done.returncode != 0:
            why = " ".join((done.stderr or done.stdout).split())[:300]
            return f"git {step[-4] if step[0] == '-c' else step[0]} failed, the bake is kept: {why}"
    who = "your git identity" if not identity else "the author answers (git has no user.name/user.email)"
    return f"git repository on branch main with a first commit, by {who}"


def next_steps(answers: Mapping[str, Any], project: Path, git_line: str) -> list[str]:
    """The first hour, in commands: the services, the setup, the first run, the first deploy."""
    package, python = answers["__package_name"], answers["python_version"]
    postgres = bool(answers.get("use_postgres"))
    services = "Redis and PostgreSQL" if postgres else "Redis"
    run = f"python -m {package} migrate && python -m {package}" if postgres else f"python -m {package}"
    lines = [
        f"  {git_line}",
        "",
        "Next steps (README.md says more, in this order):",
        f"  cd {shlex.quote(project.name)}",
        f"  docker compose up -d --wait          # {services} (or your own: README, Local setup)",
        f"  uv venv --python {python} .venv && source .venv/bin/activate",
        "  uv pip install -r requirements.txt -r requirements-dev.txt",
        "  cp .env.example .env && uv tool install pre-commit && pre-commit install",
        f"  {run}  # the first run (README: Run it)",
        f"  heroku create --stack {answers.get('stack', 'heroku-24')}  # no name: Heroku picks a free one",
        "  git push heroku main",
    ]
    return lines


def checker_wheel(project: Path) -> Path:
    """The checker's wheel the bake carries in vendor/ (requirements.txt pins it by hash).

    The hook runs that very wheel, straight from the zip (a pure-Python wheel is importable as it is): baking
    stays offline and installs nothing, and it checks with the version the project's build will run.
    """
    wheels = sorted((project / "vendor").glob("heroku_preflight-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"the template must ship one heroku-preflight wheel in vendor/, found {len(wheels)}")
    return wheels[0]


def run_step(label: str, project: Path, args: Sequence[str]) -> int:
    """Run one check, show it on one line with its time (and any warnings), and return its exit code."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "heroku_preflight", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(checker_wheel(project)), "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    seconds = time.perf_counter() - started
    status = {CLEAN: "ok", FINDINGS: "FAILED", COULD_NOT_RUN: "not run"}.get(result.returncode, "FAILED")
    output = (result.stdout + result.stderr).strip().splitlines()
    warnings = WARNINGS.search(result.stdout)
    if result.returncode == CLEAN and warnings and int(warnings.group(1)):
        status = f"ok, {warnings.group(1)} warning(s)"
        output = [line for line in output if re.match(r"\s+(warning\s+HW|fix:)", line)]
    print(f"  {label:<44} {status:<8} {seconds:6.2f} s")
    if result.returncode != CLEAN or status != "ok":
        for line in output:
            print(f"    {line.strip() if result.returncode == CLEAN else line}")
    return result.returncode


def verify(answers: Mapping[str, Any], project: Path, environ: Mapping[str, str]) -> int:
    version = checker_wheel(project).name.split("-")[1]
    print(f"Verifying {project.name} with its own checker (heroku-preflight {version}):")
    if run_step("static checks (files, pins, Procfile, version)", project, ["--static"]) != CLEAN:
        return 1
    if not should_verify(answers, environ):
        print(f"  fresh-environment import check skipped (verify_on_bake=no or {SKIP_ENV}=1);")
        print(f"  run it later with: cd {project.name} && nox -s preflight")
        return 0
    code = run_step("fresh env from requirements.txt, imports", project, ["--steps", "fresh-env"])
    if code == COULD_NOT_RUN:
        print("  The fresh-environment check could not run here (see above); the bake is kept.")
        print(f"  Run it where the package index and Python {answers['python_version']} are available:")
        print(f"    cd {project.name} && nox -s preflight")
        return 0
    return 0 if code == CLEAN else 1


def main(answers: Mapping[str, Any], project: Path, environ: Mapping[str, str]) -> int:
    choose_files(answers, project)
    make_executable(project)
    remove_empty_dirs(project)
    if is_rerender(answers, project):
        return 0
    code = verify(answers, project, environ)
    if code != CLEAN:
        return code
    print("\n".join(next_steps(answers, project, init_git(answers, project))))
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}"""), Path.cwd(), os.environ))
