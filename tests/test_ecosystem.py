"""The tools a team expects in a baked project: compose, .env, app.json, CI, Dependabot, pre-commit, docs.

Static checks parse each file and hold it to the rules of the tool that reads it: Heroku's app.json schema, the
workflow, Dependabot and Compose JSON Schemas, and what the worker's config says. Where this machine can run the
tool itself, the test runs it: pre-commit with its hooks, `nox -s lock`, `nox -s preflight`, `nox --list`.
Heroku's Button and GitHub's runners are not here: those two are checked statically only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from .conftest import CONTEXT, ROOT
from .pythons import find_python

# What Heroku offers (Dev Center, 2025-2026): Heroku Key-Value Store (the heroku-redis add-on) runs Valkey
# 7.2 / 8.x, wire-compatible with Redis 7.2 / 8; Heroku Postgres supports the newest three majors, up to 17.
HEROKU_REDIS_MAJORS = {7, 8}
HEROKU_POSTGRES_MAJORS = {14, 15, 16, 17}

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "minimal": {
        "python_version": "3.12",
        "python_version_file": "runtime.txt",
        "use_postgres": False,
        "use_pandas": False,
        "release_phase": False,
        "use_github_actions": False,
    },
    "postgres-no-release": {"release_phase": False, "python_version": "3.11"},
    "tricky-text": {
        "project_name": "O'Connor's \"quoted\" worker \\ naïve — a name longer than thirty characters",
        "short_description": 'Says "hi" \\ and <b>more</b>\nover two lines: ünïcödé ✓',
        "author_name": 'Zoë "Z" O\'Connor\\',
    },
}


def answers_for(variant: str) -> dict[str, Any]:
    defaults = {k: (v[0] if isinstance(v, list) else v) for k, v in CONTEXT.items() if not k.startswith("_")}
    return {**defaults, **VARIANTS[variant]}


@pytest.fixture(params=list(VARIANTS))
def baked(request: pytest.FixtureRequest, bake: Any) -> tuple[Path, dict[str, Any]]:
    return bake(**VARIANTS[request.param]), answers_for(request.param)


# --- helpers ------------------------------------------------------------------------------------------------


def read_env_example(project: Path) -> dict[str, str]:
    """NAME=value lines of .env.example (comments and blank lines skipped), as heroku local and honcho do."""
    values: dict[str, str] = {}
    for line in (project / ".env.example").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f".env.example: {line!r} is not NAME=value"
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f".env.example: bad variable name {name!r}"
        assert name not in values, f".env.example: {name} set twice"
        values[name] = value
    return values


def read_settings(project: Path) -> list[dict[str, str]]:
    """The worker's SETTINGS (name, default, description): the baked package's config module, imported (with
    the store's own settings) in a subprocess of this interpreter, from the project folder as a dyno does."""
    package = project / project.name.replace("-", "_")
    code = (
        "import importlib, json, sys\n"
        "config = importlib.import_module(sys.argv[1] + '.config')\n"
        "print(json.dumps([{'name': s.name, 'default': None if s.default is None else str(s.default),"
        " 'description': s.description} for s in config.SETTINGS]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, package.name],
        capture_output=True,
        text=True,
        check=False,
        cwd=project,
    )
    assert result.returncode == 0, f"could not read SETTINGS from {package.name}/config.py:\n{result.stderr}"
    settings: list[dict[str, str]] = json.loads(result.stdout)
    assert settings, "SETTINGS is empty"
    return settings


def url_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port, f"{url!r} has no host:port"
    return parts.hostname, parts.port


def image_major(image: str) -> int:
    tag = image.rpartition(":")[2]
    match = re.match(r"(\d+)", tag)
    assert match, f"image {image!r} has no numeric version tag (a floating tag would drift from Heroku's)"
    return int(match.group(1))


def published(ports: list[Any]) -> set[tuple[str, int, int]]:
    """compose short-syntax ports as (host_ip, host_port, container_port)."""
    out = set()
    for port in ports:
        fields = str(port).split(":")
        assert len(fields) == 3, f"port {port!r}: bind to an explicit host IP (127.0.0.1), not every interface"
        out.add((fields[0], int(fields[1]), int(fields[2])))
    return out


# --- local run: compose.yaml and .env.example ---------------------------------------------------------------


def test_env_example_covers_every_setting(baked: tuple[Path, dict[str, Any]]) -> None:
    project, answers = baked
    env = read_env_example(project)
    # No PROCFILE: honcho runs with `-f Procfile.dev -e /dev/null`, the worker reading .env itself.
    assert "PROCFILE" not in env and (project / "Procfile.dev").is_file()
    names = {s["name"] for s in read_settings(project)}
    assert "REDIS_URL" in names
    assert ("DATABASE_URL" in names) == answers["use_postgres"]
    assert set(env) == names, (
        f".env.example drifted from SETTINGS: missing {names - set(env)}, extra {set(env) - names}"
    )
    assert "PYTHONPATH" not in env  # preflight HW903: it would hide /app on Heroku
    for setting in read_settings(project):
        if setting["default"] is not None and setting["name"] in env:
            assert env[setting["name"]] == setting["default"], (
                f"{setting['name']}: .env.example differs from the default"
            )


def test_compose_matches_config_defaults(baked: tuple[Path, dict[str, Any]]) -> None:
    project, answers = baked
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    env = read_env_example(project)
    services = compose["services"]
    assert set(services) == ({"redis", "postgres"} if answers["use_postgres"] else {"redis"})

    redis = services["redis"]
    assert redis["image"].startswith("redis:") and image_major(redis["image"]) in HEROKU_REDIS_MAJORS
    assert url_port(env["REDIS_URL"]) == ("127.0.0.1", 6379)
    assert ("127.0.0.1", 6379, 6379) in published(redis["ports"])
    assert "healthcheck" in redis
    assert env["REDIS_URL"].startswith("redis://")  # local Redis has no TLS; Heroku's rediss:// is handled in config

    if answers["use_postgres"]:
        postgres = services["postgres"]
        assert postgres["image"].startswith("postgres:")
        assert image_major(postgres["image"]) in HEROKU_POSTGRES_MAJORS
        assert ("127.0.0.1", 5432, 5432) in published(postgres["ports"])
        db = urlsplit(env["DATABASE_URL"])
        assert (db.hostname, db.port) == ("127.0.0.1", 5432)
        pg_env = postgres["environment"]
        assert pg_env["POSTGRES_USER"] == db.username, "DATABASE_URL's user is not the one compose creates"
        assert pg_env["POSTGRES_DB"] == db.path.lstrip("/"), "DATABASE_URL's database is not the one compose creates"
        assert db.password is None and pg_env.get("POSTGRES_HOST_AUTH_METHOD") == "trust"
        assert "healthcheck" in postgres
    else:
        assert "DATABASE_URL" not in env


# --- app.json: the Heroku Button ----------------------------------------------------------------------------

# The rules of Heroku's app.json schema (devcenter.heroku.com/articles/app-json-schema), as JSON Schema. The
# length limits are those of Heroku's own app.json validator (name 3-30 characters, description <= 140).
DYNO_SIZES = [
    "eco", "basic", "standard-1x", "standard-2x", "performance-m", "performance-l", "performance-l-ram",
    "performance-xl", "performance-2xl", "private-s", "private-m", "private-l",
    "shield-s", "shield-m", "shield-l",
]  # fmt: skip
APP_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 3, "maxLength": 30},
        "description": {"type": "string", "maxLength": 140},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "website": {"type": "string", "format": "uri"},
        "repository": {"type": "string", "format": "uri"},
        "logo": {"type": "string", "format": "uri"},
        "success_url": {"type": "string"},
        "scripts": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"postdeploy": {"type": "string"}, "pr-predestroy": {"type": "string"}},
        },
        "env": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                "^[A-Z][A-Z0-9_]*$": {
                    "oneOf": [
                        {"type": "string"},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "description": {"type": "string"},
                                "value": {"type": "string"},
                                "required": {"type": "boolean"},
                                "generator": {"enum": ["secret"]},
                            },
                        },
                    ]
                }
            },
        },
        "formation": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                "^[a-zA-Z0-9_-]+$": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["quantity"],
                    "properties": {
                        "quantity": {"type": "integer", "minimum": 0},
                        "size": {"enum": DYNO_SIZES},
                    },
                }
            },
        },
        "addons": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string", "pattern": "^[a-z0-9-]+(:[a-z0-9-]+)?$"},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["plan"],
                        "properties": {
                            "plan": {"type": "string", "pattern": "^[a-z0-9-]+(:[a-z0-9-]+)?$"},
                            "as": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                            "options": {"type": "object"},
                        },
                    },
                ]
            },
        },
        "buildpacks": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["url"],
                "properties": {"url": {"type": "string", "minLength": 1}},
            },
        },
        "environments": {"type": "object"},
        "stack": {"enum": ["heroku-22", "heroku-24", "heroku-26"]},
        "image": {"type": "string"},
    },
}
ADDON_CONFIG_VARS = {"heroku-redis": "REDIS_URL", "heroku-postgresql": "DATABASE_URL"}


