"""Entry points verified down to the names (preflight/entrypoints.py, preflight/entry_probe.py, path_hacks.py).

Each app is a small folder written here; the probe runs in a real environment built with uv from PyPI (rq 2,
gunicorn, celery and a tiny distribution with console scripts), once per test session. No index: the tests
fail and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from heroku_preflight.entrypoints import Target, parse_command, verify_entrypoints
from heroku_preflight.findings import Finding
from heroku_preflight.path_hacks import path_hacks

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
ENV_REQUIREMENTS = ["rq>=2,<3", "gunicorn>=23", "celery>=5.4"]
TOOLS_PROJECT = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "entry-tools"\nversion = "1.0"\n\n'
        '[project.scripts]\ngood-tool = "entry_tools:main"\nbroken-tool = "entry_tools:mian"\n'
    ),
    "entry_tools.py": 'def main() -> None:\n    print("tool")\n',
}
Verify = Callable[..., list[Finding]]


def _run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=_uv_env())
    if result.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed (the package index must be reachable):\n{result.stderr}")


def _uv_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}, "UV_PYTHON_DOWNLOADS": "never"}


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        pytest.fail("uv is needed to build the test environment: install it next to the test interpreter")
    return found


def _fresh_env(root: Path, *requirements: str) -> Path:
    _run(_uv(), "venv", "--quiet", "--python", sys.executable, str(root))
    python = root / "bin" / "python"
    _run(_uv(), "pip", "install", "--quiet", "--python", str(python), *requirements)
    return python


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture(scope="session")
def env_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with rq 2, gunicorn, celery and `entry-tools` (console scripts good-tool, broken-tool)."""
    root = tmp_path_factory.mktemp("entry-env")
    tools = write(root / "entry-tools", TOOLS_PROJECT)
    return _fresh_env(root / "venv", *ENV_REQUIREMENTS, str(tools))


@pytest.fixture
def verify(env_python: Path, tmp_path: Path) -> Verify:
    """verify(files, "worker: python worker.py", ...) -> findings, for an app written from `files`."""

    def run(files: dict[str, str], *procfile: str, timeout: float = 60.0) -> list[Finding]:
        app = write(tmp_path / "app", files)
        app.mkdir(exist_ok=True)
        commands = [(line.split(":", 1)[0], line.split(":", 1)[1].strip()) for line in procfile]
        return verify_entrypoints(app, env_python, commands, timeout, pycache=tmp_path / "pycache")

    return run


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


# --- The baked project -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baked(cookies_session: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default project baked for this interpreter's Python, and a fresh env from its requirements.txt."""
    result = cookies_session.bake(extra_context={"verify_on_bake": False, "python_version": PY})
    assert result.exception is None, f"bake failed: {result.exception!r}"
    project = Path(result.project_path)
    env = tmp_path_factory.mktemp("baked-env") / "venv"
    return project, _fresh_env(env, "-r", str(project / "requirements.txt"))


def _procfile(project: Path) -> list[tuple[str, str]]:
    lines = (project / "Procfile").read_text().splitlines()
    return [(name, command.strip()) for name, _, command in (line.partition(":") for line in lines if line)]


def test_baked_project_entry_points_pass(baked: tuple[Path, Path], tmp_path: Path) -> None:
    project, python = baked
    assert next(c for _, c in _procfile(project)).startswith("python -m ")
    assert verify_entrypoints(project, python, _procfile(project), pycache=tmp_path) == []


def test_baked_project_renamed_main_is_named(baked: tuple[Path, Path], tmp_path: Path) -> None:
    """The issue's case: `main` renamed in cli.py; `python -m <pkg>` dies at __main__.py's `from .cli import main`."""
    project, python = baked
    broken = Path(shutil.copytree(project, tmp_path / project.name))
    package = next(p.parent.name for p in broken.glob("*/__main__.py"))
    cli = broken / package / "cli.py"
    cli.write_text(cli.read_text().replace("def main(", "def run_main("))
    findings = verify_entrypoints(broken, python, _procfile(broken), pycache=tmp_path / "pycache")
    (finding,) = findings  # worker and release run the same module: one finding names both
    main_lines = (broken / package / "__main__.py").read_text().splitlines()
    line = next(i for i, text in enumerate(main_lines, 1) if text.startswith("from .cli import main"))
    assert (finding.code, finding.severity, finding.file, finding.line) == (
        "HW410",
        "error",
        f"{package}/__main__.py",
        line,
    )
    for part in ("`main`", f"`{package}.cli`", "`worker`", "`run_main`", f"{package}/__main__.py:{line}"):
        assert part in finding.message, finding


