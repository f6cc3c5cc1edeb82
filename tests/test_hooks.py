"""Unit tests of the hooks' functions (the hooks are importable because hooks/ is a package)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hooks import post_gen_project, pre_gen_project
from hooks.pre_gen_project import BadAnswer, validate

from .conftest import ROOT

HEROKU: Any = pre_gen_project.template_facts({}, "heroku")  # preflight/heroku.py, as the hook loads it

DEFAULTS: dict[str, Any] = {
    "project_name": "Events Worker",
    "project_slug": "events-worker",
    "__package_name": "events_worker",
    "author_email": "you@example.com",
    "python_version": "3.13",
    "python_version_file": ".python-version",
    "use_postgres": True,
    "use_pandas": True,
    "release_phase": True,
    "use_github_actions": True,
    "verify_on_bake": True,
    "init_git": True,
}


def answers(**changes: Any) -> dict[str, Any]:
    merged = {**DEFAULTS, **changes}
    if "project_slug" in changes and "__package_name" not in changes:
        merged["__package_name"] = str(changes["project_slug"]).replace("-", "_")
    return merged


def test_defaults_are_valid() -> None:
    validate(answers())


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"__package_name": ""}, "empty"),
        ({"__package_name": "events-worker"}, "identifier"),
        ({"__package_name": "wörker"}, "ASCII"),
        ({"__package_name": "lambda"}, "keyword"),
        ({"__package_name": "type"}, "keyword"),  # soft keyword since 3.12
        ({"__package_name": "queue"}, "standard-library"),
        ({"__package_name": "test"}, "standard-library"),
        ({"__package_name": "imp"}, "standard-library"),  # removed in 3.12, still shadows on 3.10/3.11
        ({"__package_name": "redis"}, "dependency"),
        ({"__package_name": "six"}, "dependency"),
        ({"project_slug": "../x"}, "outside the output directory"),
        ({"project_slug": "/abs"}, "outside the output directory"),
        ({"project_slug": ""}, "empty"),
        ({"python_version": "3.15"}, "3.11, 3.12, 3.13, 3.14"),
        ({"python_version": "3.10"}, "deprecated: Heroku stops building it on 2027-01-06"),
        ({"python_version_file": ".tool-versions"}, ".python-version"),
        ({"stack": "cedar-14"}, "heroku-24"),
        ({"use_postgres": "maybe"}, "yes or no"),
        ({"author_email": "nobody"}, "you@example.com"),
    ],
)
def test_bad_answers_name_the_answer_and_a_fix(changes: dict[str, Any], words: str) -> None:
    with pytest.raises(BadAnswer) as error:
        validate(answers(**changes))
    assert words in str(error.value)


def test_dependency_names_follow_the_options() -> None:
    assert "pandas" in pre_gen_project.dependency_modules({"use_pandas": True})
    assert "pandas" not in pre_gen_project.dependency_modules({"use_pandas": False})
    validate(answers(project_slug="psycopg2", use_postgres=False, release_phase=False))


def test_hook_reads_heroku_and_stdlib_facts_from_their_one_home() -> None:
    """The hook finds preflight/heroku.py and preflight/stdlib.py; cookiecutter.json's choices mirror heroku.py."""
    stdlib = pre_gen_project.template_facts({}, "stdlib")
    assert HEROKU is not None and stdlib is not None
    context = json.loads((ROOT / "cookiecutter.json").read_text())
    assert sorted(context["python_version"], key=lambda v: int(v.split(".")[1])) == HEROKU.offered_versions()
    assert pre_gen_project.supported_pythons({}) == HEROKU.offered_versions()
    assert set(HEROKU.offered_versions()) == set(HEROKU.supported_versions()) - set(HEROKU.DEPRECATED)
    assert set(context["stack"]) <= set(HEROKU.STACK_GLIBC) and context["stack"][0] == HEROKU.DEFAULT_STACK
    assert {"distutils", "imp", "telnetlib", "tomllib", "annotationlib", "test"} <= pre_gen_project.stdlib_modules({})


def test_suggestions_are_themselves_valid() -> None:
    for bad in ("queue", "1x", "class", "wörker", "../x"):
        slug = pre_gen_project.suggest(bad).replace("_", "-")
        validate(answers(project_slug=slug))


def test_main_reports_on_stderr_and_exits_nonzero(capsys: pytest.CaptureFixture[str]) -> None:
    assert pre_gen_project.main(answers(project_slug="queue")) == 1
    assert "shadows the standard-library module 'queue'" in capsys.readouterr().err


