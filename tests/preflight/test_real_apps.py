"""The checker's default verdict against Heroku's real classic build, on real public apps and mutations of them.

The apps are vendored in tests/preflight/real_apps/ (origin, commit and license in manifest.json); each case's
truth was recorded once by the real build and dynos (`python -m tests.preflight.record_real_apps`, see
manifest.json's "command"): the test never builds. The checker runs as a user would run it on the app: default
(full) mode, Cedar, no `--strict`, no config vars. Truth "fail" = the build failed or a process crashed at start
with the app's own error; the checker says "fail" when it reports an error (not a could-not-run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.preflight.helpers import assert_agreement, run_preflight
from tests.preflight.record_real_apps import MANIFEST, materialize

CASES: dict[str, dict[str, Any]] = {n: c for n, c in json.loads(MANIFEST.read_text())["cases"].items() if "truth" in c}
# `tuned`: the cases the checker was developed against. `held-out`: real apps added later, whose agreement was
# measured before any change to the checker (docs/preflight.md has both figures). Each set is judged alone.
SETS = ("tuned", "held-out")
# Case -> why the checker's verdict differs from the real build's (the rest must agree).
KNOWN_DISAGREEMENTS: dict[str, str] = {}


def truth(case: dict[str, Any]) -> str:
    recorded = case["truth"]
    crashed = "crashed" in recorded.get("processes", {}).values()
    return "fail" if recorded["build"] == "failed" or crashed else "pass"


def verdict(app: Path) -> tuple[str, list[str]]:
    result = run_preflight(app, "--generation", "cedar")
    errors = sorted({f["code"] for f in result.findings if f["severity"] == "error" and not f["blocking"]})
    if errors:
        return "fail", errors
    return {0: "pass", 2: "not-run"}.get(result.exit_code, "crash"), sorted(result.codes)


def cases_of(which: str) -> dict[str, dict[str, Any]]:
    return {name: case for name, case in CASES.items() if case.get("set", "tuned") == which}


# One test per case, so that pytest-xdist spreads the corpus over its workers (the held-out set as one test
# kept one worker busy for over 3 minutes). The id names the set: `-k held-out` still runs that set alone.
CASE_PARAMS = [pytest.param(name, id=f"{CASES[name].get('set', 'tuned')}:{name}") for name in sorted(CASES)]


@pytest.mark.parametrize("which", SETS)
def test_each_set_keeps_its_cases_and_agrees_at_least_90_percent(which: str) -> None:
    """What holds for a set as a whole. With every case's own test below green, the set's disagreements are
    exactly its KNOWN_DISAGREEMENTS, so its agreement is the figure computed here."""
    cases = cases_of(which)
    assert len(cases) >= {"tuned": 8, "held-out": 26}[which], "the corpus lost cases"
    known = [name for name in KNOWN_DISAGREEMENTS if name in cases]
    agree = len(cases) - len(known)
    print(f"agreement with the real build on real apps ({which}), when every case's test passes: "
          f"{agree}/{len(cases)} ({100 * agree / len(cases):.1f}%)")  # fmt: skip
    assert agree / len(cases) >= 0.9, {name: KNOWN_DISAGREEMENTS[name] for name in known}


@pytest.mark.network
@pytest.mark.parametrize("name", CASE_PARAMS)
def test_checker_agrees_with_the_real_build_on_a_real_app(name: str, tmp_path: Path) -> None:
    """The checker's default verdict on one case is the real build's (or, for a KNOWN_DISAGREEMENTS case,
    still differs from it: one that now agrees must leave that list)."""
    case = CASES[name]
    got = verdict(materialize(case, tmp_path / name))
    known = {name: KNOWN_DISAGREEMENTS[name]} if name in KNOWN_DISAGREEMENTS else {}
    assert_agreement(f"on {name} ({case.get('set', 'tuned')})", {name: truth(case)}, {name: got}, 0.0, known)


@pytest.mark.parametrize("name", sorted(CASES))
def test_static_gives_no_error_on_an_app_that_builds_and_starts(name: str, tmp_path: Path) -> None:
    """The issue's second promise: `--static` never calls a working app broken."""
    if truth(CASES[name]) != "pass":
        return
    result = run_preflight(materialize(CASES[name], tmp_path / name), "--static", "--generation", "cedar")
    assert result.exit_code == 0, result
