"""The template's test harness: bake, lint, test and lock (run `nox -l` to list sessions)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

nox.needs_version = ">=2024.3.2"
nox.options.default_venv_backend = "uv|virtualenv"

ROOT = Path(__file__).parent
# Bytecode: one cache for every session and every process they start, outside the sources (the template folder
# that cookiecutter copies never holds a __pycache__). With PYTHONDONTWRITEBYTECODE=1 (set on some machines,
# this one included) every process recompiled pytest, cookiecutter, pandas… from source: the test command took
# about 40 s longer on 2 cores.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(ROOT / ".nox" / "pycache"))
LOCKS = ROOT / "templates" / "locks"
TEMPLATE_CONTEXT = json.loads((ROOT / "cookiecutter.json").read_text())


PROJECT = ROOT / "{{cookiecutter.project_slug}}"
CHECKER = ROOT / "heroku-preflight"  # the checker's package (its own pyproject.toml, src layout)
# nox runs before any session's environment exists, so the two stdlib-only modules it needs are imported from
# the repository itself: Heroku's platform facts (the checker's, their one home) and the interpreter policy.
sys.path[:0] = [str(CHECKER / "src"), str(ROOT)]
from heroku_preflight import heroku as HEROKU  # noqa: E402

from tests import pythons as PYTHONS  # noqa: E402

PYTHON_VERSIONS: list[str] = sorted(TEMPLATE_CONTEXT["python_version"], key=lambda v: tuple(map(int, v.split("."))))
STACKS: list[str] = sorted(TEMPLATE_CONTEXT["stack"], key=lambda s: HEROKU.STACK_GLIBC[s])
# The shipped locks are compiled for the oldest offered stack (lowest glibc): uv records every wheel's hash of
# each pinned version, so they hold on every newer stack too. The `locks` session proves it for each stack.
LOCK_STACK = STACKS[0]


def lock_name(python: str, postgres: bool, pandas: bool) -> str:
    """The lock file that `requirements.txt` includes for these answers (keep in step with its template)."""
    return f"py{python}" + ("-postgres" if postgres else "") + ("-pandas" if pandas else "") + ".txt"


RENDER_TEMPLATE = """
import json, sys, jinja2
source, target, answers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(source) as f, open(target, "w") as out:
    out.write(jinja2.Template(f.read()).render(cookiecutter=answers))
