"""The template's harness: interpreter discovery past dead pyenv shims, and skipped never counted as success.

The `baked` sessions and the baked project's own `noxfile.py` are run for real with nox, on a PATH whose
`pythonX.Y` is a shim that exits 127 (as pyenv's does outside a folder that selects that version).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from . import pythons
from .conftest import ROOT

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"
DEAD_SHIM = '#!/bin/sh\necho "pyenv: $(basename "$0"): command not found" >&2\nexit 127\n'


def dead_shims(folder: Path, *versions: str) -> Path:
    """A folder of `pythonX.Y` scripts that fail the way pyenv's shims do."""
    folder.mkdir(parents=True, exist_ok=True)
    for version in versions:
        shim = folder / f"python{version}"
        shim.write_text(DEAD_SHIM)
        shim.chmod(0o755)
    return folder


def fake_pyenv(root: Path, version: str) -> Path:
    """A pyenv root whose versions folder holds this interpreter as `<version>.0`."""
    bin_dir = root / "versions" / f"{version}.0" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / f"python{version}").symlink_to(sys.executable)
    return root


def bare_env(tmp_path: Path, path: str, **extra: str) -> dict[str, str]:
    """An environment with no Python but the given PATH, no pyenv, no uv-managed Pythons, CI unset."""
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYENV_ROOT", "VIRTUAL_ENV"}}
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    env.update(PATH=path, PYENV_ROOT=str(empty), UV_PYTHON_INSTALL_DIR=str(empty), UV_PYTHON_DOWNLOADS="never")
    env.update(extra)
    return env


def test_a_dead_shim_is_skipped_for_a_working_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shims = dead_shims(tmp_path / "shims", HERE)
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(fake_pyenv(tmp_path / "pyenv", HERE)))
    assert not pythons.runs_as(str(shims / f"python{HERE}"), HERE)
    found = pythons.find_python.__wrapped__(HERE)
    assert found == str(tmp_path / "pyenv" / "versions" / f"{HERE}.0" / "bin" / f"python{HERE}")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    assert pythons.find_python.__wrapped__(HERE) in (None, f"/usr/bin/python{HERE}"), "a dead shim was used"


def test_offered_pythons_mirror_heroku_and_are_each_found_or_reported() -> None:
    """cookiecutter.json offers exactly what heroku_preflight/heroku.py offers (Heroku's, less the deprecated); each
    is found or allowed."""
    heroku = load_heroku()
    context = json.loads((ROOT / "cookiecutter.json").read_text())
    assert sorted(context["python_version"]) == heroku.offered_versions()
    for version in heroku.offered_versions():
        assert pythons.find_python(version) or version in pythons.KNOWN_UNVERIFIED or not pythons.on_ci()


def load_heroku() -> Any:
    from heroku_preflight import heroku  # the installed checker: Heroku's platform facts have their home there

    return heroku


