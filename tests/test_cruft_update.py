"""Updating a baked project: `cruft create`, a template change, `cruft update`, applied cleanly.

The template is copied into a temporary git repository (the real one is never touched). The change has the two
shapes every template update has: a new file and a changed line. The baked project carries a commit of the
team's own in between, which the update must keep. cruft renders the template at both commits, which runs the
post-generation hook again each time; the hook must be safe to re-run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Test",
    "GIT_AUTHOR_EMAIL": "template-test@example.com",
    "GIT_COMMITTER_NAME": "Template Test",
    "GIT_COMMITTER_EMAIL": "template-test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
IGNORE = shutil.ignore_patterns(
    ".git", ".nox", ".tools", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"
)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "UV_PYTHON_DOWNLOADS": "never"}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, f"{' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result


def commit_all(repo: Path, message: str) -> str:
    run(["git", "add", "--all"], repo)
    run(["git", "commit", "-q", "--no-verify", "-m", message], repo)
    return run(["git", "rev-parse", "HEAD"], repo).stdout.strip()


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "cruft", *args], cwd)


@pytest.mark.xdist_group("cruft")
def test_cruft_update_applies_a_template_change_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # cookiecutter's replay files and git config stay here
    template = tmp_path / "template"
    shutil.copytree(ROOT, template, ignore=IGNORE)
    run(["git", "init", "-q", "-b", "main"], template)
    first = commit_all(template, "template v1")

    out = tmp_path / "out"
    created = cruft(
        "create", str(template), "--no-input", "--output-dir", str(out),
        "--extra-context", json.dumps({"verify_on_bake": False}), cwd=tmp_path,
    )  # fmt: skip
    (project,) = out.iterdir()
    assert "FAILED" not in created.stdout + created.stderr
    cruft_json = json.loads((project / ".cruft.json").read_text())
    assert cruft_json["commit"] == first and cruft_json["context"]["cookiecutter"]["verify_on_bake"] is False

    run(["git", "init", "-q", "-b", "main"], project)
    commit_all(project, "baked")
    # The team's own change, in a file the template update does not touch: it must survive the update.
    gitignore = project / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "local-notes/\n")
    commit_all(project, "team change")

    # Template v2: a new (rendered) file and one changed line.
    slug_dir = template / "{{cookiecutter.project_slug}}"
    (slug_dir / "docs").mkdir(exist_ok=True)
    (slug_dir / "docs" / "RUNBOOK.md").write_text("# {{ cookiecutter.project_name }} runbook\n")
    slugignore = slug_dir / ".slugignore"
    lines = slugignore.read_text().splitlines(keepends=True)
    assert lines[0].startswith("#"), ".slugignore's first line is expected to be a comment"
    lines[0] = "# Changed by template v2.\n"
    slugignore.write_text("".join(lines))
    second = commit_all(template, "template v2")

    stale = subprocess.run([sys.executable, "-m", "cruft", "check"], cwd=project, capture_output=True, check=False)
    assert stale.returncode != 0, "cruft check must see that the template moved on"
    updated = cruft("update", "--skip-apply-ask", cwd=project)
    output = updated.stdout + updated.stderr
    assert "FAILED" not in output, output

    runbook = project / "docs" / "RUNBOOK.md"
    assert runbook.read_text() == f"# {cruft_json['context']['cookiecutter']['project_name']} runbook\n"
    assert (project / ".slugignore").read_text().splitlines()[0] == "# Changed by template v2."
    assert gitignore.read_text().endswith("local-notes/\n"), "the team's own change was lost"
    leftovers = [p for p in project.rglob("*") if p.suffix in {".rej", ".orig"}]
    assert not leftovers, f"the update did not apply cleanly: {leftovers}"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    cruft("check", cwd=project)  # exit 0: up to date with the template

    # The post-generation hook ran again for both renders; the project it leaves is still whole.
    assert os.access(project / "bin" / "post_compile", os.X_OK)
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout.split("\n")
    changed = sorted(line[3:] for line in status if line.strip())
    assert changed == [".cruft.json", ".slugignore", "docs/RUNBOOK.md"], changed
    static = subprocess.run(
        [sys.executable, "-m", "heroku_preflight", "--static"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert static.returncode == 0, static.stdout + static.stderr
