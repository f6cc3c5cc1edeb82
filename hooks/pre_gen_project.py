"""Refuse bad answers before cookiecutter writes anything into the project."""

from __future__ import annotations

import importlib
import json
import keyword
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

VERSION_FILES = (".python-version", "runtime.txt")
BOOLEAN_ANSWERS = ("use_postgres", "use_pandas", "release_phase", "use_github_actions", "verify_on_bake", "init_git")
# The template's project folder, by its literal name (split so that Jinja, which renders this hook, leaves it).
PROJECT = "{" + "{cookiecutter.project_slug}" + "}"


def template_facts(answers: Mapping[str, Any], name: str) -> ModuleType | None:
    """`heroku_preflight.<name>` (the one home of Heroku's and the stdlib's facts), imported from the wheel
    the template ships beside every bake (vendor/): a pure-Python wheel is importable as it is, offline.

    Cookiecutter runs this hook from a temporary copy, so the template is found through the answers
    (`_repo_dir`, or `_template` when it is a local folder) or, when imported by the tests, beside this file.
    """
    roots = [answers.get("_repo_dir"), answers.get("_template"), Path(__file__).resolve().parents[1]]
    for root in filter(None, roots):
        wheels = sorted((Path(str(root)) / PROJECT / "vendor").glob("heroku_preflight-*-py3-none-any.whl"))
        if wheels:
            if str(wheels[-1]) not in sys.path:
                sys.path.insert(0, str(wheels[-1]))
            return importlib.import_module(f"heroku_preflight.{name}")
    return None


# Top-level import names installed by the shipped locks (tests/test_hooks.py proves this covers them),
# by the development tools, and the names the baked project itself uses.
DEPENDENCY_MODULES: dict[str, frozenset[str]] = {
    "always": frozenset({"redis", "async_timeout", "msgspec", "heroku_preflight"}),
    "use_pandas": frozenset({"pandas", "numpy", "dateutil", "pytz", "tzdata", "six"}),
    "use_postgres": frozenset({"psycopg2"}),
    "dev": frozenset({"pytest", "_pytest", "hypothesis", "ruff", "mypy", "honcho", "nox", "deptry", "uv"}),
    "project": frozenset({"tests", "bin", "vendor"}),
}

# Soft keywords of every supported Python (`type` became one in 3.12), whatever Python runs the hook.
SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"}) | frozenset(keyword.softkwlist)

# Heroku's app-name rules: the slug is the folder, the app.json-less `heroku create <slug>` name, and (with `_`
# for `-`) the package name.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SLUG_LENGTH = (3, 30)
APP_NAME_RULE = "Heroku app names are 3-30 characters of lowercase letters, digits and dashes, starting with a letter"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class BadAnswer(ValueError):
    """An answer that cannot bake a working project; the message names it, says why and what to use."""


def stdlib_modules(answers: Mapping[str, Any]) -> frozenset[str]:
    """The running Python's stdlib names, plus those other supported versions remove or add."""
    stdlib = template_facts(answers, "stdlib")
    if stdlib is None:  # e.g. `cruft update` from a remote template: say what was not checked
        print(
            "note: the checker's wheel (vendor/) not found; names checked against this Python's stdlib only",
            file=sys.stderr,
        )
        return frozenset(sys.stdlib_module_names) | {"test"}
    differing: frozenset[str] = stdlib.differing_names()
    return frozenset(sys.stdlib_module_names) | differing


def supported_pythons(answers: Mapping[str, Any]) -> list[str]:
    """The Python versions a new project may choose: Heroku's, less the deprecated (heroku_preflight.heroku's
    offered_versions; cookiecutter.json's choices mirror it, tested)."""
    heroku = template_facts(answers, "heroku")
    versions: list[str] = heroku.offered_versions() if heroku else [f"3.{minor}" for minor in range(11, 15)]
    return versions


def dependency_modules(answers: Mapping[str, Any]) -> frozenset[str]:
    names = set(DEPENDENCY_MODULES["always"] | DEPENDENCY_MODULES["dev"] | DEPENDENCY_MODULES["project"])
    for option in ("use_pandas", "use_postgres"):
        if answers.get(option):
            names |= DEPENDENCY_MODULES[option]
    return frozenset(names)


