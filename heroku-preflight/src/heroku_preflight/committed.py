"""What the app commits: what git would push (tracked, or untracked and not ignored), never what a build made.

A check about committed files (HW704 a venv, HW706 `.heroku/python/`) asks here. In a git checkout git itself
answers, so `.heroku/`, `.nox/` or `.venv/` that the developer's tools made and .gitignore covers are not the
app's. Outside git (a copy, a test folder) every file present counts. Inside Heroku's build (`--build` there)
the build directory also holds what the buildpack itself made (`.heroku/python/`, `.profile.d/`): the
buildpack refused committed copies of those before it installed anything, so those checks do not run there.
"""

from __future__ import annotations

import fnmatch
import functools
import shutil
import subprocess
from pathlib import Path

from .findings import Finding, error
from .layout import is_venv


@functools.cache
def git_files(app: Path) -> frozenset[str] | None:
    """Paths (relative to the app) that git would commit, or None when the app is not in a git work tree."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=app, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:  # "not a git repository" (a copy, a build dir): every file present counts
        return None
    return frozenset(name for name in proc.stdout.decode(errors="replace").split("\0") if name)


def commits(app: Path, folder: str) -> bool:
    """True when the app would push anything under `folder` (a path relative to the app).

    git is asked only when the folder exists, so `--static` on an ordinary app still starts no process.
    """
    if not (app / folder).exists():
        return False
    files = git_files(app)
    if files is None:
        return not _ignored(app, folder.split("/")[0])
    prefix = folder.rstrip("/") + "/"
    return any(name.startswith(prefix) for name in files)


def _ignored(app: Path, name: str) -> bool:
    """Outside git: a top-level name matched by a plain pattern of the app's .gitignore (no git to ask)."""
    ignore = app / ".gitignore"
    if not ignore.is_file():
        return False
    for raw in ignore.read_text(errors="replace").splitlines():
        pattern = raw.strip().strip("/")
        if (
            pattern
            and not raw.startswith(("#", "!"))
            and "/" not in pattern
            and fnmatch.fnmatch(name, pattern)
        ):
            return True
    return False


def check(app: Path) -> list[Finding]:
    """HW704 a committed virtualenv, HW706 a committed `.heroku/python/`: the classic build refuses both."""
    found = [
        error(
            "HW704", f"{child.name}/", None,
            f"virtual environment `{child.name}/` is committed: it is machine-specific and bloats the slug",
            f"`git rm -r --cached {child.name}` and add `{child.name}/` to .gitignore",
        )
        for child in sorted(app.iterdir())
        if child.is_dir() and is_venv(child) and commits(app, child.name)
    ]  # fmt: skip
    if commits(app, ".heroku/python"):
        found.append(error(
            "HW706", ".heroku/python/", None,
            "a committed `.heroku/python/` is where the buildpack installs Python: the build refuses it",
            "`git rm -r --cached .heroku/python` and add `.heroku/` to .gitignore",
        ))  # fmt: skip
    return found