def _run_checker(project: Path, *args: str, python: str = sys.executable) -> tuple[int, dict[str, Any]]:
    """`python -m preflight --json ARGS` from the project root, with the project's own copy of the checker."""
    from tests.preflight.helpers import checker_env

    proc = subprocess.run(
        [python, "-m", "heroku_preflight", "--json", *args],
        cwd=project,
        env=checker_env(PYTHONPATH=str(project)),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.stdout.startswith("{"), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _rename_main(project: Path, tmp_path: Path) -> tuple[Path, str]:
    broken = Path(shutil.copytree(project, tmp_path / project.name))
    package = next(p.parent.name for p in broken.glob("*/__main__.py"))
    cli = broken / package / "cli.py"
    cli.write_text(cli.read_text().replace("def main(", "def run_main("))
    return broken, package


@pytest.mark.network
def test_full_check_of_the_baked_project_names_a_renamed_main(baked: tuple[Path, Path], tmp_path: Path) -> None:
    """The issue's case through the CLI: the full check passes the bake, and fails it once `main` is renamed."""
    project, _ = baked
    clean_exit, clean = _run_checker(project)
    assert clean_exit == 0, clean
    broken, package = _rename_main(project, tmp_path)
    exit_code, report = _run_checker(broken)
    entry = [f for f in report["findings"] if f["code"] == "HW410"]
    assert exit_code == 1 and len(entry) == 1, report  # worker and release share it: reported once
    assert "`main`" in entry[0]["message"] and entry[0]["file"] == f"{package}/__main__.py", report
    assert not [f for f in report["findings"] if f["code"] in ("HW403", "HW411")], report


def test_build_check_runs_the_entry_points_in_the_running_interpreter(baked: tuple[Path, Path], tmp_path: Path) -> None:
    """`--build` (bin/post_compile, the Fir inline buildpack) checks entry points with the build's Python."""
    project, python = baked
    clean_exit, clean = _run_checker(project, "--build", python=str(python))
    assert clean_exit == 0, clean
    assert [s["name"] for s in clean["steps"]] == ["static", "in-place"], clean
    broken, _ = _rename_main(project, tmp_path)
    exit_code, report = _run_checker(broken, "--build", python=str(python))
    assert exit_code == 1 and [f["code"] for f in report["findings"]] == ["HW410"], report


# --- python worker.py, python -m pkg --------------------------------------------------------------------------


def test_rq2_connection_import_in_script(verify: Verify) -> None:
    """The most common worker crash: `from rq import Connection` (gone in rq 2) in a `python worker.py` app."""
    worker = "from redis import Redis\nfrom rq import Connection, Worker\n\nWorker(['default'], connection=Redis())\n"
    (finding,) = verify({"worker.py": worker}, "worker: python worker.py")
    assert (finding.code, finding.file, finding.line) == ("HW410", "worker.py", 2)
    assert "`Connection`" in finding.message and "`rq`" in finding.message and "`worker`" in finding.message


def test_guarded_main_passes_and_its_loop_never_runs(verify: Verify, tmp_path: Path) -> None:
    marker = tmp_path / "loop-started"
    files = {
        "pkg/__init__.py": "",
        "pkg/cli.py": f"def main() -> None:\n    open({str(marker)!r}, 'w').close()\n",
        "pkg/helpers.py": "X = 1\n",
        "pkg/__main__.py": (
            "from . import helpers\nfrom .cli import main\n\n"
            f"if __name__ == '__main__':\n    open({str(marker)!r}, 'w').close()\n    main()\n"
        ),
    }
    assert verify(files, "worker: python -m pkg") == []
    assert not marker.exists()
    assert not list((tmp_path / "app").rglob("__pycache__"))  # bytecode goes to the cache, not the slug


def test_unguarded_main_is_checked_without_running(verify: Verify, tmp_path: Path) -> None:
    marker = tmp_path / "loop-started"
    files = {
        "pkg/__init__.py": "",
        "pkg/worker.py": f"def main() -> None:\n    open({str(marker)!r}, 'w').close()\n",
        "pkg/__main__.py": f"from pkg.worker import main\n\nopen({str(marker)!r}, 'w').close()\nmain()\n",
    }
    assert verify(files, "worker: python -m pkg") == []
    assert not marker.exists()
    files["pkg/__main__.py"] = "from pkg.worker import start\n\nstart()\n"
    (finding,) = verify(files, "worker: python -m pkg")
    assert (finding.code, finding.file, finding.line) == ("HW410", "pkg/__main__.py", 1)
    assert "`start`" in finding.message and "`pkg.worker`" in finding.message


def test_names_inside_the_main_guard_of_the_entry_are_checked(verify: Verify) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/cli.py": "def main() -> None: ...\n",
        "pkg/__main__.py": "if __name__ == '__main__':\n    from .cli import mian\n    mian()\n",
    }
    (finding,) = verify(files, "worker: python -m pkg")
    assert (finding.code, finding.line) == ("HW410", 2)
    assert "did you mean `main`" in finding.message


