"""Full and build runs: fresh environment, deptry, platform resolve, in-place imports, exit 2.

These need the package index (PyPI) and the uv and deptry installed next to the test interpreter.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.preflight.helpers import CHECKER_WHEEL, PY, Result, checker_env, run_preflight
from tests.pythons import find_python, not_verified

pytestmark = pytest.mark.network
MakeApp = Callable[..., Path]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module", autouse=True)
def _tools_present() -> None:
    """Missing tools are a broken test setup, not a reason to skip (the checker would exit 2)."""
    for tool in ("uv", "deptry"):
        assert shutil.which(tool, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"), f"install {tool}"


def test_good_app_full_run_is_clean(make_app: MakeApp) -> None:
    result = run_preflight(make_app())
    assert result.exit_code == 0, result
    assert result.data is not None, result
    assert [s["name"] for s in result.data["steps"]] == ["static", "fresh-env", "deptry", "platform", "hooks"]
    assert all(s["status"] == "ok" for s in result.data["steps"]), result


def test_lazy_import_inside_function(make_app: MakeApp) -> None:
    worker = "import six\n\n\ndef main() -> None:\n    import requests\n\n    print(six, requests)\n"
    result = run_preflight(make_app({"shop/worker.py": worker}), "--steps", "deptry", "--strict")
    (finding,) = result.of("HW101")
    assert (finding["file"], finding["line"], "requests" in finding["message"]) == ("shop/worker.py", 5, True)
    assert result.exit_code == 1
    # The dyno never runs that import at start-up: Heroku's verdict is a pass, so it is a house rule (policy).
    lenient = run_preflight(make_app({"shop/worker.py": worker}), "--steps", "deptry")
    assert lenient.exit_code == 0 and lenient.of("HW101")[0]["policy"], lenient
    fixed = run_preflight(make_app({"shop/worker.py": worker, "requirements.txt": REQUESTS}), "--steps", "deptry")
    assert fixed.exit_code == 0, fixed


REQUESTS = "six==1.17.0\nrequests==2.32.3\ncertifi==2024.8.30\ncharset-normalizer==3.4.0\nidna==3.10\nurllib3==2.2.3\n"


def test_type_checking_import_is_not_required(make_app: MakeApp) -> None:
    worker = (
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import requests\n\nimport six\n\n\n"
        "def main() -> None:\n    pass\n"
    )
    assert run_preflight(make_app({"shop/worker.py": worker})).exit_code == 0


def test_importlib_literal_is_required(make_app: MakeApp) -> None:
    worker = "import importlib\n\n\ndef main():\n    return importlib.import_module('requests')\n"
    result = run_preflight(make_app({"shop/worker.py": worker}), "--steps", "deptry")
    assert "HW101" in result.codes, result


def test_yaml_present_only_in_checker_env_is_still_missing(make_app: MakeApp) -> None:
    """The trap: deptry runs where PyYAML is installed; the app's requirements do not have it."""
    deptry_python = BIN / "python"  # deptry runs on the interpreter of the venv it is installed in
    probe = subprocess.run([str(deptry_python), "-c", "import yaml"], capture_output=True, check=False)
    assert probe.returncode == 0, "the test needs PyYAML in the checker's environment (cookiecutter brings it)"
    app = make_app({"shop/worker.py": "import yaml\nimport six\n"})
    result = run_preflight(app)
    assert any("yaml" in f["message"] for f in result.of("HW101")), result
    assert "HW403" in result.codes  # and the fresh env proves it: No module named 'yaml'
    fixed = run_preflight(make_app({"shop/worker.py": "import yaml\nimport six\n\n\ndef main() -> None:\n    pass\n",
                                    "requirements.txt": "six==1.17.0\nPyYAML==6.0.2\n"}))  # fmt: skip
    assert fixed.exit_code == 0, fixed


def test_import_names_map_to_distributions_from_metadata(make_app: MakeApp) -> None:
    """yaml -> PyYAML, psycopg2 -> psycopg2-binary, dateutil -> python-dateutil: no table, real metadata."""
    requirements = "six==1.17.0\nPyYAML==6.0.2\npython-dateutil==2.9.0.post0\npsycopg2-binary==2.9.10\n"
    worker = "import dateutil.parser\nimport psycopg2\nimport six\nimport yaml\n\n\ndef main() -> None:\n    pass\n"
    app = make_app({"shop/worker.py": worker, "requirements.txt": requirements})
    result = run_preflight(app)
    assert result.exit_code == 0, result


