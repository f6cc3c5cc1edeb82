"""The checker's verdict against the real classic build's, on heroku-buildpack-python's own fixture apps.

The fixtures come from the buildpack archive the real-build test uses (tests/heroku_build.py); each one's outcome
is what the buildpack's `spec/hatchet/*_spec.rb` assert (benchmarks/buildpack_fixtures_expected.json, read from
the specs). The checker runs the way a user would run it on an app: its default (full) mode, Cedar, no
`--strict`, from a `python -m venv` of the oldest Python the template offers, with the pip that venv ships
(plus uv and deptry, as the checker's hint says). Agreement must be at least 95 %, and every disagreement left
is named below with its reason: a new one fails the test, and so does a listed one that now agrees.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from heroku_preflight.heroku import offered_versions

from tests import heroku_build
from tests.preflight.helpers import CHECKER_WHEEL, assert_agreement, checker_env
from tests.pythons import find_python, not_verified

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = json.loads((ROOT / "benchmarks" / "buildpack_fixtures_expected.json").read_text())

OLDEST = offered_versions()[0]
NEWEST_HERE = next((v for v in reversed(offered_versions()) if find_python(v)), OLDEST)

# Fixture -> why the checker's verdict differs from the build's (the rest must agree).
KNOWN_DISAGREEMENTS = {
    "nltk_txt_invalid": "not modelled: proving an nltk.txt corpus exists means downloading from NLTK's server",
    "pip_editable": "not run: requirements name a GitHub repository, which this machine cannot reach",
    "pip_compiled": "not run: requirements name a GitHub repository, which this machine cannot reach",
}


def verdict(python: Path, app: Path, config: dict[str, str]) -> tuple[str, list[str]]:
    """The verdict: "fail" (an error finding: the build fails), "pass" (exit 0), "not-run" (exit 2, no error).

    A fixture whose Python has no interpreter here (most name none, so Heroku's default 3.14) is checked for
    the newest offered Python that has one (`--python`), as the benchmark does: the file checks still read the
    fixture's own version files."""
    wanted = heroku_build.requested_minor(app)
    override = [] if find_python(wanted) else ["--python", NEWEST_HERE]
    done = subprocess.run(
        [str(python), "-m", "heroku_preflight", str(app), "--json", "--generation", "cedar", *override],
        capture_output=True, text=True, env=checker_env(**config, PATH=f"{python.parent}:/usr/bin:/bin"),
        cwd=app.parent, timeout=600, check=False,
    )  # fmt: skip
    try:
        findings = json.loads(done.stdout)["findings"]
    except (ValueError, KeyError):
        return "crash", [done.stderr.strip()[-300:]]
    errors = sorted({f["code"] for f in findings if f["severity"] == "error" and not f["blocking"]})
    if errors:
        return "fail", errors
    return {0: "pass", 2: "not-run"}.get(done.returncode, "crash"), sorted(f["code"] for f in findings)


# Session scope: made once per pytest-xdist worker, whichever of its cases the worker runs (a module scope would
# be torn down and made again each time the worker comes back to this file).
@pytest.fixture(scope="session")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        archive = heroku_build.buildpack_source()
    except heroku_build.NotVerified as error:
        heroku_build.not_verified(error)
    into = tmp_path_factory.mktemp("buildpack")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if "/spec/fixtures/" in m.name]
        tar.extractall(into, members=members, filter="tar") if sys.version_info >= (3, 12) else tar.extractall(
            into, members=members
        )
    return into / "heroku-buildpack-python" / "spec" / "fixtures"


@pytest.fixture(scope="session")
def user_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m venv` of the oldest offered Python, its own pip left as shipped; uv and deptry beside it."""
    oldest = OLDEST
    python = find_python(oldest)
    if python is None:
        not_verified(f"no Python {oldest} interpreter for the user's venv", oldest)
    venv = tmp_path_factory.mktemp("user") / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)  # its pip stays the one it ships
    uv = Path(sys.executable).with_name("uv")  # beside the tests' interpreter (TEST_REQUIREMENTS has it)
    subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "uv", "deptry"],
                   check=True)  # fmt: skip
    subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(CHECKER_WHEEL)],
                   check=True)  # fmt: skip
    return venv / "bin" / "python"


def test_agreement_is_at_least_95_percent_when_every_fixture_agrees_but_the_known() -> None:
    """What holds for the fixtures as a whole. With every fixture's own test below green, the disagreements are
    exactly KNOWN_DISAGREEMENTS, so the agreement is the figure computed here."""
    expected: dict[str, str] = EXPECTED["expected"]
    assert set(KNOWN_DISAGREEMENTS) <= set(expected), set(KNOWN_DISAGREEMENTS) - set(expected)
    agree = len(expected) - len(KNOWN_DISAGREEMENTS)
    print(f"agreement with the real build on its fixtures, when every fixture's test passes: {agree}/{len(expected)}")
    assert agree / len(expected) >= 0.95, KNOWN_DISAGREEMENTS


# One test per fixture, so that pytest-xdist spreads them (as one test they kept one worker busy for 90-140 s).
@pytest.mark.network
@pytest.mark.parametrize("name", sorted(EXPECTED["expected"]))
def test_checker_agrees_with_the_real_build_on_a_fixture(name: str, fixtures: Path, user_python: Path) -> None:
    """The checker's verdict on one fixture is the build's (or, for a KNOWN_DISAGREEMENTS one, still differs:
    one that now agrees must leave that list)."""
    config: dict[str, dict[str, str]] = EXPECTED.get("config", {})
    got = verdict(user_python, fixtures / name, config.get(name, {}))
    known = {name: KNOWN_DISAGREEMENTS[name]} if name in KNOWN_DISAGREEMENTS else {}
    assert_agreement(f"on its fixture {name}", {name: EXPECTED["expected"][name]}, {name: got}, 0.0, known)