def test_every_bad_answer_is_reported_at_once_with_a_command_to_answer_again() -> None:
    given = answers(
        project_slug="Bad_Slug", author_email="nope", use_pandas=False, stack="cedar-14", _template="gh:me/hw x"
    )
    found = pre_gen_project.problems(given)
    assert list(found) == ["project_slug", "author_email", "stack"]
    line = pre_gen_project.rerun_line(given, found)
    assert line == "cookiecutter 'gh:me/hw x' use_pandas=no project_slug=bad-slug"
    report = pre_gen_project.report(given, found)
    assert report.count("\n  - ") == 3 and report.endswith("(add --no-input to take every default without the prompts)")


def test_hook_source_reads_answers_as_data_not_code() -> None:
    for hook in ("pre_gen_project.py", "post_gen_project.py"):
        source = (ROOT / "hooks" / hook).read_text()
        assert 'json.loads(r"""{{ cookiecutter | tojson }}""")' in source
        assert source.count("{{") == 1, f"{hook} pastes answers into Python source"
        assert "assert " not in source


@pytest.mark.network
def test_dependency_table_covers_every_module_the_locks_install(tmp_path: Path) -> None:
    """Install every locked distribution (no deps, Heroku's platform) and compare top-level names."""
    locks = sorted((ROOT / "templates" / "locks").glob("*.txt"))
    wanted = {"py3.11-postgres-pandas.txt", "py3.14-postgres-pandas.txt"}  # together: every distribution
    names: set[str] = set()

    def baked(lock: Path) -> Path:  # where the bake has it: `--find-links vendor` is relative to the file
        shutil.copytree(ROOT / "{{cookiecutter.project_slug}}" / "vendor", tmp_path / "vendor", dirs_exist_ok=True)
        return Path(shutil.copy(lock, tmp_path / lock.name))

    for lock in (p for p in locks if p.name in wanted):
        target = tmp_path / lock.stem
        python = lock.name.split("-")[0].removeprefix("py").removesuffix(".txt")
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
             "--python-version", python, "--python-platform", HEROKU.platform_tag(), "-r", str(baked(lock))],
            check=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )  # fmt: skip
        for dist_info in target.glob("*.dist-info"):
            for line in (dist_info / "RECORD").read_text().splitlines():
                top = line.split(",")[0].split("/")[0]
                if not top.endswith((".dist-info", ".data", ".libs")) and top != "..":
                    names.add(top.removesuffix(".py").split(".")[0])
    all_tables = frozenset().union(*pre_gen_project.DEPENDENCY_MODULES.values())
    public = {n for n in names if not n.startswith("_") and n != "bin"}
    assert public, "no modules found: the install did not happen"
    assert public <= all_tables, f"modules the locks install but the hook does not refuse: {public - all_tables}"


def test_locked_distribution_set_is_the_same_across_lock_files_of_one_option_set() -> None:
    # The hook's table is per option, not per Python: make sure pandas locks differ only by version pins.
    def dists(name: str) -> set[str]:
        text = (ROOT / "templates" / "locks" / name).read_text()
        return {line.split("==")[0] for line in text.splitlines() if "==" in line and not line.startswith("#")}

    assert {"pandas", "numpy", "redis", "psycopg2-binary"} <= dists("py3.13-postgres-pandas.txt")
    assert dists("py3.13.txt") == {"redis", "msgspec", "heroku-preflight"}


# --- post-gen hook --------------------------------------------------------------------------------------------


def test_should_verify_respects_answer_and_environment() -> None:
    assert post_gen_project.should_verify({"verify_on_bake": True}, {})
    assert not post_gen_project.should_verify({"verify_on_bake": False}, {})
    assert not post_gen_project.should_verify({"verify_on_bake": True}, {"HEROKU_WORKER_SKIP_VERIFY": "1"})


def run_post_gen(project: Path, env: dict[str, str] | None = None, **changes: Any) -> subprocess.CompletedProcess[str]:
    """Run the real hook function in a subprocess, as cookiecutter would, on an already baked project."""
    code = (
        "import json, os, sys; from pathlib import Path; from hooks import post_gen_project as h; "
        "sys.exit(h.main(json.loads(sys.argv[1]), Path(sys.argv[2]), os.environ))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, json.dumps(answers(**changes)), str(project)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "UV_PYTHON_DOWNLOADS": "never", **(env or {})},
        check=False,
    )