def addon_service(addon: str | dict[str, Any]) -> str:
    plan = addon if isinstance(addon, str) else addon["plan"]
    return plan.split(":")[0]


def procfile_types(project: Path) -> dict[str, str]:
    types = {}
    for line in (project / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            types[name.strip()] = command.strip()
    return types


def test_app_json_schema_and_contents(baked: tuple[Path, dict[str, Any]]) -> None:
    project, answers = baked
    app = json.loads((project / "app.json").read_text())  # strict JSON: a stray quote in a name fails here
    jsonschema.validate(app, APP_JSON_SCHEMA, format_checker=jsonschema.FormatChecker())

    name = answers["project_name"].strip()
    name = (name if len(name) <= 30 else name[:30].rsplit(" ", 1)[0]).strip()  # cut at a word, not in one
    assert app["name"] == (name if len(name) >= 3 else project.name)  # Heroku's limit: 3-30 characters
    assert app["description"] == answers["short_description"][:140]
    assert app["buildpacks"] == [{"url": "heroku/python"}]

    services = [addon_service(a) for a in app["addons"]]
    assert sorted(services) == sorted(["heroku-redis"] + (["heroku-postgresql"] if answers["use_postgres"] else []))

    processes = procfile_types(project)
    assert app["formation"] == {"worker": {"quantity": 1, "size": "basic"}}
    assert set(app["formation"]) <= set(processes), "formation names a process type the Procfile lacks"

    # Every setting the worker reads is either attached by an add-on or declared, with a description.
    settings = {s["name"]: s for s in read_settings(project)}
    attached = {ADDON_CONFIG_VARS[s] for s in services}
    assert attached <= set(settings)
    assert set(app["env"]) == set(settings) - attached, "app.json env drifted from SETTINGS"
    for name, entry in app["env"].items():
        assert isinstance(entry, dict) and entry.get("description"), f"app.json env {name}: no description"
        if settings[name]["default"] is not None:
            assert entry.get("value") == settings[name]["default"], f"app.json env {name}: value is not the default"
        assert entry.get("required") is False, f"app.json env {name}: has a default, so the Button must not ask"
    assert "PYTHONPATH" not in app["env"]  # preflight HW903

    # Migrations: the release phase runs them on every deploy (the Button's first one included); without a
    # release phase the Button's postdeploy script creates the schema once.
    scripts = app.get("scripts", {})
    if answers["use_postgres"] and not answers["release_phase"]:
        assert scripts["postdeploy"] == f"python -m {project.name.replace('-', '_')} migrate"
    else:
        assert "postdeploy" not in scripts
    assert ("release" in processes) == (answers["use_postgres"] and answers["release_phase"])


def test_app_json_schema_rejects_what_heroku_rejects() -> None:
    """The schema above is not vacuous: each broken manifest is refused."""
    good = {
        "name": "ok-app",
        "formation": {"worker": {"quantity": 1, "size": "basic"}},
        "addons": ["heroku-redis"],
    }
    jsonschema.validate(good, APP_JSON_SCHEMA)
    broken: list[dict[str, Any]] = [
        {"name": "x" * 31},
        {"formation": {"worker": {"size": "basic"}}},
        {"formation": {"worker": {"quantity": 1, "size": "hobby-huge"}}},
        {"env": {"lower_case": "x"}},
        {"env": {"X": {"description": "d", "value": 5}}},
        {"addons": [{"as": "REDIS"}]},
        {"buildpacks": ["heroku/python"]},
        {"procfile": "worker: x"},
    ]
    for manifest in broken:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, **manifest}, APP_JSON_SCHEMA)