def test_transitive_only_dependency(make_app: MakeApp) -> None:
    """six is pinned (python-dateutil needs it) but requirements.in does not list it: HW102."""
    files = {
        "requirements.in": "python-dateutil>=2.9\n",
        "requirements.txt": "python-dateutil==2.9.0.post0\nsix==1.17.0\n",
        "shop/worker.py": "import dateutil\nimport six\n",
    }
    result = run_preflight(make_app(files), "--steps", "deptry")
    (finding,) = result.of("HW102")
    assert "six" in finding["message"] and finding["file"] == "shop/worker.py", result
    fixed = run_preflight(make_app({**files, "requirements.in": "python-dateutil>=2.9\nsix>=1.16\n"}),
                          "--steps", "deptry")  # fmt: skip
    assert fixed.exit_code == 0, fixed


def test_no_wheel_for_heroku_platform(make_app: MakeApp) -> None:
    """pandas 1.3.0 has no wheel for CPython 3.12+ on Linux: Heroku would compile it (and fail)."""
    app = make_app({"requirements.txt": "six==1.17.0\npandas==1.3.0\n"})
    result = run_preflight(app, "--steps", "platform", "--python", "3.12")
    (finding,) = result.of("HW301")
    assert (finding["line"], "pandas==1.3.0" in finding["message"]) == (2, True), result
    fixed = run_preflight(make_app({"requirements.txt": "six==1.17.0\n"}), "--steps", "platform", "--python", "3.12")
    assert fixed.exit_code == 0, fixed


def test_conflicting_pins_do_not_resolve(make_app: MakeApp) -> None:
    app = make_app({"requirements.txt": "requests==2.32.3\nidna==2.0\n"})
    result = run_preflight(app, "--steps", "platform")
    assert "HW302" in result.codes and "idna" in result.of("HW302")[0]["message"], result


def test_platform_resolve_for_a_python_not_installed_here(make_app: MakeApp) -> None:
    """uv resolves for 3.14 without a 3.14 interpreter."""
    result = run_preflight(make_app({".python-version": "3.14\n"}), "--steps", "platform")
    assert result.exit_code == 0, result


def test_module_that_fails_to_import(make_app: MakeApp) -> None:
    worker = "import six\n\n\ndef main() -> None:\n    from shop import store\n\n    print(six.PY3, store)\n"
    app = make_app({"shop/store.py": "import six\n\nVALUE = six.moves.nope_nothing\n", "shop/worker.py": worker})
    result = run_preflight(app, "--steps", "fresh-env")
    (finding,) = result.of("HW403")
    assert finding["file"] == "shop/store.py" and finding["line"] == 3, result
    assert "AttributeError" in finding["message"]


DEAD = "import not_installed_anywhere\n\n\ndef unused() -> None:\n    pass\n"


def test_a_module_no_process_imports_is_a_warning_naming_it(make_app: MakeApp) -> None:
    """Dead code that cannot import fails nowhere on the dyno: HW404 names it; the worker still starts."""
    result = run_preflight(make_app({"shop/dead.py": DEAD}), "--steps", "fresh-env")
    assert result.exit_code == 0 and not result.of("HW403"), result
    (finding,) = result.of("HW404")
    assert finding["file"] == "shop/dead.py" and "shop.dead" in finding["message"], result


def test_a_module_a_process_may_import_later_stays_an_error(make_app: MakeApp) -> None:
    """Imported inside a function of the worker: the process may call it, so the closure counts it."""
    lazy = "import six\n\n\ndef main() -> None:\n    from shop import dead\n\n    print(six.PY3, dead)\n"
    result = run_preflight(make_app({"shop/dead.py": DEAD, "shop/worker.py": lazy}), "--steps", "fresh-env")
    assert result.exit_code == 1 and result.of("HW403") and not result.of("HW404"), result


CONFIG_CRASH = (
    "import os\n\nimport six\n\nKEY = os.getenv('HW_TEST_ENCRYPTION_KEY')\nif not KEY:\n"
    "    raise ValueError('No encryption key configured')\n\n\ndef main() -> None:\n    print(six.PY3)\n"
)


