"""Static checks (`--static`): each way a deploy breaks, caught with its code, and the fixed app passing.

No network, no installs: these run in well under a second each.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.preflight.helpers import GOOD_APP, PY, Result, checker_env, run_preflight

MakeApp = Callable[..., Path]
HASH_A = "sha256:" + "a" * 64
HASH_B = "sha256:" + "b" * 64


def static(app: Path, *args: str) -> Result:
    return run_preflight(app, "--static", *args)


def test_good_app_is_clean_and_fast(make_app: MakeApp) -> None:
    app = make_app()
    started = time.perf_counter()
    result = static(app)
    assert time.perf_counter() - started < 3  # includes interpreter start-up; the checks themselves take ms
    assert result.exit_code == 0, result
    assert result.findings == []
    assert result.data is not None, result
    assert [s["name"] for s in result.data["steps"]] == ["static"]


APP_JSON = '{"env": {"PYTHONPATH": {"value": "%s"}}}'
SRC_LAYOUT = {"src/shop/__init__.py": "", "src/shop/__main__.py": "print(1)\n"}
NO_ROOT_SHOP = {"shop/__init__.py": None, "shop/__main__.py": None, "shop/worker.py": None}

# (name, files that break the app, code expected, files that fix it again; None deletes a file)
CASES = [
    ("unpinned pandas",
     {"requirements.txt": "six==1.17.0\npandas\n"}, "HW201",
     {"requirements.txt": "six==1.17.0\npandas==2.2.3\n"}),
    ("range is not a pin",
     {"requirements.txt": "six>=1.16\n"}, "HW201",
     {"requirements.txt": "six==1.17.0\n"}),
    ("hash missing on one line",
     {"requirements.txt": f"six==1.17.0 --hash={HASH_A}\nidna==3.10\n"}, "HW202",
     {"requirements.txt": f"six==1.17.0 \\\n    --hash={HASH_A}\nidna==3.10 \\\n    --hash={HASH_B}\n"}),
    ("URL requirement",
     {"requirements.txt": "six==1.17.0\nfoo @ https://example.com/foo-1.0.tar.gz\n"}, "HW203",
     {"requirements.txt": "six==1.17.0\nfoo==1.0\n"}),
    ("VCS requirement",
     {"requirements.txt": "six==1.17.0\ngit+https://github.com/x/y.git#egg=y\n"}, "HW203",
     {"requirements.txt": "six==1.17.0\ny==1.0\n"}),
    ("editable install",
     {"requirements.txt": "six==1.17.0\n-e ../lib\n"}, "HW204",
     {"requirements.txt": "six==1.17.0\nlib==1.0\n"}),
    ("path outside the app",
     {"requirements.txt": "six==1.17.0\n../lib/dist/foo-1.0-py3-none-any.whl\n"}, "HW209",
     {"requirements.txt": "six==1.17.0\nfoo==1.0\n"}),
    ("-r include followed",
     {"requirements.txt": "-r base.txt\n", "base.txt": "six\n"}, "HW201",
     {"base.txt": "six==1.17.0\n"}),
    ("-r include missing",
     {"requirements.txt": "-r nope.txt\nsix==1.17.0\n"}, "HW206",
     {"requirements.txt": "six==1.17.0\n"}),
    ("Procfile script imports the package",
     {"Procfile": "worker: python shop/worker.py\n", "shop/helpers.py": "def run(): pass\n",
      "shop/worker.py": "from shop import helpers\n\nhelpers.run()\n"}, "HW505",
     {"Procfile": "worker: python -m shop.worker\n"}),
    ("typo in the Procfile module",
     {"Procfile": "worker: python -m shpo\n"}, "HW503",
     {"Procfile": "worker: python -m shop\n"}),
    ("typo in a Procfile submodule",
     {"Procfile": "worker: python -m shop.wroker\n"}, "HW503",
     {"Procfile": "worker: python -m shop.worker\n"}),
    ("Procfile script missing",
     {"Procfile": "worker: python run_worker.py\n"}, "HW504",
     {"run_worker.py": "from shop.worker import main\n\nmain()\n"}),
    ("package without __main__",
     {"shop/__main__.py": None}, "HW508",
     {"Procfile": "worker: python -m shop.worker\n"}),
    ("no Procfile",
     {"Procfile": None}, "HW501",
     {"Procfile": "worker: python -m shop\n"}),
    ("Procfile line does not parse",
     {"Procfile": "worker python -m shop\n"}, "HW502",
     {"Procfile": "worker: python -m shop\n"}),
    ("src layout never installed",
     {**SRC_LAYOUT, **NO_ROOT_SHOP}, "HW507",
     {"src/shop/__init__.py": None, "src/shop/__main__.py": None, "shop/__init__.py": "",
      "shop/__main__.py": "print(1)\n"}),
    ("Pipfile.lock beside requirements.txt",
     {"Pipfile.lock": "{}\n"}, "HW701",
     {"Pipfile.lock": None}),
    ("Pipfile without its lock",
     {"Pipfile": "[packages]\n", "requirements.txt": None}, "HW702",
     {"Pipfile": None, "requirements.txt": "six==1.17.0\n"}),
    ("pyproject.toml alone",
     {"pyproject.toml": "[project]\nname='x'\n", "requirements.txt": None}, "HW703",
     {"requirements.txt": "six==1.17.0\n"}),
    ("no package manager at all",
     {"requirements.txt": None}, "HW705",
     {"requirements.txt": "six==1.17.0\n"}),
    ("runtime.txt and .python-version disagree",
     {"runtime.txt": "python-3.11\n", ".python-version": "3.12\n"}, "HW601",
     {"runtime.txt": None}),
    (".python-version with python- prefix",
     {".python-version": "python-3.12\n"}, "HW602",
     {".python-version": "3.12\n"}),
    (".python-version with two versions",
     {".python-version": "3.12\n3.13\n"}, "HW602",
     {".python-version": "3.13\n"}),
    ("runtime.txt without prefix",
     {".python-version": None, "runtime.txt": "3.12\n"}, "HW603",
     {".python-version": "3.12\n", "runtime.txt": None}),
    ("unsupported Python",
     {".python-version": "3.9\n"}, "HW604",
     {".python-version": "3.13\n"}),
    ("package named queue",
     {"queue/__init__.py": "", "shop/worker.py": "import queue\n"}, "HW801",
     {"queue/__init__.py": None, "jobqueue/__init__.py": "", "shop/worker.py": "import jobqueue\n"}),
    ("module named test",
     {"test.py": "x = 1\n"}, "HW801",
     {"test.py": None, "checks.py": "x = 1\n"}),
    ("module named redis.py",
     {"requirements.txt": "redis==5.2.1\n", "redis.py": "x = 1\n"}, "HW802",
     {"redis.py": None, "redis_keys.py": "x = 1\n"}),
    ("sys.path.append in the entry point",
     {"shop/__main__.py": "import sys\nsys.path.append('..')\nfrom shop.worker import main\n\nmain()\n"},
     "HW901",
     {"shop/__main__.py": "from shop.worker import main\n\nmain()\n"}),
    ("sys.path.insert in a script",
     {"scripts/run.py": "import sys, os\nsys.path.insert(0, os.getcwd())\n"}, "HW901",
     {"scripts/run.py": "import os\n"}),
    ("path.insert through `from sys import path`",
     {"scripts/run.py": "from sys import path\npath.insert(0, 'lib')\n"}, "HW901",
     {"scripts/run.py": "from os import path\npath.join('lib')\n"}),
    ("sys.path.insert through `import sys as s`",
     {"shop/boot.py": "import sys as s\ns.path.insert(0, 'lib')\n"}, "HW901",
     {"shop/boot.py": "import sys as s\nprint(s.path)\n"}),
    ("PYTHONPATH in app.json hides /app",
     {"app.json": APP_JSON % "/app/lib"}, "HW903",
     {"app.json": APP_JSON % "/app:/app/lib"}),
    ("PYTHONPATH in .env hides the app root",
     {".env": "REDIS_URL=redis://x\nPYTHONPATH=lib\n"}, "HW903",
     {".env": "REDIS_URL=redis://x\n"}),
]  # fmt: skip


@pytest.mark.parametrize(("broken", "code", "fixed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_app_is_caught_and_fix_passes(
    make_app: MakeApp, broken: dict[str, str | None], code: str, fixed: dict[str, str | None]
) -> None:
    result = static(make_app(broken), "--strict")
    assert code in result.codes, result
    finding = result.of(code)[0]
    assert finding["fix"] and finding["message"]
    if finding["severity"] == "error":
        assert result.exit_code == 1, result
    if finding["policy"]:  # a house rule: a warning without --strict, so the app passes unless it has errors
        lenient = static(make_app(broken))
        assert lenient.of(code)[0]["severity"] == "warning", lenient
    again = static(make_app({**broken, **fixed}), "--strict")
    assert code not in again.codes, again
    assert again.exit_code == 0, again


def test_finding_names_file_and_line(make_app: MakeApp) -> None:
    result = static(make_app({"requirements.txt": "six==1.17.0\n\n# comment\npandas>=2.2\n"}))
    (finding,) = result.of("HW201")
    assert (finding["file"], finding["line"]) == ("requirements.txt", 4)
    assert "pandas" in finding["message"] and "==" in finding["fix"]


def test_hash_finding_points_at_the_line_without_hash(make_app: MakeApp) -> None:
    text = f"six==1.17.0 \\\n    --hash={HASH_A}\nidna==3.10\nredis==5.2.1 --hash={HASH_B}\n"
    (finding,) = static(make_app({"requirements.txt": text})).of("HW202")
    assert (finding["line"], "idna" in finding["message"]) == (3, True)


def test_typo_suggests_the_real_module(make_app: MakeApp) -> None:
    (finding,) = static(make_app({"Procfile": "worker: python -m shpo\n"})).of("HW503")
    assert "did you mean `shop`" in finding["message"]


def test_script_fix_names_the_module_form(make_app: MakeApp) -> None:
    app = make_app({"Procfile": "worker: python shop/worker.py\n", "shop/worker.py": "import shop.helpers\n",
                    "shop/helpers.py": ""})  # fmt: skip
    (finding,) = static(app).of("HW505")
    assert "python -m shop.worker" in finding["fix"]


def test_root_script_importing_the_package_is_fine(make_app: MakeApp) -> None:
    app = make_app({"Procfile": "worker: python run.py\n", "run.py": "from shop.worker import main\n\nmain()\n"})
    result = static(app)
    assert result.exit_code == 0, result


def test_runtime_txt_warns_but_passes(make_app: MakeApp) -> None:
    result = static(make_app({".python-version": None, "runtime.txt": f"python-{PY}\n"}))
    assert result.exit_code == 0, result
    assert result.codes == {"HW605"}


def test_python_310_warns(make_app: MakeApp) -> None:
    result = static(make_app({".python-version": "3.10\n"}))
    assert result.codes == {"HW606"} and result.exit_code == 0, result


def test_no_version_file_warns_default(make_app: MakeApp) -> None:
    result = static(make_app({".python-version": None}))
    assert result.codes == {"HW607"}, result
    assert result.data is not None, result
    assert result.data["python"] == "3.14"


def test_bom_in_python_version(make_app: MakeApp) -> None:
    app = make_app()
    (app / ".python-version").write_bytes(b"\xef\xbb\xbf3.12\n")
    assert "HW602" in static(app).codes


def test_committed_virtualenv(make_app: MakeApp) -> None:
    app = make_app({"venv/pyvenv.cfg": "home = /usr/bin\n", ".gitignore": "__pycache__/\n"})
    assert "HW704" in static(app).codes
    ignored = make_app({"venv/pyvenv.cfg": "home = /usr/bin\n", ".gitignore": "venv/\n"})
    assert "HW704" not in static(ignored).codes


def git_app(app: Path) -> Path:
    """The app as a git checkout with everything git would commit added (.gitignore applies)."""
    subprocess.run(["git", "init", "-q", str(app)], check=True)
    subprocess.run(["git", "-C", str(app), "add", "--all"], check=True)
    return app


def test_committed_folders_are_what_git_would_push(make_app: MakeApp) -> None:
    """Tools' own folders that .gitignore covers (`.heroku/` of a local build, a venv) are not the app's."""
    made = {".heroku/python/bin/python": "", ".venv/pyvenv.cfg": "home = /usr/bin\n"}
    ignored = git_app(make_app({**made, ".gitignore": ".heroku/\n.venv/\n"}))
    assert not {"HW704", "HW706"} & static(ignored).codes, static(ignored)
    tracked = make_app({**made, ".gitignore": "__pycache__/\n"})
    assert {"HW704", "HW706"} <= static(git_app(tracked)).codes


def test_build_mode_ignores_what_the_buildpack_made(make_app: MakeApp) -> None:
    """At post_compile time the classic build has just installed Python in `.heroku/python/` (no .git there)."""
    stdlib_only = {"requirements.txt": "", "shop/worker.py": "def main() -> None:\n    pass\n"}
    app = make_app({**stdlib_only, ".heroku/python/bin/python": "", ".profile.d/python.sh": "export PATH\n"})
    env = checker_env(STACK="heroku-24", PYTHONPATH="/app")  # as on Heroku: /app first
    in_build = run_preflight(app, "--build", "--strict", "--generation", "cedar", env=env)
    assert in_build.exit_code == 0 and not in_build.codes & {"HW704", "HW706"}, in_build
    assert "HW706" in static(app).codes  # the same folder pushed from a copy is the app's: the build refuses it


def test_type_checking_and_tests_are_not_app_code(make_app: MakeApp) -> None:
    app = make_app({"tests/test_x.py": "import sys\nsys.path.insert(0, '.')\n", "noxfile.py": "import sys\n"})
    assert static(app).exit_code == 0


def test_pythonpath_config_var_at_build(make_app: MakeApp) -> None:
    """On Heroku, config vars are in the build's environment; a PYTHONPATH without /app hides the app."""
    app = make_app()
    broken = run_preflight(app, "--build", env=checker_env(PYTHONPATH="/app/vendor"))
    (finding,) = broken.of("HW902")
    assert broken.exit_code == 1 and "heroku config:unset PYTHONPATH" in finding["fix"], broken
    fixed = run_preflight(app, "--build", env=checker_env(PYTHONPATH="/app:/app/vendor"))
    assert "HW902" not in fixed.codes, fixed
    unset_env = {k: v for k, v in checker_env().items() if k != "PYTHONPATH"}
    unset = run_preflight(app, "--build", env=unset_env)
    assert "HW902" not in unset.codes, unset