def tree(project: Path) -> dict[str, bytes]:
    return {p.relative_to(project).as_posix(): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


def test_post_gen_hook_is_safe_to_run_again(bake: Any) -> None:
    project = bake()  # the fixture's answers: no check, no git repository
    before = tree(project)
    result = run_post_gen(project, verify_on_bake=False, init_git=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "static checks" in result.stdout and " ok " in result.stdout
    assert tree(project) == before
    assert os.access(project / "bin" / "post_compile", os.X_OK)


def test_post_gen_hook_fails_the_bake_on_a_static_finding(bake: Any) -> None:
    project = bake()
    (project / "Pipfile.lock").write_text("{}")
    result = run_post_gen(project, verify_on_bake=False)
    assert result.returncode == 1
    assert "Pipfile.lock" in result.stdout


@pytest.mark.network
def test_post_gen_hook_fails_naming_the_module_that_does_not_import(bake: Any) -> None:
    project = bake(python_version=f"{sys.version_info.major}.{sys.version_info.minor}")
    package = project / project.name.replace("-", "_")
    (package / "broken.py").write_text("raise RuntimeError('boom at import')\n")
    init = package / "__init__.py"  # the worker's package imports it, so the worker would crash at start
    init.write_text(init.read_text() + "\nfrom . import broken  # noqa: E402,F401\n")
    result = run_post_gen(project, verify_on_bake=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken" in result.stdout and "boom at import" in result.stdout


def test_post_gen_hook_keeps_the_bake_when_the_index_is_unreachable(bake: Any) -> None:
    project = bake(python_version=f"{sys.version_info.major}.{sys.version_info.minor}")
    dead_index = "http://127.0.0.1:9/simple"  # nothing listens on the discard port
    env = {"UV_INDEX_URL": dead_index, "UV_DEFAULT_INDEX": dead_index, "PIP_INDEX_URL": dead_index}
    env |= {"UV_NO_CACHE": "1", "PIP_NO_CACHE_DIR": "1", "PIP_FIND_LINKS": "", "UV_FIND_LINKS": ""}
    result = run_post_gen(project, env=env, verify_on_bake=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not run" in result.stdout
    assert "nox -s preflight" in result.stdout


def template_copy(tmp_path: Path) -> Path:
    """The template's package and tests as they sit (stand-in name, both twins of each variant)."""
    project = tmp_path / "my-app"
    for folder in (post_gen_project.STAND_IN, "tests"):
        shutil.copytree(ROOT / "{{cookiecutter.project_slug}}" / folder, project / folder)
    return project


@pytest.mark.parametrize("postgres", [True, False])
def test_choose_files_keeps_one_twin_each_renamed_with_its_imports(tmp_path: Path, postgres: bool) -> None:
    """The bake holds one store, prepare and transform, under their one name, in a package named after it;
    every import names them so (no stand-in, no `_redis`/`_plain` name left); a second run changes nothing."""
    project = template_copy(tmp_path)
    twins = {alt: (project / alt).read_text() for _, _, alt in post_gen_project.ALTERNATIVES}
    post_gen_project.choose_files(answers(__package_name="my_app", use_postgres=postgres, use_pandas=False), project)
    package = project / "my_app"
    assert not (project / post_gen_project.STAND_IN).exists() and (package / "cli.py").is_file()
    sources = {p: p.read_text() for p in project.rglob("*.py")}
    for stale in (post_gen_project.STAND_IN, "store_redis", "prepare_plain", "transform_plain", "store_support_redis"):
        assert not [p for p, text in sources.items() if re.search(rf"\b{stale}\b", text)], stale
    assert sorted(p.name for p in package.glob("*_*.py") if not p.name.startswith("__")) == [
        "queue_consumer.py",
        "queue_operator.py",
        "queue_producer.py",
        "queue_protocol.py",
    ]
    transform = twins["events_worker/transform_plain.py"]
    assert (package / "transform.py").read_text() == transform  # the plain twin, under the one name
    store = (package / "store.py").read_text()
    assert ("psycopg2" in store) is postgres and (package / "migrator.py").exists() is postgres
    tests = {p.name for p in (project / "tests").glob("test_*.py")}
    assert any(n.endswith("_postgres.py") for n in tests) is postgres
    assert any(n.endswith("_redis.py") for n in tests) is not postgres
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    post_gen_project.choose_files(answers(__package_name="my_app", use_postgres=postgres), project)
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before
