"""Any project name bakes a project whose Heroku app name Heroku accepts; a bad typed slug is refused cleanly.

Heroku app names: 3-30 characters, lowercase letters, digits and dashes, starting with a letter. The derived
slug (cookiecutter.json) and the hook's suggestion (hooks/pre_gen_project.py derive_slug) are one rule in
two languages, so a test renders the Jinja with cookiecutter's own environment and compares.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from hooks.pre_gen_project import BadAnswer, check_slug, derive_slug

from .conftest import CONTEXT, ROOT

HEROKU_APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,28}[a-z0-9]$")
LONG_NAME = "An Extremely Long Descriptive Name For Our Event Processing Worker Service"
NAMES = [
    LONG_NAME, "X", "Ab", "abc", "Events Worker", "123 Go", "!!!", "Ünïcödé Wörker", "a" * 300,
    " ".join(["word"] * 100), "queue </script>", "Über-Long-Hyphenated-Name-That-Keeps-Going-On",
]  # fmt: skip


def jinja_slug(name: str) -> str:
    env = StrictEnvironment(context={"cookiecutter": CONTEXT})
    return str(env.from_string(CONTEXT["project_slug"]).render(cookiecutter={"project_name": name}))


@pytest.mark.parametrize("name", NAMES)
def test_derived_slug_is_a_heroku_app_name_and_the_hook_uses_the_same_rule(name: str) -> None:
    slug = jinja_slug(name)
    assert HEROKU_APP_NAME.match(slug) and "--" not in slug, slug
    assert slug == derive_slug(name), "cookiecutter.json and hooks/pre_gen_project.py derive different slugs"
    check_slug(slug)


def test_long_name_is_cut_at_a_word_boundary() -> None:
    assert jinja_slug(LONG_NAME) == "an-extremely-long-descriptive"


def readme_app_names(project: Path) -> list[str]:
    """The app names in the baked README's `heroku create` / `--app` commands."""
    readme = (project / "README.md").read_text()
    named = re.findall(r"heroku create (?!-)(\S+)", readme)  # `heroku create --stack …` lets Heroku pick a name
    return named + re.findall(r"(?:-a|--app)[ =]([^\s`]+)", readme)


@pytest.mark.parametrize("name", [LONG_NAME, "a" * 300, "X", "Ab"], ids=["long", "300-chars", "X", "Ab"])
def test_any_name_bakes_with_deploy_commands_heroku_accepts(bake: Any, name: str) -> None:
    project = bake(project_name=name)
    assert HEROKU_APP_NAME.match(project.name), project.name
    names = readme_app_names(project)
    assert names, "the baked README lost its `heroku create` command"
    for app in names:
        assert HEROKU_APP_NAME.match(app), f"README deploy command names {app!r}, which Heroku refuses"
    app_json = json.loads((project / "app.json").read_text())
    assert 3 <= len(app_json["name"]) <= 30


def refuse(tmp_path: Path, **answers: Any) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FailedHookException):
        cookiecutter(
            str(ROOT), no_input=True, output_dir=str(out), default_config=True,
            extra_context={"verify_on_bake": False, **answers},
        )  # fmt: skip
    return out


@pytest.mark.parametrize(
    "slug",
    ["queue </script>", "a/b", "x" * 300, "an-extremely-long-descriptive-name-for-our-worker", "ab", "my_worker"],
    ids=["slash-markup", "slash", "300-chars", "too-long", "too-short", "underscore"],
)
def test_bad_typed_slug_is_refused_with_the_rule_and_leaves_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], slug: str
) -> None:
    out = refuse(tmp_path, project_slug=slug)
    assert list(out.iterdir()) == [], "a refused bake left files or folders behind"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    err = capfd.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("  - project_slug")]
    suggestion = re.search(r"try '([^']+)'|such as '([^']+)'", line)
    assert suggestion, line
    check_slug(next(g for g in suggestion.groups() if g))


def test_hook_names_the_rule() -> None:
    with pytest.raises(BadAnswer, match="3-30 characters of lowercase letters, digits and dashes"):
        check_slug("x" * 31)