def test_relative_import_of_a_submodule_in_main(verify: Verify) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/jobs.py": "def run() -> None: ...\n",
        "pkg/__main__.py": "from . import jobs\n\njobs.run()\n",
    }
    assert verify(files, "worker: python -m pkg") == []
    files["pkg/__main__.py"] = "from . import jobz\n\njobz.run()\n"
    assert codes(verify(files, "worker: python -m pkg")) == ["HW410"]


def test_name_missing_in_an_imported_app_module_points_at_that_module(verify: Verify) -> None:
    files = {
        "pkg/__init__.py": "",
        "pkg/queue.py": "class Queue: ...\n",
        "pkg/cli.py": "from .queue import Queue, Conection\n\ndef main() -> None: ...\n",
        "pkg/__main__.py": "from .cli import main\n\nmain()\n",
    }
    (finding,) = verify(files, "worker: python -m pkg")
    assert (finding.code, finding.file, finding.line) == ("HW410", "pkg/cli.py", 1)
    assert "imported from pkg/__main__.py:1" in finding.message


def test_missing_module_at_start_up_is_hw411(verify: Verify) -> None:
    (finding,) = verify({"worker.py": "import os\nimport requests\n"}, "worker: python worker.py")
    assert (finding.code, finding.file, finding.line) == ("HW411", "worker.py", 2)
    assert "No module named 'requests'" in finding.message
    assert "requirements.txt" in finding.fix


def test_module_error_at_import_carries_the_exception_line(verify: Verify) -> None:
    files = {"settings.py": "raise RuntimeError('boom: bad setting')\n", "worker.py": "import settings\n"}
    (finding,) = verify(files, "worker: python worker.py")
    assert (finding.code, finding.file, finding.line) == ("HW411", "settings.py", 1)
    assert "RuntimeError: boom: bad setting" in finding.message


def test_syntax_error_in_the_entry_file(verify: Verify) -> None:
    (finding,) = verify({"worker.py": "import os\ndef broken(:\n"}, "worker: python worker.py")
    assert (finding.code, finding.file, finding.line) == ("HW411", "worker.py", 2)


def test_python_m_targets_that_do_not_exist(verify: Verify) -> None:
    files = {"pkg/__init__.py": "", "other/__init__.py": ""}
    found = verify(files, "worker: python -m pkg", "web: python -m nosuchpkg", "x: python -m other.nothere")
    assert codes(found) == ["HW411", "HW411", "HW411"]
    assert "'pkg' is a package and cannot be directly executed" in found[0].message
    assert "nosuchpkg" in found[1].message and "other.nothere" in found[2].message


def test_script_in_a_subfolder_sees_its_folder_first(verify: Verify) -> None:
    """`python bin/run.py`: sys.path[0] is bin/, and PYTHONPATH holds the app root (as on a dyno)."""
    files = {"bin/run.py": "import helper\nimport pkg\n", "bin/helper.py": "", "pkg/__init__.py": ""}
    assert verify(files, "worker: python bin/run.py") == []


def test_cd_into_a_folder_moves_what_follows(verify: Verify) -> None:
    """`cd sub && python run.py` runs sub/run.py with sub first on sys.path, as the shell and a dyno do."""
    files = {"sub/run.py": "import helper\n", "sub/helper.py": "", "sub/pkg/__main__.py": "import helper\n"}
    assert verify(files, "worker: cd sub && python run.py", "other: cd /app/sub; python -m pkg") == []
    assert codes(verify(files, "worker: python run.py")) == ["HW411"]  # from the root there is no run.py
    (finding,) = verify(files, "worker: cd $SRC && python run.py")  # a folder known only on the dyno
    assert (finding.code, finding.severity) == ("HW414", "warning") and "NOT VERIFIED" in finding.message