def nox(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def missing_bake() -> tuple[str, str]:
    """A `baked` answer set whose Python is not this one and not the system's (so the test can hide it)."""
    noxfile = (ROOT / "noxfile.py").read_text()
    for name, version in (("py3.11-no-postgres", "3.11"), ("py3.12-runtime-txt", "3.12"), ("py3.14", "3.14")):
        if name in noxfile and version != HERE and not Path(f"/usr/bin/python{version}").exists():
            return name, version
    raise AssertionError("no baked answer set whose Python this test can hide")


@pytest.mark.parametrize("ci", [False, True])
def test_baked_session_without_its_python_is_not_verified(tmp_path: Path, ci: bool) -> None:
    """No interpreter for the answer set's Python: NOT VERIFIED in nox's summary; under CI=true, a failure."""
    name, version = missing_bake()
    shims = dead_shims(tmp_path / "shims", version)
    env = bare_env(tmp_path, f"{shims}:{Path(sys.executable).parent}:/usr/bin:/bin", **({"CI": "true"} if ci else {}))
    if version in pythons.KNOWN_UNVERIFIED and ci:
        pytest.fail("pick an answer set outside KNOWN_UNVERIFIED: this test must see the CI failure")
    report = tmp_path / "report.json"
    args = ["-f", str(ROOT / "noxfile.py"), "--envdir", str(tmp_path / ".nox"), "--report", str(report)]
    result = nox([*args, "-s", f"baked(name='{name}')"], tmp_path, env)
    (session,) = json.loads(report.read_text())["sessions"]
    reason = f"NOT VERIFIED: no Python {version} interpreter here"
    assert session["reason"].startswith(reason), session
    assert reason in result.stderr  # what the developer sees
    assert (session["result"], result.returncode != 0) == (("aborted", True) if ci else ("skipped", False)), session


INNER = """
import nox

@nox.session(python=False)
def fine(session):
    pass

@nox.session(python="3.99")
def absent(session):
    pass
"""


@pytest.mark.parametrize("ci", [False, True])
def test_inner_skips_are_read_from_the_report(tmp_path: Path, ci: bool) -> None:
    """What `baked` reads: a session that nox skipped (or, under CI, failed) for a missing interpreter."""
    (tmp_path / "noxfile.py").write_text(INNER)
    report = tmp_path / "report.json"
    env = bare_env(tmp_path, os.environ["PATH"], **({"CI": "true"} if ci else {}))
    result = nox(["--report", str(report)], tmp_path, env)
    skipped = pythons.skipped_sessions(json.loads(report.read_text()))
    assert len(skipped) == 1 and skipped[0].startswith("absent: "), skipped
    assert "3.99" in skipped[0]
    assert (result.returncode != 0) == ci, result.stderr  # nox itself fails a missing interpreter on CI


def baked_noxfile_env(project: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    shims = dead_shims(tmp_path / "shims", HERE)
    pyenv = fake_pyenv(tmp_path / "pyenv", HERE)
    return bare_env(tmp_path, f"{shims}:/usr/bin:/bin", PYENV_ROOT=str(pyenv), PYTHONPATH=str(project), **extra)


IMPORT_NOXFILE = "import json, os, noxfile; print(json.dumps({'python': noxfile.INTERPRETER, 'env': dict(os.environ)}))"


def import_noxfile(project: Path, env: dict[str, str]) -> tuple[dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_NOXFILE], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_baked_noxfile_finds_pyenvs_binary_behind_a_dead_shim(bake: Any, tmp_path: Path) -> None:
    project = bake(python_version=HERE)
    loaded, _ = import_noxfile(project, baked_noxfile_env(project, tmp_path))
    assert loaded["python"] == str(tmp_path / "pyenv" / "versions" / f"{HERE}.0" / "bin" / f"python{HERE}")


def test_baked_noxfile_reads_dotenv_as_honcho_does_and_the_shell_wins(bake: Any, tmp_path: Path) -> None:
    project = bake(python_version=HERE)
    (project / ".env").write_text(
        "# comment\nQUEUE_NAME=from-dotenv\nexport BATCH_SIZE=64\nLOG_LEVEL='debug'  # inline\n"
        'SECRET_TOKEN="s3cr3t value"\nREDIS_URL=redis://dotenv:1/0\n\nnot a setting\n'
    )
    env = baked_noxfile_env(project, tmp_path, REDIS_URL="redis://shell:2/0")
    loaded, stderr = import_noxfile(project, env)
    got = loaded["env"]
    assert (got["QUEUE_NAME"], got["BATCH_SIZE"], got["LOG_LEVEL"]) == ("from-dotenv", "64", "debug")
    assert got["SECRET_TOKEN"] == "s3cr3t value"
    assert got["REDIS_URL"] == "redis://shell:2/0", "a variable the shell sets wins over .env"
    assert "SECRET_TOKEN" in stderr and "s3cr3t" not in stderr, "names are printed, values never"


@pytest.mark.parametrize("stack", ["heroku-22", "heroku-24", "heroku-26"])
def test_baked_lock_targets_the_stack_app_json_names(bake: Any, tmp_path: Path, stack: str) -> None:
    """The stack answer lives once, in app.json; the baked noxfile's lock resolves for that stack's glibc."""
    project = bake(python_version=HERE, stack=stack)
    assert json.loads((project / "app.json").read_text())["stack"] == stack
    probe = "import noxfile; print(noxfile.heroku_stack())"  # `nox -s lock` asks the checker for its wheel tag
    env = baked_noxfile_env(project, tmp_path)
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == stack
    assert f"--stack {stack}" in (project / "README.md").read_text()
