"""Issue 19's kinds: what real apps showed the checker getting wrong, each with a test that fails on the old code.

runtime.txt's end anchor; the standard library of the TARGET Python (not the running one); deptry's DEP001 path;
a Poetry lock older than the build's Poetry reads; an sdist-only package the stack compiles (psycopg2); Celery's
broker transport loaded as `celery worker` loads it (kombu's VersionMismatch).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.heroku_build import NotVerified, not_verified
from tests.preflight.helpers import CHECKER_WHEEL, checker_env, run_preflight
from tests.pythons import find_python

MakeApp = Callable[..., Path]
LOCAL_MINORS = [f"3.{m}" for m in range(10, 15) if find_python(f"3.{m}")]


# --- runtime.txt: the whole line is the version, as the buildpack's pattern is anchored at both ends ----------


@pytest.mark.parametrize("text", ["python-3.12.1.4", "python-3.12 3.13", "python-3.12.1rc1", "python-3.12."])
def test_runtime_txt_with_trailing_text_is_refused(make_app: MakeApp, text: str) -> None:
    result = run_preflight(make_app({".python-version": None, "runtime.txt": f"{text}\n"}), "--static")
    assert "HW603" in result.codes and result.exit_code == 1, result


def test_runtime_txt_valid_forms_still_pass(make_app: MakeApp) -> None:
    for text in ("python-3.12", "python-3.12.1"):
        result = run_preflight(make_app({".python-version": None, "runtime.txt": f"{text}\n"}), "--static")
        assert "HW603" not in result.codes and result.exit_code == 0, result


# --- The standard library of the target Python -------------------------------------------------------------


def _stdlib_of(python: str) -> set[str]:
    code = "import sys, json; print(json.dumps(sorted(sys.stdlib_module_names)))"
    return set(json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout))


def test_stdlib_tables_mirror_every_local_interpreter() -> None:
    """stdlib_names(target) computed on each local Python equals the target Python's own list (plus `test`)."""
    if len(LOCAL_MINORS) < 2:
        not_verified(NotVerified(f"two local Pythons are needed to compare their stdlib lists; found {LOCAL_MINORS}"))
    code = (
        "import sys, json; from heroku_preflight import layout; "
        "print(json.dumps({m: sorted(layout.stdlib_names(m)) for m in map(int, sys.argv[1:])}))"
    )
    truth = {int(v.split(".")[1]): _stdlib_of(str(find_python(v))) | {"test"} for v in LOCAL_MINORS}
    wrong = {}
    for runner in LOCAL_MINORS:
        done = subprocess.run(
            [str(find_python(runner)), "-c", code, *map(str, truth)], capture_output=True, text=True,
            env={**checker_env(), "PYTHONPATH": str(CHECKER_WHEEL)}, check=True,  # the wheel, zip-imported
        )  # fmt: skip
        for minor, names in json.loads(done.stdout).items():
            if set(names) != truth[int(minor)]:
                wrong[(runner, f"3.{minor}")] = sorted(set(names) ^ truth[int(minor)])
    assert not wrong, f"(checker's Python, target) -> names that differ: {wrong}"


def test_shadowing_uses_the_target_pythons_stdlib(make_app: MakeApp) -> None:
    """Checked on 3.11 for a 3.13 app: `_interpreters` shadows (added in 3.13), `telnetlib` does not (removed)."""
    from heroku_preflight import layout  # helpers put the template project on sys.path

    assert "_interpreters" in layout.stdlib_names(13) and "telnetlib" not in layout.stdlib_names(13)
    python = find_python("3.11")
    if python is None:
        not_verified(NotVerified("no Python 3.11 here to run the checker for a 3.13 app"))
    files = {".python-version": "3.13\n", "shop/_interpreters.py": "x = 1\n", "shop/telnetlib.py": "x = 1\n",
             "_interpreters.py": "x = 1\n", "telnetlib.py": "x = 1\n"}  # fmt: skip
    result = run_preflight(make_app(files), "--static", python=str(python))
    flagged = {f["file"] for f in result.of("HW801")}
    assert flagged == {"_interpreters.py"}, result
    old = run_preflight(make_app({**files, ".python-version": "3.12\n"}), "--static", python=str(python))
    assert {f["file"] for f in old.of("HW801")} == {"telnetlib.py"}, old


# --- deptry: DEP001, a module installed nowhere ------------------------------------------------------------


@pytest.mark.network
def test_import_of_a_package_installed_nowhere_is_hw101(make_app: MakeApp) -> None:
    """`tabulate` is neither in requirements.txt nor beside deptry: deptry's DEP001, not DEP003."""
    worker = "import six\nfrom shop import report\n\n\ndef main() -> None:\n    print(six, report)\n"
    app = make_app(
        {"shop/report.py": "import six\nimport tabulate\n\nprint(tabulate, six)\n", "shop/worker.py": worker}
    )
    result = run_preflight(app, "--steps", "deptry")
    (finding,) = result.of("HW101")
    assert ("tabulate" in finding["message"], finding["file"], finding["line"]) == (True, "shop/report.py", 2), result
    fixed = run_preflight(make_app({"requirements.txt": "six==1.17.0\n"}), "--steps", "deptry")
    assert fixed.of("HW101") == [], fixed