"""


def render_requirements_in(session: nox.Session, target: Path, postgres: bool, pandas: bool) -> None:
    """Render the project's own requirements.in template, so the locks and the baked file cannot drift.

    Jinja runs in the session's environment: nox itself may run from a bare `uvx nox`.
    """
    source = PROJECT / "requirements.in"
    answers = json.dumps({"use_postgres": postgres, "use_pandas": pandas})
    session.run("python", "-c", RENDER_TEMPLATE, str(source), str(target), answers, silent=True)


def compile_locks(session: nox.Session, out_dir: Path, *, upgrade: bool, stack: str = LOCK_STACK) -> None:
    session.install("uv", "jinja2")
    for python, postgres, pandas in itertools.product(PYTHON_VERSIONS, (True, False), (True, False)):
        with tempfile.TemporaryDirectory() as tmp:
            req_in = Path(tmp) / "requirements.in"
            render_requirements_in(session, req_in, postgres, pandas)
            shutil.copytree(PROJECT / "vendor", Path(tmp) / "vendor")  # the checker's wheel (--find-links vendor)
            session.chdir(tmp)  # so the lock says "via -r requirements.in", as the baked project's own lock does
            name = lock_name(python, postgres, pandas)
            # Compiled beside requirements.in, where the bake has it: the lock's `--find-links vendor` is
            # relative to the file. uv keeps the pins already in the output file (the shipped lock's).
            if (LOCKS / name).exists():
                shutil.copy(LOCKS / name, Path(tmp) / "requirements.txt")
            session.run(
                "uv", "pip", "compile", "--quiet", "--generate-hashes", "--no-build", "--emit-find-links",
                "--python-version", python, "--python-platform", HEROKU.platform_tag(stack),
                "--custom-compile-command", "nox -s lock",
                # The checker's wheel is rebuilt in place with the same version: without this, uv keeps the old
                # lock's hash for it (a build would then fail the hash check).
                "--upgrade-package", "heroku-preflight", *(["--upgrade"] if upgrade else []),
                "requirements.in", "-o", "requirements.txt",
                env={"UV_PYTHON_DOWNLOADS": "never"},
            )  # fmt: skip
            shutil.copy(Path(tmp) / "requirements.txt", out_dir / name)
            session.chdir(ROOT)


@nox.session(default=False)
def lock(session: nox.Session) -> None:
    """Recompile every shipped lock (`-- --upgrade` to move to the newest versions)."""
    compile_locks(session, LOCKS, upgrade="--upgrade" in session.posargs)


# --- Test sessions -------------------------------------------------------------------------------------------

# ruff's one pin lives in the baked requirements-dev.txt (the baked lint and pre-commit use it too).
RUFF_PIN = next(
    line.split("#")[0].strip()
    for line in (PROJECT / "requirements-dev.txt").read_text().splitlines()
    if line.startswith("ruff==")
)

# pytest below 9.2: pytest 9.2's node ids make pytest-xdist 3.8 ignore `xdist_group` (`--dist loadgroup` then
# spreads a group over every worker, silently: pytest-dev/pytest-xdist#1386). The tests session relies on it.
TEST_REQUIREMENTS = [
    "pytest>=8.3,<9.2", "pytest-cookies>=0.7", "pytest-xdist>=3.6", "pytest-timeout>=2.3", "cookiecutter>=2.6",
    "cruft>=2.15", "jinja2>=3.1", "pyyaml>=6", "jsonschema>=4.23", "honcho>=2.0", RUFF_PIN,
    "uv>=0.5", "deptry>=0.21", "nox>=2025.2.9", "pip>=24",
    "redis>=5", "msgspec>=0.19", "psycopg2-binary>=2.9",  # a bake's config.py, imported (its SETTINGS)
]  # fmt: skip

# Baked projects whose own `nox` (lint, typing, preflight, tests) runs here. Together they give every Python
# offered and every value of every option at least one full run; tests/test_bake.py bakes the whole product.
BAKED = {
    "default": {},
    "py3.14": {"python_version": "3.14"},
    "py3.12-runtime-txt": {"python_version": "3.12", "python_version_file": "runtime.txt"},
    "py3.11-no-pandas": {"python_version": "3.11", "use_pandas": "no", "use_github_actions": "no"},
    "py3.11-no-postgres": {"python_version": "3.11", "use_postgres": "no", "release_phase": "no"},
    "redis-only": {"use_postgres": "no", "use_pandas": "no", "release_phase": "no"},
}


def tool_env() -> dict[str, str]:
    return {"UV_PYTHON_DOWNLOADS": "never"}


def build_checker_wheel(session: nox.Session, out: Path) -> Path:
    """heroku-preflight's wheel, built from heroku-preflight/ into `out` (hatchling, pinned: reproducible)."""
    shutil.rmtree(out, ignore_errors=True)
    session.run("uv", "build", "--wheel", "--quiet", str(CHECKER), "-o", str(out), env=tool_env())
    (wheel,) = out.glob("heroku_preflight-*.whl")
    return wheel


def checker_wheel(session: nox.Session) -> Path:
    """Build the checker's wheel and insist it is the very file every bake carries (vendor/, hash-pinned)."""
    # Not session.create_tmp(): it points TMPDIR into this repository, and tests that bake or make git
    # repositories under TMPDIR must be outside any repository.
    wheel = build_checker_wheel(session, ROOT / ".nox" / "checker-wheel" / session.name)
    shipped = PROJECT / "vendor" / wheel.name
    if not shipped.is_file() or shipped.read_bytes() != wheel.read_bytes():
        session.error(f"{shipped.relative_to(ROOT)} is not the build of heroku-preflight/: run `nox -s checker-wheel`")
    return wheel


