"""Fixtures for preflight's tests (helpers live in helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.preflight.helpers import write_app


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., Path]:
    """Write a copy of GOOD_APP with some files replaced (None deletes one); each call gets a new folder."""
    counter = iter(range(1000))

    def make(files: dict[str, str | None] | None = None) -> Path:
        return write_app(tmp_path / f"app{next(counter)}", files or {})

    return make
