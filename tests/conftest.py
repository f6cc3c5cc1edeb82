"""Shared fixtures for the template's tests: the template root, answer sets, and a bake helper."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .services import Services, ServiceUnavailable

ROOT = Path(__file__).resolve().parents[1]
CONTEXT: dict[str, Any] = json.loads((ROOT / "cookiecutter.json").read_text())
BOOLEANS = ("use_postgres", "use_pandas", "release_phase", "use_github_actions")


def all_answer_sets() -> Iterator[dict[str, Any]]:
    """Every answer set the prompts allow (verify_on_bake aside), supported or not."""
    for python, version_file, *flags in itertools.product(
        CONTEXT["python_version"], CONTEXT["python_version_file"], *[(True, False)] * len(BOOLEANS)
    ):
        yield {"python_version": python, "python_version_file": version_file, **dict(zip(BOOLEANS, flags, strict=True))}


def is_distinct(answers: dict[str, Any]) -> bool:
    """False for release_phase=yes without PostgreSQL: it bakes the same project as release_phase=no."""
    return not (answers["release_phase"] and not answers["use_postgres"])


def answer_id(answers: dict[str, Any]) -> str:
    flags = "-".join(name.removeprefix("use_") for name in BOOLEANS if answers[name]) or "bare"
    return f"py{answers['python_version']}-{answers['python_version_file'].strip('.')}-{flags}"


SUPPORTED = [a for a in all_answer_sets() if is_distinct(a)]


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers `xdist_group`; runs without it (`-p no:xdist`: the real_build session, the tests that
    # run a test in a subprocess) must accept the mark too, under --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): the pytest-xdist worker group (--dist loadgroup)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (stable otherwise): handed out early, they overlap the many short ones instead of being
    the last thing a worker does while the other one waits."""

    def rank(item: pytest.Item) -> tuple[bool, bool]:  # the real builds (one group, one worker) before the rest
        return item.get_closest_marker("long") is None, item.get_closest_marker("real_build") is None

    items.sort(key=rank)


@pytest.fixture
def bake(cookies: Any) -> Any:
    """Bake with the fresh-environment check and the git repository off (tests that want them turn them on;
    tests/test_first_hour.py bakes the repository) and assert success."""

    def _bake(**answers: Any) -> Path:
        result = cookies.bake(extra_context={"verify_on_bake": False, "init_git": False, **answers})
        assert result.exception is None, f"bake failed: {result.exception!r}"
        assert result.exit_code == 0
        return Path(result.project_path)

    return _bake


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """Real Redis and PostgreSQL (see tests/services.py); a test fails, never skips, when neither can be had."""
    try:
        found = Services()
    except ServiceUnavailable as error:
        pytest.fail(str(error))
    yield found
    found.close()