# --- GitHub Actions and Dependabot --------------------------------------------------------------------------

PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*-? *uses: *(\S+)(.*)$", re.M)


def action_pins(workflow_text: str) -> dict[str, str]:
    """action -> "<sha> # vX.Y.Z" for every `uses:` line; each must be a commit SHA with its release named."""
    pins: dict[str, str] = {}
    for uses, rest in USES_LINE.findall(workflow_text):
        assert PINNED_ACTION.match(uses), f"{uses}: pin actions to a commit SHA"
        assert re.fullmatch(r" +# v\d+\.\d+\.\d+", rest), f"{uses}: name the release after the SHA (# vX.Y.Z)"
        action, sha = uses.split("@")
        pins[action] = f"{sha}{rest}"
    return pins


def workflow_trigger(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on:` key as True


def check_services(services: dict[str, Any], use_postgres: bool, env: dict[str, str]) -> None:
    assert set(services) == ({"redis", "postgres"} if use_postgres else {"redis"})
    redis = services["redis"]
    assert image_major(redis["image"]) in HEROKU_REDIS_MAJORS
    assert "6379:6379" in [str(p) for p in redis["ports"]] and "--health-cmd" in redis["options"]
    assert url_port(env["REDIS_URL"])[1] == 6379
    if use_postgres:
        postgres = services["postgres"]
        assert image_major(postgres["image"]) in HEROKU_POSTGRES_MAJORS
        assert "5432:5432" in [str(p) for p in postgres["ports"]] and "--health-cmd" in postgres["options"]
        db = urlsplit(env["DATABASE_URL"])
        assert db.port == 5432 and db.username == postgres["env"]["POSTGRES_USER"]
        assert db.path.lstrip("/") == postgres["env"]["POSTGRES_DB"]


def test_github_actions_workflow(baked: tuple[Path, dict[str, Any]]) -> None:
    project, answers = baked
    github = project / ".github"
    if not answers["use_github_actions"]:
        # Files named `{% if cookiecutter.use_github_actions %}ci.yml{% endif %}` are skipped; git keeps no
        # empty folder, so nothing of GitHub's reaches the team's repository.
        assert not [p for p in github.rglob("*") if p.is_file()], "use_github_actions=no must bake no .github file"
        return
    workflow = yaml.safe_load((github / "workflows" / "ci.yml").read_text())
    trigger = workflow_trigger(workflow)
    assert {"push", "pull_request"} <= set(trigger), "CI must run on pushes and on pull requests (Dependabot's)"
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-") and job["timeout-minutes"] <= 60
    check_services(job["services"], answers["use_postgres"], job["env"])

    steps = job["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    pins = action_pins((github / "workflows" / "ci.yml").read_text())
    template_pins = action_pins((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    for action in set(pins) & set(template_pins):
        assert pins[action] == template_pins[action], f"{action}: the template and the baked CI pin it differently"
    assert uses[0].startswith("actions/checkout@")
    setup_python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    if answers["python_version_file"] == ".python-version":
        assert setup_python["with"] == {"python-version-file": ".python-version"}
    else:
        assert setup_python["with"] == {"python-version": answers["python_version"]}
    assert any(a.startswith("astral-sh/setup-uv@") for a in uses)
    runs = [s["run"].strip() for s in steps if "run" in s]
    assert runs[-1] == "uvx nox", "CI runs the project's default nox sessions, exactly as a developer does"
    relock = relock_step(workflow)
    assert relock["if"] == "startsWith(github.head_ref, 'dependabot/')"
    assert runs == [relock["run"].strip(), "uvx nox"]
    # The service containers are the ones a developer runs with compose.yaml: the same images.
    compose = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    for name, service in job["services"].items():
        assert service["image"] == compose[name]["image"], f"{name}: CI and compose.yaml run different versions"
    assert set(job["services"]) == set(compose)


def relock_step(workflow: dict[str, Any]) -> dict[str, Any]:
    (job,) = workflow["jobs"].values()
    step: dict[str, Any] = next(s for s in job["steps"] if s.get("name", "").startswith("relock check"))
    return step


def test_ci_runs_the_default_sessions_including_the_checker(bake: Any) -> None:
    """`nox` with no arguments (what CI runs) means lint, typing, preflight and tests: ask nox itself."""
    project = bake()
    listing = subprocess.run(
        ["uvx", "nox", "--list", "--json"], cwd=project, capture_output=True, text=True, check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    sessions = {s["session"].split("-")[0] for s in json.loads(listing.stdout) if s.get("default", True)}
    assert {"lint", "typing", "preflight", "tests"} <= sessions
    assert "lock" not in sessions


def test_dependabot_config(baked: tuple[Path, dict[str, Any]]) -> None:
    project, answers = baked
    path = project / ".github" / "dependabot.yml"
    if not answers["use_github_actions"]:
        assert not path.exists()
        return
    config = yaml.safe_load(path.read_text())
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"pip", "github-actions"}
    for update in updates.values():
        assert update["directory"] == "/" and update["schedule"]["interval"] in {"daily", "weekly", "monthly"}
    pip = updates["pip"]
    # Dependabot's pip-compile support: requirements.in beside requirements.txt, the lock's header naming the
    # compiler (uv), hashes kept; increase-if-necessary leaves requirements.in's ranges alone while they hold.
    assert pip["versioning-strategy"] in {"increase-if-necessary", "lockfile-only"}
    assert (project / "requirements.in").exists()
    lock = (project / "requirements.txt").read_text()
    assert lock.startswith("# This file was autogenerated by uv via the following command:")
    assert "--hash=sha256:" in lock


# The official JSON Schemas for these files (SchemaStore's GitHub workflow and Dependabot schemas, the Compose
# Specification), as check-jsonschema ships them: validated offline once the tool is installed from PyPI.
CHECK_JSONSCHEMA = ["uvx", "--python", ">=3.11", "--from", "check-jsonschema==0.39.0", "check-jsonschema"]


def check_jsonschema(schema: str, *files: Path) -> None:
    result = subprocess.run(
        [*CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files)],
        capture_output=True, text=True, check=False, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )  # fmt: skip
    assert result.returncode == 0, f"{schema}: {result.stdout}{result.stderr}"


@pytest.mark.network
@pytest.mark.parametrize("variant", ["default", "minimal"])
def test_files_validate_against_official_schemas(bake: Any, variant: str) -> None:
    project = bake(**VARIANTS[variant])
    check_jsonschema("vendor.compose-spec", project / "compose.yaml")
    workflows = [Path(__file__).resolve().parents[1] / ".github" / "workflows" / "ci.yml"]
    if answers_for(variant)["use_github_actions"]:
        workflows.append(project / ".github" / "workflows" / "ci.yml")
        check_jsonschema("vendor.dependabot", project / ".github" / "dependabot.yml")
    check_jsonschema("vendor.github-workflows", *workflows)


# --- pre-commit ---------------------------------------------------------------------------------------------


GIT_ENV = {
    **os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
}  # fmt: skip


def git_init(project: Path) -> None:
    for args in (["init", "-q"], ["add", "--all"]):
        subprocess.run(["git", *args], cwd=project, check=True)


def run_pre_commit(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["uvx", "--from", "pre-commit>=4", "pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "PRE_COMMIT_COLOR": "never"},
    )


def test_pre_commit_config_matches_dev_tools(baked: tuple[Path, dict[str, Any]]) -> None:
    project, _ = baked
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "preflight-static"} <= set(hooks)
    # The checker pinned in requirements.txt, from the project's venv: the version nox, CI and the build run.
    assert hooks["preflight-static"]["entry"] == "heroku-preflight --static --strict"
    assert hooks["preflight-static"]["language"] == "system"
    assert hooks["preflight-static"]["pass_filenames"] is False
    dev_lines = (project / "requirements-dev.txt").read_text().splitlines()
    dev = [Requirement(line.split("#")[0]) for line in dev_lines if line.strip() and not line.startswith("#")]
    (ruff_pin,) = [str(r) for r in dev if r.name == "ruff"]
    assert ruff_pin.startswith("ruff=="), "requirements-dev.txt pins ruff exactly: `nox -s lint` installs that pin"
    for hook_id in ("ruff-check", "ruff-format"):
        assert hooks[hook_id]["additional_dependencies"] == [ruff_pin], (
            f"{hook_id}: pre-commit's ruff differs from requirements-dev.txt's {ruff_pin} (what `nox -s lint` runs)"
        )
    assert "ruff_pin()" in (project / "noxfile.py").read_text(), "nox -s lint must install requirements-dev's ruff"


@pytest.mark.network
@pytest.mark.xdist_group("pre-commit")
def test_pre_commit_runs_and_bites(bake: Any) -> None:
    """Run the hooks for real: clean on a fresh bake; a lint error, bad format, a hand-edited lock all fail."""
    project = bake()
    git_init(project)
    clean = run_pre_commit(project)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    for hook in ("ruff check", "ruff format", "preflight --static"):
        assert re.search(re.escape(hook) + r".*Passed", clean.stdout), clean.stdout

    package = project / project.name.replace("-", "_")
    (package / "extra.py").write_text("import os\nx=1\n")
    lock = project / "requirements.txt"
    lock.write_text(lock.read_text() + "requests\n")  # a hand edit of the lock: unpinned, unhashed
    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    dirty = run_pre_commit(project)
    assert dirty.returncode != 0
    for hook in ("ruff check", "ruff format", "preflight --static"):
        assert re.search(re.escape(hook) + r".*Failed", dirty.stdout), dirty.stdout
    assert "HW201" in dirty.stdout  # the checker's finding for a requirement not pinned with ==
    assert (package / "extra.py").read_text() == "x = 1\n"  # ruff fixed the import and the formatting


# --- dependency updates: nox -s lock ------------------------------------------------------------------------


def pins(lock: str) -> dict[str, str]:
    return {m[1].lower(): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", lock, re.M)}


@pytest.mark.network
@pytest.mark.xdist_group("lock")
def test_nox_lock_upgrades_within_requirements_in(bake: Any) -> None:
    """`nox -s lock` keeps pins, re-hashes, honours a new constraint, and `-- --upgrade` stays inside it."""
    python = next((v for v in ("3.12", "3.13", "3.11") if find_python(v)), None)
    assert python, "needs Python 3.11, 3.12 or 3.13 (pyenv, uv, PATH or /usr/bin) to run the baked project's nox"
    project = bake(python_version=python)
    git_init(project)
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}

    def lock(*args: str) -> str:
        result = subprocess.run(
            ["uvx", "nox", "-s", "lock", *(["--", *args] if args else [])],
            cwd=project, capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return str((project / "requirements.txt").read_text())

    shipped = (project / "requirements.txt").read_text()
    assert lock().rstrip("\n") == shipped.rstrip("\n"), "relocking an unchanged requirements.in must keep every pin"

    # A constraint the team adds (redis below its current major): the lock moves inside it, with hashes.
    current = int(pins(shipped)["redis"].split(".")[0])
    req_in = project / "requirements.in"
    req_in.write_text(re.sub(r"^redis[^\n]*", f"redis>=5,<{current}", req_in.read_text(), flags=re.M))
    constrained = lock("--upgrade")
    redis_pin = pins(constrained)["redis"]
    assert Requirement(f"redis>=5,<{current}").specifier.contains(redis_pin), redis_pin
    assert int(redis_pin.split(".")[0]) == current - 1, "--upgrade takes the newest version inside the range"
    for block in re.split(r"\n(?=[A-Za-z0-9_.-]+==)", constrained.split("\n", 2)[2]):
        if "==" in block:
            assert "--hash=sha256:" in block, f"unhashed requirement after relock: {block.splitlines()[0]}"
    assert set(pins(constrained)) == set(pins(shipped)), "same distributions, only versions moved"

    # What a Dependabot pull request does to this pair: raise the range in requirements.in, then recompile the
    # lock it recognises by its header with the compiler it names (uv), one package upgraded, hashes kept.
    # CI then runs the full checker on the result; here, the same nox session CI runs.
    req_in.write_text(re.sub(r"^redis[^\n]*", "redis>=5.2", req_in.read_text(), flags=re.M))
    subprocess.run(
        ["uv", "pip", "compile", "--quiet", "--generate-hashes", "--upgrade-package", "redis",
         "requirements.in", "-o", "requirements.txt"],
        cwd=project, check=True, env=env,
    )  # fmt: skip
    bumped = (project / "requirements.txt").read_text()
    assert int(pins(bumped)["redis"].split(".")[0]) >= current
    # That recompile drops `--find-links vendor` (uv emits it only with --emit-find-links), so the checker's
    # wheel could not be found: the baked CI's relock check (`nox -s lock`, then no diff) catches it, and the
    # relock keeps Dependabot's versions and puts the line back.
    assert "--find-links vendor" not in bumped
    relocked = lock()
    assert "\n--find-links vendor\n" in relocked and pins(relocked) == pins(bumped)
    checked = subprocess.run(
        ["uvx", "nox", "-s", "preflight"], cwd=project, capture_output=True, text=True, check=False, env=env
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    generations = set(re.findall(r"^preflight: .*; (cedar|fir); steps:", checked.stdout + checked.stderr, re.M))
    assert generations == ({"cedar", "fir"} if (project / "project.toml").is_file() else {"cedar"}), generations


# --- the baked README ---------------------------------------------------------------------------------------


def checker_codes() -> dict[str, str]:
    from heroku_preflight.codes import CODES  # the registry of the checker the bake pins (installed here)

    return {code: rule.title for code, rule in CODES.items()}


def test_readme_covers_what_a_team_needs(baked: tuple[Path, dict[str, Any]]) -> None:
    project, answers = baked
    readme = (project / "README.md").read_text()
    package = project.name.replace("-", "_")
    for needle in (
        "cp .env.example .env", "docker compose up", "heroku local worker", "honcho start", "Procfile.dev",
        "heroku ps:scale worker=", "rediss://", f"python -m {package} status", "nox -s lock",
        "pre-commit install", "heroku-preflight", "cruft update", f"{package}/transform.py",
    ):  # fmt: skip
        assert needle in readme, f"README.md does not mention {needle!r}"
    if answers["use_postgres"] and answers["release_phase"]:
        assert "release phase" in readme.lower() and f"python -m {package} migrate" in readme

    # The ways a deploy breaks: every family of checker findings is explained, and no code is stale.
    codes = checker_codes()
    assert codes, "no checker codes found in heroku_preflight.codes"
    mentioned = set(re.findall(r"HW\d{3}", readme))
    assert mentioned <= set(codes), f"README names codes the checker no longer has: {mentioned - set(codes)}"
    families = {code[:3] for code in codes}
    assert families <= {code[:3] for code in mentioned}, "README misses a family of checker findings"


# --- the template's own CI ----------------------------------------------------------------------------------


def test_template_workflow_runs_what_ci_runs() -> None:
    """The template's GitHub Actions run `bash .ci/run` (uvx nox) on every offered Python, with services."""
    root = Path(__file__).resolve().parents[1]
    workflow = yaml.safe_load((root / ".github" / "workflows" / "ci.yml").read_text())
    assert {"push", "pull_request"} <= set(workflow_trigger(workflow))
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["timeout-minutes"] <= 90  # the limit CI gives one run of .ci/run
    services = job["services"]
    check_services(
        services, True,
        {"REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/postgres"},
    )  # fmt: skip
    steps = job["steps"]
    for step in steps:
        if "uses" in step:
            assert PINNED_ACTION.match(step["uses"]), f"{step['uses']}: pin actions to a version tag or a commit SHA"
    setup_python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    versions = set(setup_python["with"]["python-version"].split())
    assert versions == set(CONTEXT["python_version"]), "CI must offer every Python the template offers"
    runs = [s["run"].strip() for s in steps if "run" in s]
    assert runs == ["bash .ci/run"]
    action_pins((root / ".github" / "workflows" / "ci.yml").read_text())
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "~/.cache/uv", "CI caches uv's downloads"
    assert "templates/locks/*.txt" in cache["with"]["key"]
    dependabot = yaml.safe_load((root / ".github" / "dependabot.yml").read_text())
    assert [u["package-ecosystem"] for u in dependabot["updates"]] == ["github-actions"]
    assert "uvx nox" in (root / ".ci" / "run").read_text(), ".ci/run no longer runs nox: update the workflow"


@pytest.mark.network
@pytest.mark.xdist_group("lock")
def test_dependabot_relock_check_catches_a_lock_nox_would_not_make(bake: Any) -> None:
    """The CI step on Dependabot branches, run for real: green on `nox -s lock`'s lock, red on a platform-less one."""
    python = next((v for v in ("3.12", "3.13", "3.11") if find_python(v)), None)
    assert python, "needs Python 3.11, 3.12 or 3.13 (pyenv, uv, PATH or /usr/bin) to run the baked project's nox"
    project = bake(python_version=python)
    git_init(project)
    subprocess.run(["git", "commit", "-qm", "bake"], cwd=project, check=True, env=GIT_ENV)
    script = relock_step(yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text()))["run"]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}

    def step() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-e", "-c", script], cwd=project, capture_output=True, text=True, env=env)

    clean = step()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    # What Dependabot's pip-compile does: recompile with uv, hashes kept, but for another Python and no platform.
    subprocess.run(
        ["uv", "pip", "compile", "--quiet", "--generate-hashes", "--python-version", "3.10",
         "requirements.in", "-o", "requirements.txt"],
        cwd=project, check=True, env=env,
    )  # fmt: skip
    subprocess.run(["git", "commit", "-qam", "dependabot"], cwd=project, check=True, env=GIT_ENV)
    caught = step()
    assert caught.returncode != 0, "the relock check passed a lock `nox -s lock` does not make"
    assert "is not what 'nox -s lock' makes" in caught.stdout + caught.stderr