# --- Poetry: the lock format the build's Poetry reads --------------------------------------------------------

PYPROJECT = '[tool.poetry]\nname = "shop"\nversion = "0.1.0"\npackage-mode = false\n\n' \
            '[tool.poetry.dependencies]\npython = "^3.11"\nsix = "1.17.0"\n'  # fmt: skip


def _poetry_app(make_app: MakeApp, metadata: str) -> Path:
    import tomllib

    from heroku_preflight import lockfiles

    content_hash = lockfiles.poetry_content_hash(tomllib.loads(PYPROJECT))
    lock = f'[[package]]\nname = "six"\nversion = "1.17.0"\n\n[metadata]\n{metadata}content-hash = "{content_hash}"\n'
    return make_app({"requirements.txt": None, "pyproject.toml": PYPROJECT, "poetry.lock": lock})


@pytest.mark.parametrize(("metadata", "refused"), [
    ("", True),  # Poetry 1.0 wrote no lock-version: "The lock file is not compatible with the current version"
    ('lock-version = "0.9"\n', True),
    ('lock-version = "3.0"\n', True),
    ('lock-version = "1.1"\n', False),
    ('lock-version = "2.1"\n', False),
])  # fmt: skip
def test_poetry_lock_version_the_builds_poetry_reads(make_app: MakeApp, metadata: str, refused: bool) -> None:
    result = run_preflight(_poetry_app(make_app, metadata), "--static")
    assert ("HW710" in result.codes) == refused, result
    if refused:
        assert "not compatible" in result.of("HW710")[0]["message"], result


def test_poetry_lock_version_unit() -> None:
    from heroku_preflight import lockfiles

    assert lockfiles._poetry_lock_version({"metadata": {"lock-version": "2.1"}}) is None
    assert "lock-version" in str(lockfiles._poetry_lock_version({"metadata": {}}))


# --- An sdist the stack compiles (psycopg2 2.9.9): the build compiles it, so not an error --------------------


@pytest.mark.network
def test_sdist_only_package_is_not_an_error(make_app: MakeApp) -> None:
    result = run_preflight(make_app({"requirements.txt": "six==1.17.0\npsycopg2==2.9.9\n"}), "--steps", "platform",
                           "--python", "3.12")  # fmt: skip
    (finding,) = result.of("HW301")
    assert (finding["severity"], finding["policy"], result.exit_code) == ("warning", True, 0), result
    strict = run_preflight(make_app({"requirements.txt": "psycopg2==2.9.9\n"}), "--steps", "platform",
                           "--python", "3.12", "--strict")  # fmt: skip
    assert strict.exit_code == 1 and strict.of("HW301")[0]["severity"] == "error", strict


@pytest.mark.network
def test_sdist_needing_a_library_the_stack_lacks_is_an_error(make_app: MakeApp) -> None:
    """pysqlite3 0.5.4 (sdist only) needs sqlite3.h, which the build image lacks (the buildpack's own fixture)."""
    result = run_preflight(make_app({"requirements.txt": "pysqlite3==0.5.4\n"}), "--steps", "platform")
    (finding,) = result.of("HW304")
    assert "sqlite3.h" in finding["message"] and result.exit_code == 1, result


# --- Celery: the broker transport `celery worker` loads at start ----------------------------------------------

CELERY_APP = {
    "Procfile": "worker: celery -A shop.tasks worker --loglevel=info\n",
    "shop/__main__.py": None,
    "shop/worker.py": None,
    "shop/tasks.py": 'import os\n\nfrom celery import Celery\n\n'
                     'app = Celery("shop", broker=os.environ.get("REDIS_URL", "redis://localhost:6379/0"))\n\n\n'
                     '@app.task\ndef add(x: int, y: int) -> int:\n    return x + y\n',
}  # fmt: skip


@pytest.mark.network
def test_celery_transport_refusing_the_installed_redis_is_an_error(make_app: MakeApp) -> None:
    """kombu 5.7's Redis transport requires redis-py 6.1+: with redis 5.2.1 the worker crashes at start."""
    pins = "celery==5.7.0\nkombu==5.7.0\npackaging==25.0\nredis=={}\n"
    result = run_preflight(make_app({**CELERY_APP, "requirements.txt": pins.format("5.2.1")}), "--steps", "fresh-env")
    (finding,) = result.of("HW411")
    assert "redis-py" in finding["message"] and result.exit_code == 1, result
    fixed = run_preflight(make_app({**CELERY_APP, "requirements.txt": pins.format("6.2.0")}), "--steps", "fresh-env")
    assert fixed.exit_code == 0 and not fixed.of("HW411"), fixed