def test_json_contract(make_app: MakeApp) -> None:
    result = static(make_app({"requirements.txt": "six\n"}), "--strict")
    data = result.data
    assert data is not None, result
    assert set(data) >= {"ok", "exit_code", "findings", "steps"}
    assert data["ok"] is False and data["exit_code"] == 1
    finding = data["findings"][0]
    assert set(finding) >= {"code", "severity", "file", "line", "message", "fix", "blocking", "policy"}
    assert finding["code"] == "HW201" and finding["policy"] is True and finding["blocking"] is False
    lenient = static(make_app({"requirements.txt": "six\n"}))
    assert lenient.exit_code == 0 and lenient.of("HW201")[0]["severity"] == "warning", lenient
    assert finding["severity"] in ("error", "warning")
    assert set(data["steps"][0]) >= {"name", "seconds", "status"}


def test_text_output_groups_and_summarises(make_app: MakeApp) -> None:
    import subprocess
    import sys

    app = make_app({"requirements.txt": "six\n", ".python-version": "3.10\n"})
    proc = subprocess.run([sys.executable, "-m", "heroku_preflight", str(app), "--static", "--strict"],
                          capture_output=True, text=True, env=checker_env(), check=False)  # fmt: skip
    assert proc.returncode == 1
    assert "requirements.txt pins (HW2xx)" in proc.stdout
    assert "HW201 requirements.txt:1:" in proc.stdout and "fix:" in proc.stdout
    assert "1 error(s), 1 warning(s): exit 1" in proc.stdout
    assert "steps: static failed" in proc.stdout