def test_app_modules_named_like_the_probes_stdlib_modules(verify: Verify) -> None:
    """An app's root ast.py / json.py (a shadowing problem of its own) must not break the probe itself."""
    files = {"ast.py": "raise RuntimeError('app ast')\n", "json.py": "raise RuntimeError('app json')\n",
             "worker.py": "import os\n"}  # fmt: skip
    assert verify(files, "worker: python worker.py") == []


def test_python_c(verify: Verify) -> None:
    files = {"pkg/__init__.py": "", "pkg/cli.py": "def main() -> None: ...\n"}
    assert verify(files, 'worker: python -c "from pkg.cli import main; main()"') == []
    assert codes(verify(files, 'worker: python -c "from pkg.cli import mian; mian()"')) == ["HW410"]


# --- Working idioms pass ----------------------------------------------------------------------------------------


IDIOMS = {
    "except-ImportError": "try:\n    import ujson as json\nexcept ImportError:\n    import json\n",
    "except-ModuleNotFoundError": "try:\n    import ujson\nexcept ModuleNotFoundError:\n    ujson = None\n",
    "tuple-handler": "try:\n    from rq import Connection\nexcept (ImportError, AttributeError):\n    Connection = 0\n",
    "except-Exception-else": "try:\n    import ujson\nexcept Exception:\n    ujson = None\nelse:\n    import json\n",
    "TYPE_CHECKING": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import nosuchtypes\n",
    "typing.TYPE_CHECKING": "import typing\nif typing.TYPE_CHECKING:\n    from nosuch import X\nelse:\n    X = 0\n",
    "import-in-function": "def later() -> None:\n    import nosuchlazy\n",
    "import-in-method": "class Jobs:\n    def run(self) -> None:\n        from nosuch import x\n",
    "version-check": "import sys\nif sys.version_info >= (3, 99):\n    import nosuchfuture\nelse:\n    import json\n",
    "platform-check": "import sys\nif sys.platform == 'win32':\n    import winreg_missing\n",
    "main-guard-of-a-non-entry": "import helper\n",  # helper's main guard imports a missing module
}


@pytest.mark.parametrize("source", list(IDIOMS.values()), ids=list(IDIOMS))
def test_working_idioms_pass(verify: Verify, source: str) -> None:
    helper = "X = 1\n\nif __name__ == '__main__':\n    import nosuchtool\n"
    assert verify({"worker.py": source, "helper.py": helper}, "worker: python worker.py") == []


def test_fallback_that_also_fails_is_reported(verify: Verify) -> None:
    source = "try:\n    import ujson as json\nexcept ImportError:\n    import simplejson as json\n"
    (finding,) = verify({"worker.py": source}, "worker: python worker.py")
    assert (finding.code, finding.line) == ("HW411", 4)
    assert "simplejson" in finding.message


MANAGE_PY = """import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError("Couldn't import Django.") from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
"""


def test_functions_the_entry_calls_at_start_up_are_followed(verify: Verify) -> None:
    """manage.py: `main()` under the main guard runs the import; its handler re-raises, so the dyno dies."""
    (finding,) = verify({"manage.py": MANAGE_PY}, "release: python manage.py migrate")
    assert (finding.code, finding.file, finding.line) == ("HW411", "manage.py", 8)
    assert "No module named 'django'" in finding.message
    uncalled = MANAGE_PY.replace("    main()\n", "    pass\n")
    assert verify({"manage.py": uncalled}, "release: python manage.py migrate") == []


def test_handler_that_exits_is_still_a_crash(verify: Verify) -> None:
    source = "import sys\n\ntry:\n    import ujson\nexcept ImportError:\n    sys.exit('pip install ujson')\n"
    (finding,) = verify({"worker.py": source}, "worker: python worker.py")
    assert (finding.code, finding.line) == ("HW411", 4)


def test_handler_that_does_not_catch_the_error_is_reported(verify: Verify) -> None:
    """`except ModuleNotFoundError` does not catch a missing *name* (ImportError): the dyno dies."""
    source = "try:\n    from rq import Connection\nexcept ModuleNotFoundError:\n    Connection = None\n"
    assert codes(verify({"worker.py": source}, "worker: python worker.py")) == ["HW410"]