@nox.session(default=False, name="checker-wheel")
def ship_checker_wheel(session: nox.Session) -> None:
    """Rebuild the checker's wheel that bakes carry (vendor/), then relock: the locks pin its hash."""
    session.install("uv")
    vendor = PROJECT / "vendor"
    for old in vendor.glob("heroku_preflight-*.whl"):
        old.unlink()
    wheel = build_checker_wheel(session, ROOT / ".nox" / "checker-wheel" / session.name)
    shutil.copy(wheel, vendor / wheel.name)
    compile_locks(session, LOCKS, upgrade=False)


@nox.session(default=True)
def lint(session: nox.Session) -> None:
    """Ruff and mypy --strict on the template's own Python and on the checker's package (its own config)."""
    session.install(*TEST_REQUIREMENTS, "mypy>=1.13", "types-PyYAML", "types-jsonschema")
    session.install(str(checker_wheel(session)))  # the tests import it: typed (py.typed)
    paths = ["hooks", "tests", "benchmarks", "noxfile.py", "local_extensions.py", "heroku-preflight"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy")
    session.run("mypy", "--config-file", str(CHECKER / "pyproject.toml"), str(CHECKER / "src"))


DEFAULT_PYTHON: str = TEMPLATE_CONTEXT["python_version"][0]


@nox.session(default=True, name="template-sources", python=PYTHONS.find_python(DEFAULT_PYTHON) or DEFAULT_PYTHON)
def template_sources(session: nox.Session) -> None:
    """Ruff and mypy --strict over every `.py` of the bake as it sits in the template (both stores' twins).

    The settings are the default bake's own pyproject.toml, rendered, so that one home holds them; the
    package is there under its stand-in name (`events_worker`, which the post-generation hook renames).
    """
    if PYTHONS.find_python(DEFAULT_PYTHON) is None:
        not_verified(session, DEFAULT_PYTHON, f"no Python {DEFAULT_PYTHON}: the template's sources were not checked")
    session.install("jinja2")
    config = Path(session.create_tmp()).resolve() / "baked-config"
    shutil.rmtree(config, ignore_errors=True)
    shutil.copytree(PROJECT / "vendor", config / "vendor")  # the lock's `--find-links vendor`
    shutil.copy(LOCKS / lock_name(DEFAULT_PYTHON, True, True), config / "requirements.txt")
    answers = json.dumps(
        {"__package_name": "events_worker", "python_version": DEFAULT_PYTHON, "use_postgres": True, "use_pandas": True}
    )
    for name in ("pyproject.toml", "requirements-dev.txt"):
        session.run("python", "-c", RENDER_TEMPLATE, str(PROJECT / name), str(config / name), answers, silent=True)
    session.chdir(config)
    session.install("-r", "requirements.txt")
    session.install("-r", "requirements-dev.txt", "nox")
    session.chdir(PROJECT)
    settings = str(config / "pyproject.toml")
    session.run("ruff", "check", "--no-cache", "--config", settings, ".")
    session.run("ruff", "format", "--check", "--no-cache", "--config", settings, ".")
    session.run(
        "mypy", "--config-file", settings, "--cache-dir", str(config / "mypy"), "--explicit-package-bases",
        "events_worker", "tests", "noxfile.py", env={"MYPYPATH": "tests"},
    )  # fmt: skip


def skipped_real_builds(report: Path) -> list[str]:
    """The real-build tests (tests/test_real_build.py) that a pytest JUnit report shows as skipped."""
    cases = ET.parse(report).iter("testcase")
    return [
        case.get("name", "?")
        for case in cases
        if case.get("classname", "").endswith("test_real_build") and case.find("skipped") is not None
    ]


@nox.session(default=True)
def tests(session: nox.Session) -> None:
    """Every template test in one pytest-xdist run, Heroku's real builds (tests/test_real_build.py) included.

    Hook unit tests, the bake of every supported answer set, the checker's tests and corpora, the ecosystem files,
    and the real classic build of six answer sets and a broken bake."""
    session.install(*TEST_REQUIREMENTS)
    session.install(str(checker_wheel(session)))  # the checker's tests run the installed wheel, not its source
    workers = os.environ.get("PYTEST_WORKERS", "auto")
    # Not session.create_tmp() (see checker_wheel): the report only needs a folder of this session's own.
    report = ROOT / ".nox" / "reports" / f"{session.name}.xml"
    # One pytest run: the real builds (one xdist group: one worker, one build at a time, as they share /app)
    # wait on PyPI while the other worker runs the CPU-bound tests. Two sessions one after the other took
    # 649 s + 225 s.
    session.run(
        "pytest", "-n", workers, "--dist", "loadgroup", f"--junitxml={report}", *session.posargs, env=tool_env()
    )  # fmt: skip
    skipped = skipped_real_builds(report)
    if skipped:  # under CI=true the tests themselves fail instead (tests/heroku_build.py not_verified)
        session.skip(f"NOT VERIFIED: the real build did not run for {', '.join(skipped)} (see the pytest output)")


@nox.session(default=False)
def real_build(session: nox.Session) -> None:
    """Heroku's real classic build alone (the `tests` session runs it too): six answer sets and a broken bake."""
    session.install(*TEST_REQUIREMENTS)
    session.install(str(checker_wheel(session)))  # the tests compare the build with the bake's pinned checker
    report = Path(session.create_tmp()).resolve() / "real-build.xml"
    # One at a time (-p no:xdist): the builds share /app, as the buildpack needs.
    session.run(
        "pytest", "-p", "no:xdist", "-m", "real_build", f"--junitxml={report}", "tests/test_real_build.py",
        *session.posargs, env=tool_env(),
    )  # fmt: skip
    skipped = skipped_real_builds(report)
    if skipped:  # under CI=true the tests themselves fail instead (tests/heroku_build.py not_verified)
        session.skip(f"NOT VERIFIED: the real build did not run for {', '.join(skipped)} (see the pytest output)")


def not_verified(session: nox.Session, version: str, why: str) -> None:
    """End the session as NOT VERIFIED: skipped (shown in the summary), or failed where it must not pass."""
    if PYTHONS.unverified_is_failure(version):
        session.error(f"NOT VERIFIED: {why} (CI=true, and {version} is not in tests/pythons.py KNOWN_UNVERIFIED)")
    allowance = PYTHONS.KNOWN_UNVERIFIED.get(version, "allowed outside CI only")
    session.skip(f"NOT VERIFIED: {why} ({allowance})")


@nox.session(default=True)
@nox.parametrize("name", list(BAKED))
def baked(session: nox.Session, name: str) -> None:
    """Bake one answer set and run that project's own default nox sessions in it; any skip is NOT VERIFIED."""
    answers = BAKED[name]
    python = answers.get("python_version", TEMPLATE_CONTEXT["python_version"][0])
    if PYTHONS.find_python(python) is None:
        not_verified(session, python, f"no Python {python} interpreter here, so the {name} bake was not run")
    session.install("cookiecutter", "nox")
    out = Path(session.create_tmp()).resolve() / name
    shutil.rmtree(out, ignore_errors=True)
    args = [f"{key}={value}" for key, value in answers.items()]
    session.run(
        "cookiecutter", "--no-input", "--output-dir", str(out), str(ROOT), "verify_on_bake=no", *args,
        env=tool_env(),
    )  # fmt: skip
    (project,) = out.iterdir()
    session.chdir(project)
    session.run("git", "init", "--quiet", external=True)
    session.run("git", "add", "--all", external=True)
    report = out / "nox-report.json"
    session.run("nox", "--report", str(report), *session.posargs, env=tool_env())
    skipped = PYTHONS.skipped_sessions(json.loads(report.read_text()))
    if skipped:
        not_verified(session, python, f"the {name} project's sessions skipped: {'; '.join(skipped)}")


@nox.session(default=True)
def locks(session: nox.Session) -> None:
    """Fail when a shipped lock no longer matches requirements.in, or differs for any offered stack."""
    for stack in STACKS:
        out = Path(session.create_tmp()).resolve() / f"locks-{stack}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        compile_locks(session, out, upgrade=False, stack=stack)
        stale = [p.name for p in sorted(out.iterdir()) if p.read_text() != (LOCKS / p.name).read_text()]
        if stale:
            session.error(
                f"Locks differ for {stack} ({HEROKU.platform_tag(stack)}; run `nox -s lock`): {', '.join(stale)}"
            )
        print(f"All {len(list(out.iterdir()))} locks are current for {stack} ({HEROKU.platform_tag(stack)}).")
