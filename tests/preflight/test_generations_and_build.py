"""Fir's inline buildpack against a simulated CNB layer layout, guarded imports, hooks, pip's verdict, and the
docs table against the code registry."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

from tests.preflight.helpers import CHECKER_WHEEL, TEMPLATE_PROJECT, checker_env, run_preflight

MakeApp = Callable[..., Path]
ROOT = TEMPLATE_PROJECT.parent
PROJECT_TOML = TEMPLATE_PROJECT / (
    "{% if cookiecutter.python_version_file == '.python-version' %}project.toml{% endif %}"
)


def inline_script() -> tuple[list[str], str]:
    """The baked project.toml's groups (in order) and its inline buildpack's script."""
    data = tomllib.loads(PROJECT_TOML.read_text().replace("{{ cookiecutter.project_slug }}", "app"))
    groups = data["io"]["buildpacks"]["group"]
    inline = next(g for g in groups if "script" in g)["script"]
    return [g["id"] for g in groups], inline["inline"]


def simulated_layers(root: Path, requirements: str) -> dict[str, str]:
    """What a later buildpack sees after heroku/python: its `venv` build layer's bin/ first on PATH (the lifecycle
    adds each build layer's bin/), then the `python` layer's, and VIRTUAL_ENV (set for all scopes)."""
    layers = root / "layers" / "heroku_python"
    python_bin = layers / "python" / "bin"
    python_bin.mkdir(parents=True)
    (python_bin / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
    venv = layers / "venv"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "the test needs uv beside the test interpreter (TEST_REQUIREMENTS has it)"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv, "venv", "-q", "--python", str(python_bin / "python"), str(venv)], check=True, env=env)
    (root / "req.txt").write_text(requirements)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r", str(root / "req.txt")],
                   check=True, env=env)  # fmt: skip
    # pip: a build-only layer of its own (bin/pip on PATH, PYTHONUSERBASE), pointed at the venv by PIP_PYTHON.
    pip_bin = layers / "pip" / "bin"
    pip_bin.mkdir(parents=True)
    (pip_bin / "pip").write_text(f'#!/bin/sh\nexec {python_bin / "python"} -m pip "$@"\n')
    (pip_bin / "pip").chmod(0o755)
    path = f"{venv / 'bin'}:{pip_bin}:{python_bin}:/usr/bin:/bin"
    return {"PATH": path, "VIRTUAL_ENV": str(venv), "PIP_PYTHON": str(venv), "PYTHONUSERBASE": str(layers / "pip"),
            "CNB_LAYERS_DIR": str(root / "layers" / "inline"), "CNB_TARGET_OS": "linux", "HOME": str(root)}  # fmt: skip


def test_project_toml_runs_the_checker_after_the_python_cnb() -> None:
    groups, script = inline_script()
    assert groups == ["heroku/python", "app/preflight"]
    assert "heroku-preflight --build --strict --generation fir" in script


def test_inline_script_checks_the_app_in_the_cnb_layers(make_app: MakeApp, tmp_path: Path) -> None:
    _, script = inline_script()
    app = make_app({"project.toml": PROJECT_TOML.read_text()})
    env = simulated_layers(tmp_path, f"six==1.17.0\n{CHECKER_WHEEL}\n")  # the CNB installs the pinned checker
    good = subprocess.run(["/bin/sh", "-c", script], cwd=app, env=env, capture_output=True, text=True, check=False)
    assert good.returncode == 0 and "fir" in good.stdout, good.stdout + good.stderr
    (app / "shop" / "worker.py").write_text("import six\nimport requests\n\n\ndef main() -> None:\n    pass\n")
    bad = subprocess.run(["/bin/sh", "-c", script], cwd=app, env=env, capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "requests" in bad.stdout, bad.stdout  # the Fir build fails, naming it


def test_guarded_imports_are_not_errors(make_app: MakeApp) -> None:
    worker = ("import six\n\ntry:\n    import ujson\nexcept ImportError:\n    ujson = None\n\n"
              "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import requests\n\n\n"
              "def main() -> None:\n    print(six, ujson)\n")  # fmt: skip
    main = (
        "try:\n    import ujson  # noqa: F401\nexcept ImportError:\n    pass\nfrom shop.worker import main\n\nmain()\n"
    )
    result = run_preflight(make_app({"shop/worker.py": worker, "shop/__main__.py": main}), "--strict")
    assert result.exit_code == 0 and not result.codes & {"HW101", "HW403", "HW411"}, result


def test_failing_pre_compile_hook_fails_the_cedar_build(make_app: MakeApp) -> None:
    app = make_app({"bin/pre_compile": "#!/bin/sh\necho 'cannot build' >&2\nexit 3\n"})
    result = run_preflight(app, "--steps", "static,hooks", "--generation", "cedar")
    (finding,) = result.of("HW714")
    assert result.exit_code == 1 and "cannot build" in finding["message"], result
    fir = run_preflight(app, "--steps", "static,hooks", "--generation", "fir")
    assert fir.exit_code == 0 and "HW714" not in fir.codes, fir  # the Python CNB never runs it


def test_post_compile_without_an_environment_is_not_verified(make_app: MakeApp) -> None:
    app = make_app({"bin/post_compile": "#!/bin/sh\nexit 0\n"})
    result = run_preflight(app, "--steps", "hooks", "--generation", "cedar")
    assert result.exit_code == 0 and "NOT VERIFIED" in result.of("HW715")[0]["message"], result
    from tests.preflight.helpers import checker_env

    in_ci = run_preflight(app, "--steps", "hooks", "--generation", "cedar", env=checker_env(CI="true"))
    assert in_ci.exit_code == 2, in_ci  # skipped is never success under CI


def test_pip_is_the_truth_where_uv_differs(make_app: MakeApp) -> None:
    """celery 5.2.0's metadata (`pytz>dev`) is refused by pip, which Heroku runs; uv accepts it."""
    result = run_preflight(make_app({"requirements.txt": "celery==5.2.0\n"}), "--steps", "platform")
    (finding,) = result.of("HW303")
    assert result.exit_code == 1 and "celery" in finding["message"], result