def test_undecidable_condition_is_not_verified_not_an_error(verify: Verify) -> None:
    source = "import os\n\nif os.environ.get('SENTRY_DSN'):\n    import sentry_sdk\n"
    (finding,) = verify({"worker.py": source}, "worker: python worker.py")
    assert (finding.code, finding.severity, finding.line) == ("HW414", "warning", 4)
    assert "NOT VERIFIED" in finding.message and "SENTRY_DSN" in finding.message


def test_config_var_read_at_import_is_not_verified(verify: Verify) -> None:
    files = {"config.py": "import os\n\nURL = os.environ['PREFLIGHT_TEST_UNSET_VAR']\n", "worker.py": "import config\n"}
    (finding,) = verify(files, "worker: python worker.py")
    assert (finding.code, finding.severity, finding.file) == ("HW414", "warning", "config.py")
    assert "PREFLIGHT_TEST_UNSET_VAR" in finding.message


def test_error_that_depends_on_the_dynos_services_is_not_verified(verify: Verify) -> None:
    """A connection made at import fails here (nothing listens on port 1) but may work on the dyno."""
    files = {"db.py": "import socket\n\nconn = socket.create_connection(('127.0.0.1', 1), timeout=5)\n",
             "worker.py": "import db\n"}  # fmt: skip
    (finding,) = verify(files, "worker: python worker.py")
    assert (finding.code, finding.severity, finding.file, finding.line) == ("HW414", "warning", "db.py", 3)
    assert "ConnectionRefusedError" in finding.message


def test_exit_hooks_registered_at_import_do_not_run(verify: Verify, tmp_path: Path) -> None:
    """The probe stops once its imports are checked (os._exit): no atexit hook of the app runs (and no thread
    started at import keeps the probe alive until its timeout)."""
    marker = tmp_path / "atexit-ran"
    beat = f"import atexit\n\natexit.register(lambda: open({str(marker)!r}, 'w').close())\n"
    assert verify({"beat.py": beat, "worker.py": "import beat\n"}, "worker: python worker.py") == []
    assert not marker.exists()


def test_import_that_never_finishes(verify: Verify) -> None:
    files = {"loop.py": "import time\n\nwhile True:\n    time.sleep(0.1)\n", "worker.py": "import loop\n"}
    (finding,) = verify(files, "worker: python worker.py", timeout=3.0)
    assert finding.code == "HW411" and "did not finish" in finding.message


def test_no_interpreter_or_app_folder_is_could_not_run(tmp_path: Path) -> None:
    (finding,) = verify_entrypoints(tmp_path, tmp_path / "no-venv" / "bin" / "python", [("worker", "python -m x")])
    assert (finding.code, finding.blocking) == ("HW419", True)
    (finding,) = verify_entrypoints(tmp_path / "no-app", Path(sys.executable), [("worker", "python -m x")])
    assert (finding.code, finding.blocking) == ("HW419", True)
    not_python = write(tmp_path / "bin", {"python": "not an executable\n"}) / "python"
    (finding,) = verify_entrypoints(tmp_path, not_python, [("worker", "python -m x")])
    assert (finding.code, finding.blocking) == ("HW419", True)


# --- module:attr and console scripts ---------------------------------------------------------------------------


def test_gunicorn_module_attr(verify: Verify) -> None:
    files = {"app.py": "def application(environ, start_response):\n    return []\n"}
    assert verify(files, "web: gunicorn app:application --bind 0.0.0.0:$PORT", "web2: gunicorn app") == []
    (finding,) = verify(files, "web: gunicorn --workers 2 app:applicaton")
    assert (finding.code, finding.file) == ("HW412", "app.py")
    assert "`applicaton`" in finding.message and "did you mean `application`" in finding.message
    assert codes(verify(files, "web: gunicorn app:app")) == ["HW412"]


def test_gunicorn_factory_and_chdir(verify: Verify) -> None:
    files = {"src/site_app.py": "def create_app():\n    return object()\n"}
    assert verify(files, "web: gunicorn --chdir src 'site_app:create_app()'") == []
    assert codes(verify(files, "web: gunicorn 'site_app:create_app()'")) == ["HW411"]  # not on sys.path