def test_a_crash_only_a_config_var_causes_is_hw414_naming_it(make_app: MakeApp) -> None:
    """Raised at import after reading an unset config var: the dyno has the var, so a warning names it."""
    app = make_app({"shop/worker.py": CONFIG_CRASH})
    result = run_preflight(app, "--steps", "fresh-env")
    assert result.exit_code == 0 and not result.of("HW403") and not result.of("HW411"), result
    assert result.of("HW414") and all("HW_TEST_ENCRYPTION_KEY" in f["message"] for f in result.of("HW414")), result
    configured = run_preflight(app, "--steps", "fresh-env", env=checker_env(HW_TEST_ENCRYPTION_KEY="k"))
    assert configured.exit_code == 0 and not configured.codes, configured


def test_a_missing_module_beside_a_config_var_read_stays_an_error(make_app: MakeApp) -> None:
    source = CONFIG_CRASH.replace("import six\n", "import six\nimport not_installed_anywhere\n")
    result = run_preflight(make_app({"shop/worker.py": source}), "--steps", "fresh-env")
    assert result.exit_code == 1 and "not_installed_anywhere" in str(result.findings), result
    assert not result.of("HW414"), result


def test_procfile_target_fails_in_fresh_env(make_app: MakeApp) -> None:
    """The entry point imports something only the developer's machine has."""
    main = "import six\nimport yaml\n\nprint(six, yaml)\n"
    result = run_preflight(make_app({"shop/__main__.py": main}), "--steps", "fresh-env")
    (finding,) = result.findings  # reported once (HW403), not again by the entry-point check (HW411)
    assert (finding["code"], finding["file"], finding["line"]) == ("HW403", "shop/__main__.py", 2), result
    assert "No module named 'yaml'" in finding["message"], result


def test_entry_point_is_not_run(make_app: MakeApp, tmp_path: Path) -> None:
    """Importing `__main__` would start the worker; the checker imports what it imports instead."""
    marker = tmp_path / "started"
    main = f"import pathlib\n\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    result = run_preflight(make_app({"shop/__main__.py": main}), "--steps", "fresh-env")
    assert result.exit_code == 0, result
    assert not marker.exists()


def test_import_timeout(make_app: MakeApp) -> None:
    app = make_app({"shop/slow.py": "import time\n\ntime.sleep(60)\n"})
    result = run_preflight(app, "--build", env=checker_env(PREFLIGHT_IMPORT_TIMEOUT="3"))
    (finding,) = result.of("HW405")
    assert "shop.slow" in finding["message"], result


def test_console_script_process(make_app: MakeApp) -> None:
    """`worker: rq worker` resolves to rq's entry point in the fresh env; a missing command does not."""
    result = run_preflight(make_app({"Procfile": "worker: nosuchcommand --flag\n"}), "--steps", "fresh-env")
    (finding,) = result.of("HW413")
    assert "nosuchcommand" in finding["message"] and result.exit_code == 1, result
    ok = run_preflight(make_app({"Procfile": "worker: python -m shop\nclock: sh -c 'echo tick'\n"}),
                       "--steps", "fresh-env")  # fmt: skip
    assert ok.exit_code == 0, ok


def test_shadowing_installed_dependency_module(make_app: MakeApp) -> None:
    """`dateutil.py` in the app hides python-dateutil's module: found from installed metadata, not names."""
    app = make_app({"requirements.txt": "python-dateutil==2.9.0.post0\nsix==1.17.0\n", "dateutil.py": "x = 1\n"})
    result = run_preflight(app, "--steps", "fresh-env")
    assert "HW802" in result.codes, result


def test_build_mode_imports_in_current_interpreter(make_app: MakeApp, tmp_path: Path) -> None:
    """bin/post_compile runs `--build` in the environment Heroku just built: emulate it with a uv env."""
    venv = tmp_path / "slug-venv"
    uv = shutil.which("uv", path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    assert uv, "install uv"  # _tools_present checked it already
    env = checker_env()
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "six==1.17.0"],
                   check=True, env=env)  # fmt: skip
    app = make_app()
    # the checker is installed in the app's environment from its pinned wheel, as the build installs it
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(CHECKER_WHEEL)],
                   check=True, env=env)  # fmt: skip
    clean = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    ok = run_preflight(app, "--build", python=str(venv / "bin" / "python"), env=clean, cwd=app)
    assert ok.exit_code == 0, ok
    assert ok.data is not None, ok
    assert [s["name"] for s in ok.data["steps"]] == ["static", "in-place"]
    (app / "shop" / "worker.py").write_text("import requests\nimport six\n\n\ndef main() -> None:\n    pass\n")
    broken = run_preflight(app, "--build", python=str(venv / "bin" / "python"), env=clean, cwd=app)
    assert "HW403" in broken.codes and broken.exit_code == 1, broken


