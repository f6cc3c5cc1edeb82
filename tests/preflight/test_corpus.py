"""The corpus: one small app per behaviour (tests/preflight/apps/<name>/), checked statically per generation.

Each app's expected.json gives, per generation ("cedar", "fir"; "default" = no --generation flag; "strict" =
Cedar with --strict), the exit status and the exact set of codes. Written for this project from the buildpacks'
documented behaviour (none of their files is copied).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.preflight.helpers import run_preflight

APPS = Path(__file__).parent / "apps"
CASES = [
    (app.name, mode, want)
    for app in sorted(p for p in APPS.iterdir() if (p / "expected.json").is_file())
    for mode, want in json.loads((app / "expected.json").read_text()).items()
    if mode != "about"
]
FLAGS = {"cedar": ["--generation", "cedar"], "fir": ["--generation", "fir"], "default": [],
         "strict": ["--generation", "cedar", "--strict"]}  # fmt: skip


def test_corpus_covers_both_generations() -> None:
    assert len({name for name, _, _ in CASES}) >= 25
    assert {mode for _, mode, _ in CASES} >= {"cedar", "fir", "default", "strict"}


@pytest.mark.parametrize(("name", "mode", "want"), CASES, ids=[f"{n}-{m}" for n, m, _ in CASES])
def test_corpus_app(name: str, mode: str, want: dict[str, object], tmp_path: Path) -> None:
    result = run_preflight(APPS / name, "--static", *FLAGS[mode], cwd=tmp_path)
    assert (result.exit_code, sorted(result.codes)) == (want["exit"], want["codes"]), result
    for finding in result.findings:
        assert finding["fix"] and finding["message"], finding
