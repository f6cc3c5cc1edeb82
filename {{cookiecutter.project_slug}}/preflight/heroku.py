"""Heroku's platform facts, in one home: stacks and their wheel platform, the Python versions offered.

Everything else reads these names: the checker, the baked project's `noxfile.py` (locks for the stack), the
template's harness and its hooks. Facts as of heroku-buildpack-python v351 / heroku/buildpacks-python 6.5.
"""

from __future__ import annotations

# Stack -> glibc of its base image. A wheel tagged manylinux_2_X runs on a stack only when X <= its glibc.
STACK_GLIBC: dict[str, tuple[int, int]] = {
    "heroku-22": (2, 35),  # Ubuntu 22.04
    "heroku-24": (2, 39),  # Ubuntu 24.04
    "heroku-26": (2, 43),  # Ubuntu 26.04
}
DEFAULT_STACK = "heroku-24"

SUPPORTED_MINORS = range(10, 15)  # Python 3.10-3.14
HEROKU_DEFAULT_PYTHON = "3.14"  # what the buildpack installs when the app names no version


def platform_tag(stack: str = DEFAULT_STACK) -> str:
    """uv's `--python-platform` for a stack, e.g. `x86_64-manylinux_2_39` for heroku-24."""
    major, minor = STACK_GLIBC[stack]
    return f"x86_64-manylinux_{major}_{minor}"


def supported_versions() -> list[str]:
    """`["3.10", …, "3.14"]`: the X.Y versions Heroku builds."""
    return [f"3.{minor}" for minor in SUPPORTED_MINORS]