def test_pip_check_conflict(tmp_path: Path) -> None:
    """An environment whose installed set conflicts (installed with --no-deps) fails pip check: HW402."""
    from heroku_preflight import fresh_env, requirements_file

    venv = tmp_path / "v"
    uv = shutil.which("uv", path=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    assert uv, "install uv"  # _tools_present checked it already
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=checker_env())
    subprocess.run([uv, "pip", "install", "-q", "--no-deps", "--python", str(venv / "bin" / "python"),
                    "python-dateutil==2.9.0.post0"], check=True, env=checker_env())  # fmt: skip
    (tmp_path / "requirements.txt").write_text("python-dateutil==2.9.0.post0\n")
    reqs = requirements_file.parse(tmp_path)
    findings = fresh_env.pip_check(str(venv / "bin" / "python"), uv, reqs)
    assert findings and findings[0].code == "HW402" and "six" in findings[0].message


def test_target_python_missing_exits_2(make_app: MakeApp) -> None:
    """Never pretend: if the app's Python is not on this machine, say so and what to run."""
    missing = next(v for v in ("3.14", "3.10", "3.11") if v != PY and not shutil.which(f"python{v}"))
    result = run_preflight(make_app({".python-version": f"{missing}\n"}), "--steps", "fresh-env")
    assert result.exit_code == 2, result
    (finding,) = result.of("HW499")
    assert f"uv python install {missing}" in finding["fix"]


def test_definite_errors_win_over_a_step_that_could_not_run(make_app: MakeApp) -> None:
    """Two package managers (the build fails) and no interpreter for the app's Python: exit 1, both said."""
    missing = next(v for v in ("3.14", "3.10", "3.11") if v != PY and not shutil.which(f"python{v}"))
    app = make_app({".python-version": f"{missing}\n", "Pipfile": "[packages]\n", "Pipfile.lock": "{}\n"})
    result = run_preflight(app, "--steps", "static,fresh-env")
    assert result.exit_code == 1 and "HW701" in result.codes and result.of("HW499"), result


def test_index_unreachable_exits_2(make_app: MakeApp) -> None:
    env = checker_env(UV_INDEX_URL="http://127.0.0.1:9/simple", UV_NO_CACHE="1", UV_HTTP_RETRIES="0",
                      UV_OFFLINE="0")  # fmt: skip
    env.pop("UV_EXTRA_INDEX_URL", None)
    result = run_preflight(make_app({"requirements.txt": "six==1.17.0\n"}), "--steps", "platform", env=env)
    assert result.data is not None, result
    assert result.exit_code == 2 and result.data["ok"] is False, result
    assert "HW399" in result.codes and "unreachable" in result.of("HW399")[0]["message"]