def test_unknown_step_is_a_usage_error(make_app: MakeApp) -> None:
    result = run_preflight(make_app(), "--steps", "static,nope")
    assert result.exit_code == 2 and "unknown step" in result.proc.stderr


def test_missing_app_dir_exits_2(tmp_path: Path) -> None:
    result = run_preflight(tmp_path / "nope", "--static")
    assert result.data is not None, result
    assert result.exit_code == 2 and result.data["ok"] is False


def test_good_app_files_are_the_baseline() -> None:
    assert "requirements.txt" in GOOD_APP and "Procfile" in GOOD_APP


def test_core_imports_only_the_standard_library() -> None:
    """bin/post_compile runs on Heroku's build image, where only the app's requirements are installed."""
    import ast
    import sys

    def guarded(tree: ast.AST) -> set[ast.AST]:
        """Imports under `try: ... except ImportError:` (entry_probe.py uses Celery's resolver when present)."""
        found: set[ast.AST] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in node.handlers
            ):
                found.update(n for stmt in node.body for n in ast.walk(stmt))
        return found

    import heroku_preflight

    for path in sorted(Path(heroku_preflight.__file__).parent.glob("*.py")):  # the installed wheel's modules
        tree = ast.parse(path.read_text())
        optional = guarded(tree)
        for node in ast.walk(tree):
            if node in optional:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "heroku_preflight", f"{path.name} imports {name}"


def test_static_starts_no_process(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--static` (pre-commit, the bake's first step) needs no network, no installs, no subprocess."""
    import subprocess

    from heroku_preflight import cli

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"--static started a process: {args}")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    started = time.perf_counter()
    assert cli.main([str(make_app()), "--static", "--json"]) == 0
    assert time.perf_counter() - started < 1
    assert json.loads(capsys.readouterr().out)["ok"] is True
