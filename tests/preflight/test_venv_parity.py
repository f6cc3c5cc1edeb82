"""`python -m heroku_preflight` from a plain `python -m venv` of each Python here gives the verdicts the baked project's
`nox -s preflight` gives (issue 19).

The two ways differ in what the checker finds beside it. `nox -s preflight` (the baked noxfile) makes a
virtualenv (nox's default backend, which seeds a current pip) and installs the checker's tools into it with pip;
a user's `python -m venv` carries the pip its Python bundles (23.0.1 on 3.10.13, 23.2.1 on 3.11/3.12, 24.2 on
3.13.0), which the checker then finds on PATH. The tools are installed with the same names the baked session
installs (read from the template's noxfile, so the two cannot drift). A Python missing here is NOT VERIFIED
(tests/pythons.py: a failure under CI=true), never a pass.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pythons
from tests.preflight.helpers import CHECKER_WHEEL, TEMPLATE_PROJECT, checker_env, run_preflight
from tests.preflight.record_real_apps import MANIFEST, materialize

# The checker still judges 3.10 (Heroku builds it until 6 January 2027), so its venv counts too.
VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
# A case that builds and starts, and one whose process crashes (a requirement dropped): real apps, corpus truth.
CASES = ["telegram_bot-pypi-3.12", "telegram_bot-redis-dropped"]


def baked_session_tools() -> list[str]:
    """The packages the baked noxfile's `preflight` session installs beside the checker (the template is
    Jinja, not Python, so its text is read: the first `session.install(...)` after `def preflight`)."""
    text = (TEMPLATE_PROJECT / "noxfile.py").read_text()
    body = text[text.index("def preflight(") :]
    match = re.search(r"session\.install\(([^)]*)\)", body)
    assert match, "the baked preflight session installs nothing: update this test"
    return re.findall(r'"([^"]+)"', match.group(1))


def make_env(kind: str, python: str, folder: Path) -> Path:
    """`plain`: `python -m venv` (its bundled pip); `nox`: a virtualenv as nox makes it, with the session's tools."""
    if kind == "plain":
        subprocess.run([python, "-m", "venv", str(folder)], check=True, capture_output=True)
    else:
        virtualenv = shutil.which("virtualenv", path=str(Path(sys.executable).parent))
        assert virtualenv, "virtualenv (nox's default backend) is missing from the dev environment"
        subprocess.run([virtualenv, "-q", "-p", python, str(folder)], check=True, capture_output=True)
    tools = [t for t in baked_session_tools() if kind == "nox" or t != "pip"]  # plain keeps its bundled pip
    # Installed with uv for speed (what is installed is the same; pip's own version is what differs, and
    # an installed pip satisfies "pip", as it does for `session.install`).
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv, "uv is missing from the dev environment"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    # Both install the checker from its wheel: the baked session installs the pinned one, a user the package.
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(folder / "bin" / "python"), *tools, str(CHECKER_WHEEL)],
        check=True, env=env,
    )  # fmt: skip
    return folder


def verdict(env: Path, app: Path) -> tuple[int, list[str]]:
    """Exit code and error codes of `python -m preflight APP` run from `env` (its bin first on PATH, as when
    activated), the checker installed in it."""
    path = f"{env / 'bin'}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin"
    result = run_preflight(
        app,
        "--generation",
        "cedar",
        python=str(env / "bin" / "python"),
        env=checker_env(PATH=path, VIRTUAL_ENV=str(env)),
    )
    assert result.data is not None, result
    return result.exit_code, sorted({f["code"] for f in result.findings if f["severity"] == "error"})


@pytest.mark.network
@pytest.mark.parametrize("version", VERSIONS)
def test_plain_venv_gives_the_verdicts_of_nox_preflight(version: str, tmp_path: Path) -> None:
    python = pythons.find_python(version)
    if python is None:
        pythons.not_verified(f"no Python {version} here to make a `python -m venv` of", version)
    cases = json.loads(MANIFEST.read_text())["cases"]
    apps = {name: materialize(cases[name], tmp_path / name) for name in CASES}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        envs = dict(
            zip(("plain", "nox"), pool.map(lambda k: make_env(k, python, tmp_path / k), ("plain", "nox")), strict=True)
        )
        runs = {(k, n): pool.submit(verdict, envs[k], app) for k in envs for n, app in apps.items()}
    got = {key: future.result() for key, future in runs.items()}
    for name in CASES:
        assert got["plain", name] == got["nox", name], (version, name, got)
    # And both are the real build's verdict: exit 0 for the app that starts, exit 1 naming the crash.
    assert got["nox", CASES[0]] == (0, []), got
    assert got["nox", CASES[1]][0] == 1 and "HW411" in got["nox", CASES[1]][1], got


def test_a_pip_that_crashes_is_not_a_conflict_of_the_app(tmp_path: Path) -> None:
    """pip 23.0.1 (`python3.10 -m venv`) run as `pip --python ENV check` on a Python 3.12 ENV dies in its own
    pkg_resources (`pkgutil.ImpImporter`); that traceback was reported as HW402 conflicts, line by line."""
    old, new = pythons.find_python("3.10"), pythons.find_python("3.12")
    if old is None or new is None:
        pythons.not_verified("needs Python 3.10 (pip 23.0.1) and 3.12 here", "3.10" if old is None else "3.12")
    from heroku_preflight import fresh_env, requirements_file

    subprocess.run([old, "-m", "venv", str(tmp_path / "old")], check=True, capture_output=True)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    assert uv
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv, "venv", "-q", "-p", new, str(tmp_path / "app-env")], check=True, env=env)
    (tmp_path / "requirements.txt").write_text("")
    reqs = requirements_file.parse(tmp_path)
    saved = os.environ["PATH"]
    os.environ["PATH"] = f"{tmp_path / 'old' / 'bin'}{os.pathsep}{saved}"  # the checker's pip, as in that venv
    try:
        with_uv = fresh_env.pip_check(str(tmp_path / "app-env" / "bin" / "python"), uv, reqs)
        without_uv = fresh_env.pip_check(str(tmp_path / "app-env" / "bin" / "python"), None, reqs)
    finally:
        os.environ["PATH"] = saved
    assert with_uv == [], with_uv  # uv's pip check answers for the empty env: nothing conflicts
    assert [(f.code, f.blocking) for f in without_uv] == [("HW406", True)], without_uv
    assert "ImpImporter" in without_uv[0].message