def test_missing_tools_exit_2(make_app: MakeApp, tmp_path: Path) -> None:
    """Without deptry/uv the full run says what to install; it never reports clean."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    env = checker_env(PATH="/usr/bin:/bin", PYTHONPATH=str(CHECKER_WHEEL))  # the checker alone, from its wheel
    result = run_preflight(make_app(), "--steps", "deptry,platform", python=str(bare / "bin" / "python"), env=env)
    assert result.exit_code == 2, result
    assert {"HW199", "HW399"} <= result.codes
    assert "deptry" in result.of("HW199")[0]["fix"]


def test_venv_backend_pip(make_app: MakeApp) -> None:
    result = run_preflight(make_app(), "--steps", "fresh-env", "--venv-backend", "venv")
    assert result.exit_code == 0, result
    assert result.data is not None, result
    assert result.data["steps"][0]["status"] == "ok"


def test_outside_app_heroku_getting_started_style(tmp_path: Path) -> None:
    """An app not made by the template: root modules, runtime.txt, a `python worker.py` process."""
    app = tmp_path / "legacy-app"
    files = {
        "runtime.txt": f"python-{PY}\n",
        "Procfile": "worker: python worker.py\n",
        "requirements.txt": "python-dateutil==2.9.0.post0\nsix==1.17.0\n",
        "worker.py": "from tasks import handle\n\nif __name__ == '__main__':\n    handle()\n",
        "tasks.py": "from dateutil import parser\n\n\ndef handle():\n    return parser.parse('2024-01-01')\n",
        "README.md": "legacy\n",
    }
    for rel, text in files.items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    result = run_preflight(app)
    assert result.exit_code == 0, result
    assert result.codes == {"HW605"}  # runtime.txt works but is deprecated
    (app / "tasks.py").write_text("import requests\nfrom dateutil import parser\n")
    broken = run_preflight(app)
    assert broken.exit_code == 1 and {"HW101", "HW411"} <= broken.codes, broken


@pytest.mark.parametrize("version", [f"3.{m}" for m in range(10, 15)])
def test_checker_core_runs_on_every_python_here(make_app: MakeApp, version: str) -> None:
    """The core is stdlib only and must work on 3.10-3.14 (on Heroku it runs on the app's Python)."""
    python = find_python(version)  # pyenv's real binaries, uv's, PATH's or the system's; never a dead shim
    if python is None:
        not_verified(f"no Python {version} interpreter here", version)
    result = run_preflight(make_app({".python-version": "3.10\n"}), "--static", python=python)
    assert result.exit_code == 0 and result.codes == {"HW606"}, result


def test_uv_lock_with_optional_dependencies_is_in_sync(make_app: MakeApp, tmp_path: Path) -> None:
    """uv.lock lists the extras' requirements too (`uv sync --locked` passes): not HW708 "out of date"."""
    pyproject = (
        '[project]\nname = "shop"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["six==1.17.0"]\n'
        '\n[project.optional-dependencies]\nidna = ["idna==3.10"]\n'
    )
    app = make_app({"requirements.txt": None, "pyproject.toml": pyproject})
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    subprocess.run([uv, "lock", "--quiet", "--python", sys.executable], cwd=app, check=True,
                   env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})  # fmt: skip
    assert "extra == 'idna'" in (app / "uv.lock").read_text()  # the extra is in the lock, as uv writes it
    result = run_preflight(app, "--static")
    assert "HW708" not in result.codes, result
    (app / "pyproject.toml").write_text(pyproject.replace('idna = ["idna==3.10"]', 'idna = ["idna==3.10", "certifi"]'))
    stale = run_preflight(app, "--static")
    assert "HW708" in stale.codes and "certifi added" in stale.of("HW708")[0]["message"], stale


def test_transitive_only_from_lock_annotations(make_app: MakeApp) -> None:
    """No requirements.in (a pip-compile/uv lock only): the `# via` notes tell direct from transitive."""
    lock = "python-dateutil==2.9.0.post0\n    # via -r requirements.in\nsix==1.17.0\n    # via python-dateutil\n"
    files = {"requirements.txt": lock, "shop/worker.py": "import dateutil\nimport six\n"}
    result = run_preflight(make_app(files), "--steps", "deptry")
    (finding,) = result.of("HW102")
    assert "six" in finding["message"], result
    fixed_lock = lock.replace(
        "    # via python-dateutil\n", "    # via\n    #   -r requirements.in\n    #   python-dateutil\n"
    )
    fixed = run_preflight(make_app({**files, "requirements.txt": fixed_lock}), "--steps", "deptry")
    assert fixed.exit_code == 0, fixed


def test_pure_python_sdist_can_be_allowed(make_app: MakeApp) -> None:
    """docopt 0.6.2 ships only an sdist: an error unless marked as a pure-Python sdist that builds."""
    result = run_preflight(make_app({"requirements.txt": "docopt==0.6.2\n"}), "--steps", "platform")
    assert "HW301" in result.codes, result
    marked = "docopt==0.6.2  # preflight: sdist-ok\n"
    allowed = run_preflight(make_app({"requirements.txt": marked}), "--steps", "platform")
    assert allowed.exit_code == 0, allowed


def test_requirement_that_does_not_install(make_app: MakeApp) -> None:
    """A pin that does not exist on the index: Heroku's `pip install` fails; HW401 names the line."""
    result = run_preflight(make_app({"requirements.txt": "six==1.17.0\nsix-does-not-exist-zz==1.0\n"}),
                           "--steps", "fresh-env")  # fmt: skip
    (finding,) = result.of("HW401")
    assert finding["line"] == 2 and result.exit_code == 1, result