def test_celery_app(verify: Verify) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": "from celery import Celery\n\napp = Celery('proj')\n",
        "tasks.py": "from celery import Celery\n\nqueue = Celery('tasks')\n",
    }
    assert verify(files, "worker: celery -A proj worker -l info", "beat: celery --app=tasks:queue beat") == []
    (finding,) = verify(files, "worker: celery -A tasks:app worker")
    assert finding.code == "HW412" and "tasks" in finding.message


def test_rq_worker_class_and_console_script(verify: Verify) -> None:
    assert verify({}, "worker: rq worker --url $REDIS_URL -w rq.worker.SimpleWorker high low") == []
    (finding,) = verify({}, "worker: rq worker -w rq.worker.SimpleWorkr")
    assert finding.code == "HW412" and "did you mean `SimpleWorker`" in finding.message


def test_console_scripts_resolved_from_metadata(verify: Verify) -> None:
    assert verify({}, "worker: good-tool --flag") == []
    (broken,) = verify({}, "worker: broken-tool")
    assert broken.code == "HW412" and "mian" in broken.message and "entry_tools" in broken.message
    (missing,) = verify({}, "worker: nosuch-tool run")
    assert (missing.code, missing.file) == ("HW413", "Procfile")
    assert "nosuch-tool" in missing.message and "`worker`" in missing.message


def test_non_python_commands_are_not_verified(verify: Verify) -> None:
    (finding,) = verify({"bin/start": "#!/bin/sh\n"}, "web: bin/start")
    assert (finding.code, finding.severity) == ("HW414", "warning")


def test_script_with_a_python_shebang_is_checked(verify: Verify) -> None:
    files = {"bin/worker": "#!/usr/bin/env python3\nfrom rq import Connection\n"}
    (finding,) = verify(files, "worker: bin/worker")
    assert (finding.code, finding.file, finding.line) == ("HW410", "bin/worker", 2)


# --- Parsing commands (pure) -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python -m pkg", [("module", "pkg")]),
        ("python3.12 -u -X dev -m pkg.worker --once", [("module", "pkg.worker")]),
        ("python -mpkg", [("module", "pkg")]),
        ("python worker.py --queue high", [("script", "worker.py")]),
        ("exec env FOO=1 python bin/run.py", [("script", "bin/run.py")]),
        ("env -u DEBUG -i PATH=/bin python -m pkg", [("module", "pkg")]),
        ("python -c 'import pkg'", [("code", "import pkg")]),
        ("gunicorn config.wsgi --log-file -", [("console", "gunicorn"), ("attr", "config.wsgi")]),
        (
            "gunicorn -w 4 -b 0.0.0.0:$PORT -k uvicorn.workers.UvicornWorker main:app",
            [("console", "gunicorn"), ("attr", "main:app")],
        ),
        ("uvicorn main:app --host 0.0.0.0 --port $PORT", [("console", "uvicorn"), ("attr", "main:app")]),
        ("hypercorn main:app --bind 0.0.0.0:$PORT", [("console", "hypercorn"), ("attr", "main:app")]),
        (
            "daphne -b 0.0.0.0 -p $PORT proj.asgi:application",
            [("console", "daphne"), ("attr", "proj.asgi:application")],
        ),
        ("waitress-serve --port=$PORT app:wsgi", [("console", "waitress-serve"), ("attr", "app:wsgi")]),
        ("celery -A proj worker -l info -c 2", [("console", "celery"), ("celery", "proj")]),
        ("celery worker --app=proj.celery:app", [("console", "celery"), ("celery", "proj.celery:app")]),
        ("python -m celery -A proj worker", [("module", "celery"), ("celery", "proj")]),
        ("rq worker -c settings high", [("console", "rq"), ("attr", "settings")]),
        ("dramatiq tasks -p 2 -Q default", [("console", "dramatiq"), ("attr", "tasks")]),
        ("huey_consumer main.huey -w 4", [("console", "huey_consumer"), ("dotted", "main.huey")]),
        ("arq app.WorkerSettings", [("console", "arq"), ("dotted", "app.WorkerSettings")]),
        (
            "newrelic-admin run-program gunicorn app:app",
            [("console", "newrelic-admin"), ("console", "gunicorn"), ("attr", "app:app")],
        ),
        ("ddtrace-run python -m pkg", [("console", "ddtrace-run"), ("module", "pkg")]),
        ("cd src && python -m pkg", [("module", "pkg")]),
        ("cd sub && python run.py", [("script", "sub/run.py")]),
        ("cd /app/sub; bin/start", [("unverified", "sub/bin/start")]),
        ("cd sub && cd .. && python x.py", [("script", "x.py")]),
        ("cd $SRC_DIR && python -m pkg", [("unverified", "cd $SRC_DIR")]),
        ("cd .. && python x.py", [("unverified", "cd ..")]),
        ("bash -c 'python -m pkg migrate && python -m pkg'", [("module", "pkg")]),
        (
            "bin/start-nginx gunicorn app:app",
            [("unverified", "bin/start-nginx"), ("console", "gunicorn"), ("attr", "app:app")],
        ),
        ("bin/start", [("unverified", "bin/start")]),
        ("./manage.py migrate --no-input", [("script", "./manage.py")]),
        ("python 'unbalanced", []),
    ],
)
def test_parse_command(command: str, expected: list[tuple[str, str]]) -> None:
    assert [(t.kind, t.value) for t in parse_command(command)] == expected