def test_docs_code_table_is_generated_from_the_registry() -> None:
    from heroku_preflight import docs
    from heroku_preflight.codes import CODES

    text = (ROOT / "heroku-preflight" / "docs" / "preflight.md").read_text()
    assert text == docs.with_table(text), "stale: python -m heroku_preflight.docs heroku-preflight/docs/preflight.md"
    rows = re.findall(r"^\| (HW\d{3}) \| (\w+) \| ([^|]+) \|", text, re.M)
    assert {code: kind for code, kind, _ in rows} == {c.code: c.kind for c in CODES.values()}


def oldest_offered_venv(tmp_path: Path, **options: bool) -> Path:
    """`python -m venv` of the oldest offered Python, with the pip that venv ships (pip 23 on 3.11.7)."""
    from heroku_preflight.heroku import offered_versions

    from tests.pythons import find_python, not_verified

    oldest = offered_versions()[0]
    python = find_python(oldest)
    if python is None:
        not_verified(f"no Python {oldest} interpreter here for a `python -m venv` of the oldest offered", oldest)
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", *(["--without-pip"] if options.get("without_pip") else []), venv], check=True)
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"  # the checker, from its wheel, by uv
    subprocess.run(
        [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(CHECKER_WHEEL)], check=True
    )
    return venv / "bin" / "python"


def no_uv(python: Path) -> dict[str, str]:
    """The checker's environment with no uv anywhere: pip's verdict then comes from the pip beside it."""
    return checker_env(PATH=f"{python.parent}:/usr/bin:/bin")


def test_pip_verdict_with_the_pip_a_venv_ships(make_app: MakeApp, tmp_path: Path) -> None:
    """A venv's own pip (older than 24) refused `--platform` without `--target`: HW303 on every app before."""
    python = oldest_offered_venv(tmp_path)
    result = run_preflight(make_app(), "--steps", "platform", python=str(python), env=no_uv(python))
    assert "HW303" not in result.codes, result
    assert all("uv" in f["message"] for f in result.of("HW399")), result  # only uv's own absence is reported


def test_a_pip_that_refuses_its_options_is_could_not_run_not_an_app_error(make_app: MakeApp, tmp_path: Path) -> None:
    """pip's own usage error (an option it lacks) is the tool's limit: HW399, never HW303 about the app."""
    python = oldest_offered_venv(tmp_path, without_pip=True)
    pip = python.with_name("pip")
    pip.write_text("#!/bin/sh\necho 'ERROR: no such option: --target' >&2\nexit 2\n")
    pip.chmod(0o755)
    result = run_preflight(make_app(), "--steps", "platform", python=str(python), env=no_uv(python))
    said = [f["message"] for f in result.of("HW399")]
    assert "HW303" not in result.codes and result.exit_code == 2, result
    assert any("no such option: --target" in message for message in said), result


def test_pip_verdict_is_the_build_pips(make_app: MakeApp, tmp_path: Path) -> None:
    """celery 5.2.0's `pytz>dev` metadata: the build's pip (26) refuses it; the pip 23 of the checker's own
    venv accepted it, so the verdict is taken with the build's pip (run by uv), whatever pip is beside."""
    python = oldest_offered_venv(tmp_path)
    result = run_preflight(make_app({"requirements.txt": "celery==5.2.0\n"}), "--steps", "platform", python=str(python))
    assert result.of("HW303") and "celery" in result.of("HW303")[0]["message"], result