def test_lock_apps_get_a_fresh_env_from_their_pins(make_app: MakeApp) -> None:
    """uv.lock / Pipfile.lock / poetry.lock apps: the fresh env installs the lock's pins (default/main only)."""
    lock = (  # the project depends on six, as uv writes it: `uv sync --locked` installs the project's dependencies
        'version = 1\nrequires-python = ">=3.10"\n\n[[package]]\nname = "shop"\nversion = "0.1.0"\n'
        'source = { virtual = "." }\ndependencies = [{ name = "six" }]\n\n[[package]]\nname = "six"\n'
        'version = "1.17.0"\nsource = { registry = "https://pypi.org/simple" }\n'
    )
    app = make_app({"requirements.txt": None, "uv.lock": lock})
    result = run_preflight(app, "--steps", "fresh-env")
    assert result.data is not None, result
    assert result.exit_code == 0 and result.data["steps"][0]["status"] == "ok", result
    idna_only = lock.replace('"six"', '"idna"').replace("1.17.0", "3.10")
    broken = run_preflight(make_app({"requirements.txt": None, "uv.lock": idna_only}), "--steps", "fresh-env")
    assert broken.exit_code == 1 and "six" in broken.of("HW403")[0]["message"], broken  # six is not locked
    unreadable = run_preflight(make_app({"requirements.txt": None, "uv.lock": "version = [\n"}), "--steps", "fresh-env")
    assert unreadable.exit_code == 2 and "HW499" in unreadable.codes, unreadable


def test_project_table_does_not_hide_requirements_txt(make_app: MakeApp) -> None:
    """deptry reads [project] instead of requirements.txt when it sees one; Heroku installs requirements.txt."""
    pyproject = '[project]\nname = "shop"\nversion = "1"\ndependencies = ["requests"]\n'
    app = make_app({"pyproject.toml": pyproject, "shop/worker.py": "import requests\nimport six\n"})
    result = run_preflight(app, "--steps", "deptry")
    assert any("requests" in f["message"] for f in result.of("HW101")), result


def test_tooling_is_excluded_but_look_alike_app_files_are_not(make_app: MakeApp) -> None:
    """deptry matches excludes as prefixes: `bin/` tooling is skipped, a root `binder.py` is still app code."""
    files = {
        "bin/release_notes.py": "import jinja2\n",
        "tests/test_worker.py": "import pytest\n",
        "noxfile.py": "import nox\n",
        "binder.py": "def bind():\n    import attr\n",
    }
    result = run_preflight(make_app(files), "--steps", "deptry")
    assert [f["file"] for f in result.of("HW101")] == ["binder.py"], result


def test_module_that_kills_the_interpreter_is_reported(make_app: MakeApp) -> None:
    """A module calling os._exit at import ends the probe; the checker names it instead of passing."""
    worker = "from shop import boom\n\n\ndef main() -> None:\n    print(boom)\n"  # a process imports it
    app = make_app({"shop/boom.py": "import os\n\nos._exit(3)\n", "shop/worker.py": worker})
    result = run_preflight(app, "--steps", "fresh-env")
    assert any("shop.boom" in f["message"] for f in result.of("HW403")), result


DJANGO_APP = {
    ".python-version": f"{PY}\n",
    "Procfile": "web: gunicorn mysite.wsgi --log-file -\nrelease: python manage.py migrate --noinput\n",
    "requirements.txt": "asgiref==3.8.1\ndjango==5.1.4\ngunicorn==23.0.0\npackaging==24.2\nsqlparse==0.5.3\n",
    "manage.py": (
        "import os\nimport sys\n\n\ndef main():\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
        "    from django.core.management import execute_from_command_line\n\n"
        "    execute_from_command_line(sys.argv)\n\n\nif __name__ == '__main__':\n    main()\n"
    ),
    "mysite/__init__.py": "",
    "mysite/settings.py": (
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.staticfiles']\nROOT_URLCONF = 'mysite.urls'\n"
        "STATIC_URL = 'static/'\nSTATIC_ROOT = 'staticfiles'\n"
    ),
    "mysite/urls.py": "urlpatterns = []\n",
    "mysite/wsgi.py": (
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\napplication = get_wsgi_application()\n"
    ),
}


def test_outside_app_django_web_style(tmp_path: Path) -> None:
    """A Django app as Heroku's getting-started guide lays it out: gunicorn (a console script) and manage.py."""
    app = tmp_path / "django-app"
    for rel, text in DJANGO_APP.items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    result = run_preflight(app)
    assert result.exit_code == 0, result
    (app / "mysite" / "views.py").write_text("from rest_framework.decorators import api_view\n")
    (app / "Procfile").write_text("web: gunicorn mysite.wsgi\nworker: celery -A mysite worker\n")
    broken = run_preflight(app)
    assert {"HW101", "HW403", "HW413"} <= broken.codes, broken


