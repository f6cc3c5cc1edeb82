"""The real-build harness itself: what it reads, and that anything it lacks is NOT VERIFIED, never a pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import heroku_build

ROOT = Path(__file__).resolve().parents[1]


def test_the_buildpack_tag_has_one_home() -> None:
    """The tag lives in heroku_build.py; the shared archive's name and the docs follow it."""
    assert heroku_build.shared_archive().name == f"heroku-buildpack-python-{heroku_build.BUILDPACK_TAG}.tar.gz"
    assert f"heroku-buildpack-python {heroku_build.BUILDPACK_TAG}" in (ROOT / "docs" / "real-build.md").read_text()


@pytest.mark.parametrize(
    ("files", "minor"),
    [
        ({".python-version": "# comment\n3.12\n"}, "3.12"),
        ({".python-version": "3.11.4\n"}, "3.11"),
        ({"runtime.txt": "python-3.12.1\n", ".python-version": "3.13\n"}, "3.12"),  # Cedar reads runtime.txt first
        ({}, "3.14"),  # the buildpack's default
    ],
)
def test_requested_minor(tmp_path: Path, files: dict[str, str], minor: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert heroku_build.requested_minor(tmp_path) == minor


def test_a_missing_buildpack_is_not_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEROKU_BUILDPACK_ARCHIVE", str(tmp_path / "missing.tar.gz"))
    monkeypatch.setenv("HEROKU_BUILD_CACHE", str(tmp_path / "cache"))
    with pytest.raises(heroku_build.NotVerified, match="no heroku-buildpack-python"):
        heroku_build.buildpack_source()


def test_a_missing_interpreter_is_not_verified(tmp_path: Path) -> None:
    with pytest.raises(heroku_build.NotVerified, match=r"no Python 3\.99 interpreter"):
        heroku_build.runtime_archive("3.99", tmp_path)


@pytest.mark.parametrize("ci", ["true", ""])
def test_the_real_build_fails_under_ci_when_it_cannot_run(tmp_path: Path, ci: str) -> None:
    """The real-build test itself, with no buildpack: a failure under CI=true, a NOT VERIFIED skip elsewhere."""
    env = {**os.environ, "CI": ci, "HEROKU_BUILDPACK_ARCHIVE": str(tmp_path / "missing.tar.gz")}
    env["HEROKU_BUILD_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q", "-rs",
         "tests/test_real_build.py::test_real_build_release_and_worker[default]"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert "NOT VERIFIED: no heroku-buildpack-python" in done.stdout, done.stdout[-3000:]
    if ci:
        assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-3000:]
    else:
        assert done.returncode == 0 and "1 skipped" in done.stdout, done.stdout[-3000:]


def test_heroku_facts_mirror_the_pinned_buildpack() -> None:
    """heroku_preflight/heroku_versions.json (Python versions, deprecations, the build's tool pins) is what the
    buildpack at BUILDPACK_TAG says: the checker is judged against that buildpack."""
    import json
    import tarfile

    from heroku_preflight import heroku, refresh_versions

    try:
        archive = heroku_build.buildpack_source()
    except heroku_build.NotVerified as error:
        heroku_build.not_verified(error)
    with tarfile.open(archive) as tar:

        def read(name: str) -> str:
            member = tar.extractfile(f"heroku-buildpack-python/{name}")
            assert member is not None, name
            return member.read().decode()

        parsed = refresh_versions.parse(read("lib/python_version.sh"))
        tools = {tool: refresh_versions.tool_pin(read(f"requirements/{tool}.txt")) for tool in refresh_versions.TOOLS}
    facts = json.loads(heroku.VERSIONS_FILE.read_text())  # the installed wheel's data
    assert {key: facts[key] for key in parsed} == parsed
    assert facts["build_tools"] == tools
