"""Refuse bad answers before cookiecutter writes anything into the project."""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Mapping
from typing import Any

SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13", "3.14")  # Heroku's classic Python buildpack, v351
VERSION_FILES = (".python-version", "runtime.txt")
BOOLEAN_ANSWERS = ("use_postgres", "use_pandas", "release_phase", "use_github_actions", "verify_on_bake")

# Standard-library modules that exist in some supported Python but not in the one running this hook
# (sys.stdlib_module_names differs between versions), plus `test`, which that list leaves out.
EXTRA_STDLIB = frozenset(
    {
        "test", "distutils", "asynchat", "asyncore", "imp", "smtpd", "aifc", "audioop", "cgi", "cgitb",
        "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis", "nntplib", "ossaudiodev", "pipes",
        "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib", "lib2to3", "annotationlib", "compression",
    }
)  # fmt: skip

# Top-level import names installed by the shipped locks (tests/test_hooks.py proves this covers them),
# by the development tools, and the names the baked project itself uses.
DEPENDENCY_MODULES: dict[str, frozenset[str]] = {
    "always": frozenset({"redis", "async_timeout"}),
    "use_pandas": frozenset({"pandas", "numpy", "dateutil", "pytz", "tzdata", "six"}),
    "use_postgres": frozenset({"psycopg2"}),
    "dev": frozenset({"pytest", "_pytest", "hypothesis", "ruff", "mypy", "honcho", "nox", "deptry", "uv"}),
    "project": frozenset({"preflight", "tests", "bin"}),
}

# Soft keywords of every supported Python (`type` became one in 3.12), whatever Python runs the hook.
SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"}) | frozenset(keyword.softkwlist)

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BadAnswer(ValueError):
    """An answer that cannot bake a working project; the message names it, says why and what to use."""


def stdlib_modules() -> frozenset[str]:
    return frozenset(sys.stdlib_module_names) | EXTRA_STDLIB


def dependency_modules(answers: Mapping[str, Any]) -> frozenset[str]:
    names = set(DEPENDENCY_MODULES["always"] | DEPENDENCY_MODULES["dev"] | DEPENDENCY_MODULES["project"])
    for option in ("use_pandas", "use_postgres"):
        if answers.get(option):
            names |= DEPENDENCY_MODULES[option]
    return frozenset(names)


def suggest(name: str) -> str:
    base = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "events"
    if not base[0].isalpha():
        base = "app_" + base
    return f"{base}_worker"


def check_slug(slug: Any) -> None:
    if not isinstance(slug, str) or not slug.strip():
        raise BadAnswer("project_slug is empty: give a folder name such as 'events-worker'.")
    if "/" in slug or "\\" in slug or ".." in slug or slug.startswith((".", "~")):
        raise BadAnswer(
            f"project_slug {slug!r} would write outside the output directory: "
            f"use a plain folder name such as {suggest(slug).replace('_', '-')!r}."
        )
    if not SLUG_PATTERN.match(slug):
        raise BadAnswer(
            f"project_slug {slug!r} must start with a lowercase letter and hold only lowercase letters, "
            f"digits and single hyphens (it becomes the Heroku app and folder name): "
            f"try {suggest(slug).replace('_', '-')!r}."
        )


def check_package_name(name: Any, answers: Mapping[str, Any]) -> None:
    if not isinstance(name, str) or not name:
        raise BadAnswer("The package name (derived from project_slug) is empty: set project_slug.")
    if not name.isascii() or not name.isidentifier():
        raise BadAnswer(
            f"Package name {name!r} is not a valid ASCII Python identifier, so `python -m {name}` "
            f"cannot work: choose a project_slug such as {suggest(name).replace('_', '-')!r}."
        )
    if keyword.iskeyword(name) or name in SOFT_KEYWORDS:
        raise BadAnswer(
            f"Package name {name!r} is a Python keyword: choose a project_slug such as "
            f"{suggest(name).replace('_', '-')!r}."
        )
    if name in stdlib_modules():
        raise BadAnswer(
            f"Package name {name!r} shadows the standard-library module {name!r}: "
            f"every `import {name}` in your dependencies would load your package instead. "
            f"Choose a project_slug such as {suggest(name).replace('_', '-')!r}."
        )
    if name in dependency_modules(answers):
        raise BadAnswer(
            f"Package name {name!r} shadows the module {name!r} that a dependency or tool of the project "
            f"installs: choose a project_slug such as {suggest(name).replace('_', '-')!r}."
        )


def check_choices(answers: Mapping[str, Any]) -> None:
    version = answers.get("python_version")
    if version not in SUPPORTED_PYTHONS:
        raise BadAnswer(
            f"python_version {version!r} is not one Heroku's Python buildpack supports: "
            f"choose one of {', '.join(SUPPORTED_PYTHONS)}."
        )
    version_file = answers.get("python_version_file")
    if version_file not in VERSION_FILES:
        raise BadAnswer(
            f"python_version_file {version_file!r} is not a file Heroku reads: choose '.python-version' "
            "(recommended) or 'runtime.txt' (deprecated)."
        )
    for option in BOOLEAN_ANSWERS:
        if not isinstance(answers.get(option), bool):
            raise BadAnswer(f"{option} must be yes or no, not {answers.get(option)!r}.")


def check_free_text(answers: Mapping[str, Any]) -> None:
    if not str(answers.get("project_name", "")).strip():
        raise BadAnswer("project_name is empty: give the service a name such as 'Events Worker'.")
    email = answers.get("author_email", "")
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email):
        raise BadAnswer(f"author_email {email!r} is not an email address: use a form like 'you@example.com'.")


def validate(answers: Mapping[str, Any]) -> None:
    """Raise BadAnswer for the first answer that cannot bake a working project."""
    check_choices(answers)
    check_free_text(answers)
    check_slug(answers.get("project_slug"))
    check_package_name(answers.get("__package_name"), answers)


def main(answers: Mapping[str, Any]) -> int:
    try:
        validate(answers)
    except BadAnswer as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # The answers arrive as JSON data, never pasted into source, so quotes and backslashes are harmless.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
