"""Heroku's platform facts, in one home: stacks and their wheel platform, the Python versions offered.

Everything else reads these names: the checker, the baked project's `noxfile.py` (locks for the stack), the
template's harness and its hooks. The Python version table is data (heroku_versions.json, with the date it was
taken from the classic buildpack); `python -m heroku_preflight.refresh_versions` refreshes it.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

# Stack -> glibc of its base image. A wheel tagged manylinux_2_X runs on a stack only when X <= its glibc.
STACK_GLIBC: dict[str, tuple[int, int]] = {
    "heroku-22": (2, 35),  # Ubuntu 22.04
    "heroku-24": (2, 39),  # Ubuntu 24.04
    "heroku-26": (2, 43),  # Ubuntu 26.04 (libc6 2.43-2ubuntu2 in resolute)
}
DEFAULT_STACK = "heroku-24"
EOL_STACKS = ("heroku-16", "heroku-18", "heroku-20")  # the buildpack names them end-of-life (lib/checks.sh)

VERSIONS_FILE = Path(__file__).with_name(
    "heroku_versions.json"
)  # refresh_versions writes it in a source tree
# Read as package data: the checker also runs straight from its wheel (a zip on sys.path: the bake's hooks).
_VERSIONS = json.loads(resources.files("heroku_preflight").joinpath(VERSIONS_FILE.name).read_text("utf-8"))
LATEST_PATCH: dict[str, str] = _VERSIONS["latest"]  # "3.13" -> newest patch release the buildpack knows
VERSIONS_TAKEN: str = _VERSIONS["taken"]
SUPPORTED_MINORS = range(
    min(int(v.split(".")[1]) for v in LATEST_PATCH), max(int(v.split(".")[1]) for v in LATEST_PATCH) + 1
)
HEROKU_DEFAULT_PYTHON: str = _VERSIONS["default"]  # what the buildpack installs when the app names no version
# X.Y the buildpack warns is deprecated -> the day it stops building it (ISO date).
DEPRECATED: dict[str, str] = _VERSIONS.get("deprecated", {})
# The package managers the classic build installs (its requirements/*.txt): the versions whose verdict counts.
BUILD_TOOLS: dict[str, str] = _VERSIONS.get("build_tools", {})


# The newest manylinux target uv accepts (uv 0.13: 2_40). A wheel built for an older glibc runs on a newer
# one, so resolving heroku-26 (2.43) for 2_40 can only refuse a wheel that needs glibc 2.41+ (a false "no
# wheel", never a wheel the dyno cannot load); pip's verdict (pip_verdict.py) uses the stack's own glibc.
UV_NEWEST_MANYLINUX = (2, 40)


def platform_tag(stack: str = DEFAULT_STACK) -> str:
    """uv's `--python-platform` for a stack: `x86_64-manylinux_2_39` for heroku-24, 2_40 for heroku-26."""
    major, minor = min(STACK_GLIBC[stack], UV_NEWEST_MANYLINUX)
    return f"x86_64-manylinux_{major}_{minor}"


def supported_versions() -> list[str]:
    """`["3.10", …, "3.14"]`: the X.Y versions Heroku builds (the checker judges apps on each)."""
    return [f"3.{minor}" for minor in SUPPORTED_MINORS]


def offered_versions() -> list[str]:
    """The X.Y a new project may choose: Heroku's supported versions less the deprecated ones (a project baked
    on 3.10 in December 2026 would stop building on 6 January 2027)."""
    return [version for version in supported_versions() if version not in DEPRECATED]