def test_django_collectstatic_that_fails_the_classic_build(tmp_path: Path) -> None:
    """The classic build runs `manage.py collectstatic --noinput` when Django is installed: a settings module
    without the staticfiles app fails the build (the buildpack's django_staticfiles_app_not_enabled fixture)."""
    app = tmp_path / "django-app"
    for rel, text in DJANGO_APP.items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    (app / "mysite" / "settings.py").write_text("SECRET_KEY = 'x'\nINSTALLED_APPS = []\nROOT_URLCONF = 'mysite.urls'\n")
    result = run_preflight(app, "--steps", "fresh-env,hooks")
    (finding,) = result.of("HW716")
    assert result.exit_code == 1 and "collectstatic" in finding["message"] and finding["file"] == "manage.py", result
    assert not (app / "staticfiles").exists()  # it ran in a throwaway copy
    disabled = run_preflight(app, "--steps", "fresh-env,hooks", env=checker_env(DISABLE_COLLECTSTATIC="1"))
    assert disabled.exit_code == 0, disabled
    fir = run_preflight(app, "--steps", "fresh-env,hooks", "--generation", "fir")
    assert "HW716" not in fir.codes, fir  # the CNB asks `help collectstatic` first: "Unknown command" skips it
    unverified = run_preflight(app, "--steps", "hooks")
    assert unverified.exit_code == 0 and "NOT VERIFIED" in unverified.of("HW717")[0]["message"], unverified


def test_django_collectstatic_as_each_generation_runs_it(tmp_path: Path) -> None:
    """Staticfiles enabled without STATIC_ROOT fails both builds; broken settings fail the CNB's `help` first;
    a manage.py below the root is run by the classic build only, and only Cedar has an opt-out."""
    app = tmp_path / "django-app"
    for rel, text in DJANGO_APP.items():
        (app / rel).parent.mkdir(parents=True, exist_ok=True)
        (app / rel).write_text(text)
    settings = app / "mysite" / "settings.py"
    settings.write_text(settings.read_text().replace("STATIC_ROOT = 'staticfiles'", "STATICFILES_DIRS = ['assets']"))
    (app / "assets").mkdir()
    (app / "assets" / "app.css").write_text("body {}\n")  # a file to collect, and nowhere to put it
    steps = ("--steps", "fresh-env,hooks")
    for generation in ("cedar", "fir"):
        (finding,) = run_preflight(app, *steps, "--generation", generation).of("HW716")
        assert "STATIC_ROOT" in finding["message"] and generation.capitalize() in finding["message"], finding
    opted_out = checker_env(DISABLE_COLLECTSTATIC="1")
    assert run_preflight(app, *steps, "--generation", "cedar", env=opted_out).exit_code == 0
    assert "HW716" in run_preflight(app, *steps, "--generation", "fir", env=opted_out).codes  # no opt-out on Fir
    settings.write_text("import nosuchmodule\n")
    (finding,) = run_preflight(app, *steps, "--generation", "fir").of("HW716")
    assert "help collectstatic" in finding["message"] and "nosuchmodule" in finding["message"], finding
    sub = app / "web"
    sub.mkdir()
    (app / "manage.py").rename(sub / "manage.py")
    assert "HW716" in run_preflight(app, *steps, "--generation", "cedar").codes  # found within three folders
    assert "HW716" not in run_preflight(app, *steps, "--generation", "fir").codes  # the CNB: the root only


def test_missing_procfile_target_is_reported_once(make_app: MakeApp) -> None:
    """A `python -m` target the static check finds missing (HW503) is not probed again (no HW411 beside it)."""
    result = run_preflight(make_app({"Procfile": "worker: python -m shpo\n"}), "--build")
    assert result.exit_code == 1 and procfile_codes(result) == ["HW503"], result
    script = run_preflight(make_app({"Procfile": "worker: python run_worker.py\n"}), "--build")
    assert script.exit_code == 1 and procfile_codes(script) == ["HW504"], script


def procfile_codes(result: Result) -> list[str]:
    """Codes a Procfile target can raise: the static Procfile checks (HW5xx) and the entry-point check (HW41x)."""
    return [f["code"] for f in result.findings if f["code"].startswith(("HW41", "HW5"))]
