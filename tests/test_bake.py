"""Bake every supported answer set and prove each project is complete, rendered, lint-clean and checked."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, SUPPORTED, answer_id

UNRENDERED = re.compile(r"{{\s*cookiecutter|{%-?\s|cookiecutter\.")
COPIED_AS_IS = ("vendor/",)  # _copy_without_render: the checker's wheel, never Jinja
(WHEEL,) = (ROOT / "{{cookiecutter.project_slug}}" / "vendor").glob("heroku_preflight-*.whl")


def project_files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


def preflight(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "heroku_preflight", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project / "vendor" / WHEEL.name)},  # as the hook runs it
        check=False,
    )


def expected_paths(answers: dict[str, Any], package: str) -> dict[str, bool]:
    """Path -> whether it must exist, for these answers."""
    return {
        "Procfile": True,
        "Procfile.dev": True,
        "app.json": True,
        "requirements.in": True,
        "requirements.txt": True,
        "requirements-dev.txt": True,
        "noxfile.py": True,
        "pyproject.toml": True,
        "README.md": True,
        "bin/post_compile": True,
        f"vendor/{WHEEL.name}": True,  # the pinned checker, as a wheel: the bake holds no checker source
        "preflight/__main__.py": False,
        f"{package}/__init__.py": True,
        f"{package}/__main__.py": True,
        f"{package}/lua/read.lua": True,  # the queue's Lua scripts (copied as they are: _copy_without_render)
        f"{package}/lua/lib/entry.lua": True,
        f"{package}/lua/store_save.lua": not answers["use_postgres"],  # the Redis store's script
        ".python-version": answers["python_version_file"] == ".python-version",
        "runtime.txt": answers["python_version_file"] == "runtime.txt",
        ".github/workflows/ci.yml": answers["use_github_actions"],
        ".github/dependabot.yml": answers["use_github_actions"],
        ".github": answers["use_github_actions"],  # no empty folder left behind
        "Pipfile": False,
        "Pipfile.lock": False,
        "poetry.lock": False,
        "uv.lock": False,
        "setup.py": False,
    }


@pytest.mark.parametrize("answers", SUPPORTED, ids=answer_id)
def test_every_supported_answer_set_bakes_a_complete_checked_project(bake: Any, answers: dict[str, Any]) -> None:
    project = bake(**answers)
    package = project.name.replace("-", "_")

    for relative, must_exist in expected_paths(answers, package).items():
        assert (project / relative).exists() == must_exist, f"{relative} present={not must_exist}"

    for path in project_files(project):
        relative = path.relative_to(project).as_posix()
        assert not UNRENDERED.search(relative), f"unrendered path {relative}"
        if not relative.startswith(COPIED_AS_IS):
            text = path.read_text(encoding="utf-8")
            assert not UNRENDERED.search(text), f"unrendered Jinja left in {relative}"

    procfile = (project / "Procfile").read_text().splitlines()
    assert procfile[0] == f"worker: python -m {package}"
    has_release = answers["use_postgres"] and answers["release_phase"]
    assert (f"release: python -m {package} migrate" in procfile) == has_release

    requirements = (project / "requirements.txt").read_text()
    assert ("psycopg2-binary==" in requirements) == answers["use_postgres"]
    assert ("pandas==" in requirements) == answers["use_pandas"]
    assert "redis==" in requirements and "--hash=sha256:" in requirements
    # The checker every caller runs: pinned by hash, its wheel copied byte for byte (never rendered).
    assert "\n--find-links vendor\n" in requirements and "\nheroku-preflight==" in requirements
    assert (project / "vendor" / WHEEL.name).read_bytes() == WHEEL.read_bytes()
    pinned = re.search(r"^heroku-preflight==(\S+) \\\n\s+--hash=sha256:(\w+)", requirements, re.M)
    assert pinned, "heroku-preflight is pinned with one hash"
    assert pinned[1] == WHEEL.name.split("-")[1] and pinned[2] == hashlib.sha256(WHEEL.read_bytes()).hexdigest()

    version = answers["python_version"]
    if answers["python_version_file"] == "runtime.txt":
        assert (project / "runtime.txt").read_text() == f"python-{version}\n"
    else:
        assert (project / ".python-version").read_text() == f"{version}\n"

    app = json.loads((project / "app.json").read_text())
    addons = json.dumps(app.get("addons", []))
    assert "heroku-redis" in addons
    assert ("heroku-postgresql" in addons) == answers["use_postgres"]
    assert "worker" in app["formation"]
    tools = tomllib.loads((project / "pyproject.toml").read_text())
    assert "project" not in tools
    # No checker special cases: lint and typing see the team's own code only.
    assert "per-file-target-version" not in tools["tool"]["ruff"]
    assert tools["tool"]["mypy"]["packages"] == [package]
    assert tools["tool"]["ruff"]["lint"]["isort"]["known-first-party"] == [package]

    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "--quiet", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr  # as the baked CI's lint checks it

    static = preflight(project, "--static", "--json")
    assert static.returncode == 0, static.stdout + static.stderr
    assert json.loads(static.stdout)["ok"] is True


# Package names that are also names of the package's own modules, or of a twin the hook renames.
NAMED_LIKE_A_MODULE = [
    {"project_slug": "worker", "use_pandas": False},
    {"project_slug": "store-redis", "use_postgres": False, "use_pandas": False},
]


@pytest.mark.parametrize("answers", NAMED_LIKE_A_MODULE, ids=lambda a: a["project_slug"])
def test_a_package_named_like_one_of_its_modules_bakes_a_working_project(bake: Any, answers: dict[str, Any]) -> None:
    """The hook renames the stand-in package and the twins by whole words in one pass: a package called
    `worker`, or `store_redis` (the twin that becomes `store`), still imports every module and runs."""
    project = bake(**answers)
    package = answers["project_slug"].replace("-", "_")
    modules = sorted(p.stem for p in (project / package).glob("*.py") if p.stem != "__main__")
    assert "store" in modules and "store_redis" not in modules
    imported_names: set[str] = set()  # every absolute import in the bake: package, tests, noxfile
    for path in project.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported_names.add(node.module)
            elif isinstance(node, ast.Import):
                imported_names.update(alias.name for alias in node.names)
    ours = sorted(n for n in imported_names if n.split(".")[0] in {package, "events_worker", *modules})
    assert all(n.split(".")[0] == package for n in ours), f"imports of a module that is not the package: {ours}"
    wanted = sorted({*ours, *(f"{package}.{m}" for m in modules)})
    probe = f"import importlib\nfor m in {wanted!r}: importlib.import_module(m)"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)}
    imported = subprocess.run([sys.executable, "-c", probe], cwd=project, env=env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    helped = subprocess.run(
        [sys.executable, "-m", package, "--help"], cwd=project, env=env, capture_output=True, text=True
    )
    assert helped.returncode == 0 and "migrate" in helped.stdout, helped.stdout + helped.stderr


def bake_refused(tmp_path: Path, answers: dict[str, Any]) -> tuple[BaseException, Path]:
    """Bake into an empty folder expecting a refusal; return the error and the folder to inspect."""
    from cookiecutter.exceptions import FailedHookException, OutputDirExistsException
    from cookiecutter.main import cookiecutter

    out = tmp_path / "out"
    out.mkdir()
    # Cookiecutter itself refuses a choice outside the list (ValueError) and a slug that renders empty
    # (the folder would be `out` itself); everything else is the pre-gen hook's refusal.
    with pytest.raises((FailedHookException, OutputDirExistsException, ValueError)) as refused:
        cookiecutter(
            str(ROOT),
            no_input=True,
            extra_context={"verify_on_bake": False, **answers},
            output_dir=str(out),
            default_config=True,
        )
    return refused.value, out


def assert_nothing_written(tmp_path: Path) -> None:
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert list((tmp_path / "out").iterdir()) == []


def test_use_postgres_no_alone_bakes_a_project_without_a_release_phase(bake: Any) -> None:
    """Answering only use_postgres=no (release_phase keeps its default, yes) bakes; the release phase follows."""
    alone = bake(use_postgres=False)
    assert (alone / "Procfile").read_text() == "worker: python -m events_worker\n"
    assert "scripts" not in json.loads((alone / "app.json").read_text())
    assert preflight(alone, "--static").returncode == 0


BAD_ANSWERS = [
    pytest.param({"project_slug": "queue"}, id="stdlib-queue"),
    pytest.param({"project_slug": "test"}, id="stdlib-test"),
    pytest.param({"project_slug": "asyncio"}, id="stdlib-asyncio"),
    pytest.param({"project_slug": "distutils"}, id="stdlib-removed-in-3.12"),
    pytest.param({"project_slug": "redis"}, id="dependency-redis"),
    pytest.param({"project_slug": "pandas"}, id="dependency-pandas"),
    pytest.param({"project_slug": "numpy"}, id="dependency-numpy"),
    pytest.param({"project_slug": "psycopg2"}, id="dependency-psycopg2"),
    pytest.param({"project_slug": "dateutil"}, id="dependency-dateutil"),
    pytest.param({"project_slug": "pytest"}, id="dev-tool-pytest"),
    pytest.param({"project_slug": "heroku-preflight"}, id="the-checker"),
    pytest.param({"project_slug": "class"}, id="keyword"),
    pytest.param({"project_slug": "match"}, id="soft-keyword"),
    pytest.param({"project_slug": "1worker"}, id="leading-digit"),
    pytest.param({"project_slug": "wörker"}, id="non-ascii"),
    pytest.param({"project_slug": "my worker"}, id="space"),
    pytest.param({"project_slug": "..."}, id="dots"),
    pytest.param({"project_slug": ".hidden"}, id="hidden"),
    pytest.param({"project_slug": "Upper"}, id="uppercase"),
    pytest.param({"project_name": "   "}, id="empty-name"),
    pytest.param({"author_email": "not an email"}, id="email"),
    pytest.param({"python_version": "3.9"}, id="python-3.9"),
    pytest.param({"python_version": "2.7"}, id="python-2.7"),
    pytest.param({"python_version_file": "Pipfile"}, id="version-file"),
]


@pytest.mark.parametrize("answers", BAD_ANSWERS)
def test_bad_answers_fail_before_anything_is_written(tmp_path: Path, answers: dict[str, Any]) -> None:
    bake_refused(tmp_path, answers)
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("slug", ["../escape", "a/../../escape", "{tmp}/abs-escape", "a/b"])
def test_slug_that_escapes_the_output_directory_is_refused(tmp_path: Path, slug: str) -> None:
    bake_refused(tmp_path, {"project_slug": slug.format(tmp=tmp_path)})
    assert not (tmp_path / "abs-escape").exists()
    assert not (tmp_path / "escape").exists()
    assert list((tmp_path / "out").iterdir()) in ([], [tmp_path / "out" / "a"])


HOSTILE = {
    "project_name": "O'Connor's \"quoted\" \\ worker — ünïcödé ✓\nsecond line",
    "short_description": "Says \"\"\" and ''' and ends with a backslash \\",
    "author_name": 'Zoë "Z" d\'Arc \\',
}


def test_hostile_free_text_bakes_valid_files_that_pass_their_checks(bake: Any) -> None:
    project = bake(project_slug="hostile-worker", **HOSTILE)
    app = json.loads((project / "app.json").read_text())
    assert app["name"] and isinstance(app["description"], str)
    assert HOSTILE["short_description"] in (project / "README.md").read_text()
    tomllib.loads((project / "pyproject.toml").read_text())
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path))
    for path in project.rglob("*.y*ml"):
        import yaml

        yaml.safe_load(path.read_text())
    static = preflight(project, "--static", "--json")
    assert static.returncode == 0, static.stdout + static.stderr


def test_template_root_has_the_documented_layout() -> None:
    for name in ("cookiecutter.json", "hooks/pre_gen_project.py", "hooks/post_gen_project.py", "noxfile.py"):
        assert (ROOT / name).exists(), name
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111
    assert "__prompts__" in json.loads((ROOT / "cookiecutter.json").read_text())


# A relative path to a Markdown file (README.md, docs/worker.md …), not part of a URL.
DOC_POINTER = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-]+\.md)\b")


@pytest.mark.parametrize("answers", [{}, {"use_postgres": False, "use_pandas": False, "release_phase": False}])
def test_every_document_a_baked_file_points_to_is_in_the_bake(bake: Any, answers: dict[str, Any]) -> None:
    """A comment that says "see docs/worker.md" needs that file in the project a team receives."""
    root = bake(**answers)
    missing = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] == "preflight":  # the checker's folder: issue 20 removes it
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for target in DOC_POINTER.findall(line):
                if not (root / target).is_file() and not (path.parent / target).is_file():
                    missing.append(f"{relative}:{number}: {target}")
    assert not missing, "pointers to documents the bake does not contain:\n" + "\n".join(missing)