def test_parse_command_options_that_move_the_app() -> None:
    assert parse_command("gunicorn --chdir src --pythonpath lib,vendor app:app")[1] == Target(
        "attr", "app:app", "application", ("src", "lib", "vendor")
    )
    assert parse_command("uvicorn --app-dir src main:app")[1] == Target("attr", "main:app", "", ("src",))
    assert parse_command("cd src && python -m pkg") == [Target("module", "pkg", None, ("src",))]
    assert parse_command("cd ~/web && gunicorn --chdir site app:app")[1] == Target(
        "attr", "app:app", "application", ("web/site", "web")
    )


# --- sys.path hacks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("from sys import path\npath.insert(0, 'lib')\n", [2]),
        ("import sys as s\ns.path.insert(0, 'lib')\n", [2]),
        ("from sys import path as p\np.append('lib')\n", [2]),
        ("import sys\nsys.path.append('lib')\nsys.path += ['x']\nsys.path[:0] = ['y']\n", [2, 3, 4]),
        ("import sys\nsys.path = ['lib']\n", [2]),
        ("import sys\np = sys.path\np.extend(['lib'])\n", [3]),
        ("import site\nsite.addsitedir('lib')\n", [2]),
        ("from site import addsitedir as add\nadd('lib')\n", [2]),
        ("__import__('sys').path.insert(0, 'lib')\n", [1]),
        ("def setup():\n    import sys\n    sys.path.insert(0, 'lib')\n", [3]),
    ],
)
def test_path_hacks_found(source: str, lines: list[int]) -> None:
    assert path_hacks(source) == lines


@pytest.mark.parametrize(
    "source",
    [
        "import os\nos.path.join('a', 'b')\n",
        "from os import path\npath.join('a')\n",
        "import os.path as path\npath.exists('x')\n",
        "import sys\nprint(sys.path)\nfound = list(sys.path)\nfound.append('x')\n",
        "paths = []\npaths.insert(0, 'x')\n",
        "def broken(:\n",
    ],
)
def test_path_hacks_not_found(source: str) -> None:
    assert path_hacks(source) == []


def test_a_call_at_start_up_that_its_signature_refuses_is_hw411(verify: Verify) -> None:
    """Issue 19's held-out corpus: `client = discord.Client()` at module level of `python bot.py` crashes with
    discord.py 2 (`missing 1 required keyword-only argument: 'intents'`). The entry file is never run, so
    the call is bound against the callable's signature. Here with the stdlib's `string.Template()`, which
    raises the same way: `python bot.py` exits with that TypeError."""
    bot = "import string\nfrom string import Template as T\n\nok = string.Template('$x')\nbad = T()\n"
    (finding,) = verify({"bot.py": bot}, "bot: python bot.py")
    assert (finding.code, finding.file, finding.line) == ("HW411", "bot.py", 5), finding
    assert "TypeError" in finding.message and "template" in finding.message, finding


def test_calls_that_do_not_run_at_start_up_or_cannot_be_judged_are_left_alone(verify: Verify) -> None:
    """A lambda's or a function's body, a splat, a name the file rebinds, a call the signature accepts."""
    bot = (
        "import string\nimport os\n\nlater = lambda: string.Template()\n\n\ndef unused():\n"
        "    return string.Template()\n\n\nargs = ()\nsplat = string.Template(*args, **{'template': 'x'})\n"
        "Template = string.Template\nTemplate = dict\nfine = Template()\nhome = os.environ.get('HOME', '/')\n"
    )
    assert verify({"bot.py": bot}, "bot: python bot.py") == []