def derive_slug(text: str) -> str:
    """The slug cookiecutter.json derives from a project name (the same rule; tests/test_slug.py mirrors them).

    Slugified and cut at a word boundary to 30 characters; `worker-` in front when it would not start with a
    letter, `-worker` behind when it would be shorter than 3.
    """
    from slugify import slugify  # python-slugify: cookiecutter's own `slugify` filter

    slug = str(slugify(text, max_length=30, word_boundary=True))
    if not slug[:1].isalpha():
        slug = str(slugify("worker-" + slug, max_length=30, word_boundary=True))
    return slug if len(slug) >= 3 else slug + "-worker"


def suggest(name: str) -> str:
    """A valid slug close to `name`: its words and "worker", within Heroku's app-name rules."""
    return derive_slug(re.sub(r"[^a-z0-9]+", " ", name.lower()) + " worker")


def check_slug(slug: Any) -> None:
    if not isinstance(slug, str) or not slug.strip():
        raise BadAnswer("project_slug is empty: give a folder name such as 'events-worker'.")
    if "/" in slug or "\\" in slug or ".." in slug or slug.startswith((".", "~")):
        raise BadAnswer(
            f"project_slug {slug!r} would write outside the output directory: "
            f"use a plain folder name such as {suggest(slug).replace('_', '-')!r}."
        )
    if not SLUG_PATTERN.match(slug) or not SLUG_LENGTH[0] <= len(slug) <= SLUG_LENGTH[1]:
        shown = slug if len(slug) <= 40 else slug[:37] + "..."
        raise BadAnswer(
            f"project_slug {shown!r} is the Heroku app and folder name, and {APP_NAME_RULE} "
            f"(single dashes, none at the end): try {derive_slug(slug)!r}."
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
    if name in stdlib_modules(answers):
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


def check_python(answers: Mapping[str, Any]) -> None:
    version, supported = answers.get("python_version"), supported_pythons(answers)
    if version not in supported:
        heroku = template_facts(answers, "heroku")
        ends = heroku.DEPRECATED.get(version) if heroku else None
        why = f"deprecated: Heroku stops building it on {ends}" if ends else "not one Heroku's buildpack supports"
        raise BadAnswer(f"python_version {version!r} is {why}: choose one of {', '.join(supported)}.")


def check_stack(answers: Mapping[str, Any]) -> None:
    heroku = template_facts(answers, "heroku")
    stacks = sorted(heroku.STACK_GLIBC) if heroku else ["heroku-22", "heroku-24"]
    if answers.get("stack", "heroku-24") not in stacks:
        raise BadAnswer(f"stack {answers.get('stack')!r} is not a Heroku stack: choose one of {', '.join(stacks)}.")


def check_version_file(answers: Mapping[str, Any]) -> None:
    version_file = answers.get("python_version_file")
    if version_file not in VERSION_FILES:
        raise BadAnswer(
            f"python_version_file {version_file!r} is not a file Heroku reads: choose '.python-version' "
            "(recommended) or 'runtime.txt' (deprecated)."
        )


def check_boolean(option: str, answers: Mapping[str, Any]) -> None:
    if not isinstance(answers.get(option), bool):
        raise BadAnswer(f"{option} must be yes or no, not {answers.get(option)!r}.")


def check_name(answers: Mapping[str, Any]) -> None:
    if not str(answers.get("project_name", "")).strip():
        raise BadAnswer("project_name is empty: give the service a name such as 'Events Worker'.")


def check_email(answers: Mapping[str, Any]) -> None:
    email = answers.get("author_email", "")
    if not isinstance(email, str) or not EMAIL_PATTERN.match(email):
        raise BadAnswer(f"author_email {email!r} is not an email address: use a form like 'you@example.com'.")


def check_project_slug(answers: Mapping[str, Any]) -> None:
    """The slug, then (only for a well-formed slug, or the one message would be said twice) its package name."""
    check_slug(answers.get("project_slug"))
    check_package_name(answers.get("__package_name"), answers)


# Each answer and its check, in prompt order: a refused bake names every bad answer at once.
CHECKS: tuple[tuple[str, Callable[[Mapping[str, Any]], None]], ...] = (
    ("project_name", check_name),
    ("project_slug", check_project_slug),
    ("author_email", check_email),
    ("python_version", check_python),
    ("python_version_file", check_version_file),
    ("stack", check_stack),
    *((option, partial(check_boolean, option)) for option in BOOLEAN_ANSWERS),
)


def problems(answers: Mapping[str, Any]) -> dict[str, str]:
    """Every bad answer, by name, with its message."""
    found = {}
    for name, check in CHECKS:
        try:
            check(answers)
        except BadAnswer as error:
            found[name] = str(error)
    return found


def validate(answers: Mapping[str, Any]) -> None:
    """Raise BadAnswer naming every answer that cannot bake a working project, one per line."""
    found = problems(answers)
    if found:
        raise BadAnswer("\n".join(found.values()))


def template_defaults(answers: Mapping[str, Any]) -> dict[str, Any]:
    """cookiecutter.json's defaults (a choice's first option), to leave answers equal to them off the line."""
    for root in (answers.get("_repo_dir"), answers.get("_template"), Path(__file__).resolve().parents[1]):
        path = Path(str(root)) / "cookiecutter.json" if root else None
        if path is not None and path.is_file():
            raw = json.loads(path.read_text())
            return {k: v[0] if isinstance(v, list) else v for k, v in raw.items() if not k.startswith("_")}
    return {}


def slug_fix(answers: Mapping[str, Any]) -> str:
    """A valid slug for a refused one: the rule's own fix when it is valid, else one with "worker" in it."""
    typed = str(answers.get("project_slug") or answers.get("project_name") or "worker")
    for slug in (derive_slug(typed), suggest(typed).replace("_", "-")):
        if "project_slug" not in problems({**answers, "project_slug": slug, "__package_name": slug.replace("-", "_")}):
            return slug
    return "events-worker"


def as_answer(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def rerun_line(answers: Mapping[str, Any], found: Mapping[str, str]) -> str:
    """A `cookiecutter` command that asks again with every good answer as its default.

    A refused answer is left off (its prompt shows the template's default), except a refused slug, which
    gets the suggestion from its message. Answers equal to the template's defaults are left off too.
    """
    defaults = template_defaults(answers)
    refused = set(found)
    keep: dict[str, Any] = {}
    for name, value in answers.items():
        if name.startswith("_") or name not in defaults or name in refused:
            continue
        if name == "project_slug" and value == derive_slug(str(answers.get("project_name", ""))):
            continue  # the slug derived from the name: derived again
        if value != defaults[name]:
            keep[name] = value
    if "project_slug" in refused:
        keep["project_slug"] = slug_fix(answers)
    template = str(answers.get("_template") or "<template>")
    checkout = f" --checkout {shlex.quote(str(answers['_checkout']))}" if answers.get("_checkout") else ""
    pairs = " ".join(shlex.quote(f"{name}={as_answer(value)}") for name, value in keep.items())
    return f"cookiecutter {shlex.quote(template)}{checkout} {pairs}".rstrip()


def report(answers: Mapping[str, Any], found: Mapping[str, str]) -> str:
    """The one block a refused bake prints: each bad answer, then the command that asks again."""
    lines = [f"The answers cannot bake a working project ({len(found)} to fix); nothing was written:"]
    lines += [f"  - {message}" for message in found.values()]
    lines += [
        "Run this to answer again; every prompt defaults to what you gave (Enter keeps it):",
        f"  {rerun_line(answers, found)}",
        "(add --no-input to take every default without the prompts)",
    ]
    return "\n".join(lines)


def main(answers: Mapping[str, Any]) -> int:
    found = problems(answers)
    if found:
        print(report(answers, found), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # The answers arrive as JSON data, never pasted into source, so quotes and backslashes are harmless.
    sys.exit(main(json.loads(r"""{{ cookiecutter | tojson }}""")))
