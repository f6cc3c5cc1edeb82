"""Lock-file formats as the build's own tools read them (heroku_versions.json `build_tools`: pipenv 2026.7.1,
uv 0.12.5), each case checked against the tool itself once (issue 19; docs/preflight.md), then kept here.

- uv 0.12.5 `uv sync --locked`: `version` must be the integer 1 ("unsupported schema version (v2, but only v1 is
  supported)"; missing, `1.0` or `"1"` are parse errors); `revision` is never checked (1, 2, 3, 4, 99, none).
- pipenv 2026.7.1 `pipenv install --deploy`: `_meta.pipfile-spec` is never read (6, 1, 99, "6", none all
  install); `_meta.hash.sha256` must equal its `calculate_pipfile_hash`, which puts package names in PEP 503 form
  (so a lock an older pipenv hashed from `Six` or `discord.py` aborts the deploy); a `_meta` without a hash aborts;
  no `_meta` at all installs (pipenv fills it from the Pipfile).
The locks below are what the tools wrote (uv 0.12.5 `uv lock`, pipenv 2023.12.1 and 2026.7.1 `pipenv lock`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.preflight.helpers import run_preflight

MakeApp = Callable[..., Path]

# --- uv.lock: the schema version uv 0.12.5 reads --------------------------------------------------------------

UV_PYPROJECT = '[project]\nname = "t"\nversion = "0.1.0"\nrequires-python = ">=3.12"\ndependencies = ["six==1.17.0"]\n'
UV_LOCK = """{header}requires-python = ">=3.12"

[[package]]
name = "six"
version = "1.17.0"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.pythonhosted.org/packages/94/e7/b2c673351809dca68a0e064b6af791aa332cf192da575fd474ed7d6f16a2/six-1.17.0.tar.gz", hash = "sha256:ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81", size = 34031, upload-time = "2024-12-04T17:35:28.174Z" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/b7/ce/149a00dd41f10bc29e5921b496af8b574d8413afcd5e30dfa0ed46c2cc5e/six-1.17.0-py2.py3-none-any.whl", hash = "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274", size = 11050, upload-time = "2024-12-04T17:35:26.475Z" }},
]

[[package]]
name = "t"
version = "0.1.0"
source = {{ virtual = "." }}
dependencies = [
    {{ name = "six" }},
]

[package.metadata]
requires-dist = [{{ name = "six", specifier = "==1.17.0" }}]
"""  # noqa: E501  (uv's own lines)


def _uv_app(make_app: MakeApp, header: str) -> Path:
    files = {"requirements.txt": None, ".python-version": "3.12\n", "pyproject.toml": UV_PYPROJECT}
    return make_app({**files, "uv.lock": UV_LOCK.format(header=header)})


@pytest.mark.parametrize(("header", "refused"), [
    ("version = 1\nrevision = 3\n", False),  # what uv 0.12.5 writes
    ("version = 1\nrevision = 1\n", False),
    ("version = 1\nrevision = 99\n", False),
    ("version = 1\n", False),  # no revision: installs
    ("version = 2\nrevision = 3\n", True),  # "unsupported schema version (v2, but only v1 is supported)"
    ("version = 0\nrevision = 3\n", True),
    ("revision = 3\n", True),  # "missing field `version`"
    ('version = "1"\nrevision = 3\n', True),  # "invalid type: string \"1\", expected u32"
])  # fmt: skip
def test_uv_lock_schema_version_the_builds_uv_reads(make_app: MakeApp, header: str, refused: bool) -> None:
    result = run_preflight(_uv_app(make_app, header), "--static")
    assert ("HW708" in result.codes) == refused, result
    if refused:
        assert result.exit_code == 1 and "schema" in result.of("HW708")[0]["message"], result


# --- Pipfile.lock: what pipenv 2026.7.1 checks under --deploy -------------------------------------------------

PIPFILE = """[[source]]
url = "https://pypi.org/simple"
verify_ssl = true
name = "pypi"

[packages]
Six = "==1.17.0"

[requires]
python_version = "3.12"
"""
HASH_PIPENV_2026 = "2fd89c079325ab9e0324022332f68cb4e8010ade67529116ba9750f022448457"  # pipenv 2026.7.1 lock
HASH_PIPENV_2023 = "660c2e059954333af8e448023d251d9a666e12ad42b3c1db91bb4da58205ee72"  # pipenv 2023.12.1 lock
SIX = {
    "hashes": [
        "sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
        "sha256:ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81",
    ],
    "index": "pypi",
    "markers": "python_version >= '2.7' and python_version not in '3.0, 3.1, 3.2'",
    "version": "==1.17.0",
}
META = {
    "hash": {"sha256": HASH_PIPENV_2026},
    "pipfile-spec": 6,
    "requires": {"python_version": "3.12"},
    "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}],
}
DROP = object()


def _pipenv_app(make_app: MakeApp, **meta: object) -> Path:
    lock: dict[str, object] = {"_meta": {**META}, "default": {"six": SIX}, "develop": {}}
    for key, value in meta.items():
        if value is DROP:
            del lock["_meta"][key]  # type: ignore[attr-defined]
        else:
            lock["_meta"][key] = value  # type: ignore[index]
    files = {"requirements.txt": None, ".python-version": "3.12\n", "Pipfile": PIPFILE}
    return make_app({**files, "Pipfile.lock": json.dumps(lock, indent=4)})


@pytest.mark.parametrize(("meta", "refused"), [
    ({}, False),  # as pipenv 2026.7.1 wrote it
    ({"pipfile-spec": 1}, False),  # the spec number is never read
    ({"pipfile-spec": 99}, False),
    ({"pipfile-spec": "6"}, False),
    ({"pipfile-spec": DROP}, False),
    ({"hash": {"sha256": HASH_PIPENV_2023}}, True),  # hashed from `Six`, not `six`: "Aborting deploy"
    ({"hash": DROP}, True),  # a _meta with no hash: "Aborting deploy"
])  # fmt: skip
def test_pipfile_lock_as_the_builds_pipenv_reads_it(make_app: MakeApp, meta: dict[str, object], refused: bool) -> None:
    result = run_preflight(_pipenv_app(make_app, **meta), "--static")
    assert ("HW707" in result.codes) == refused, result


def test_pipfile_lock_without_meta_installs(make_app: MakeApp) -> None:
    """pipenv fills a missing `_meta` from the Pipfile (hash included), so `--deploy` goes on."""
    app = _pipenv_app(make_app)
    lock = json.loads((app / "Pipfile.lock").read_text())
    del lock["_meta"]
    (app / "Pipfile.lock").write_text(json.dumps(lock))
    assert "HW707" not in run_preflight(app, "--static").codes


def test_pipfile_hash_puts_names_in_pep503_form() -> None:
    import tomllib

    from heroku_preflight import lockfiles

    assert lockfiles.pipfile_hash(tomllib.loads(PIPFILE)) == HASH_PIPENV_2026
    dotted = tomllib.loads(PIPFILE.replace("Six", '"discord.py"').replace('"==1.17.0"', '"==2.4.0"'))
    # pipenv 2026.7.1's own hash of this Pipfile (its `pipenv lock`, tests/preflight/real_apps/_files/).
    assert lockfiles.pipfile_hash(dotted) == "692b719e73b29e21b3edca382c72b172960b06e9846f15536b105bcf459abd8c"


# --- uv.lock: what `uv sync --locked --no-default-groups` installs --------------------------------------------

REAL_APPS = Path(__file__).parent / "real_apps" / "_files"


@pytest.mark.network
def test_uv_extras_are_locked_but_not_installed(make_app: MakeApp) -> None:
    """uv locks every extra (flask, for `[project.optional-dependencies] web`), but the build's `uv sync
    --locked --no-default-groups` installs none: the held-out rq_flask_worker-uv-web-needs-extra case's web
    process crashed on `import flask` while its worker ran. The fresh env installed the whole lock before."""
    app = make_app({
        "requirements.txt": None,
        ".python-version": "3.12\n",
        "pyproject.toml": (REAL_APPS / "rq_flask_worker-uv-pyproject.toml").read_text(),
        "uv.lock": (REAL_APPS / "rq_flask_worker-uv.lock").read_text(),
        "Procfile": "web: python web.py\nworker: python worker.py\n",
        "web.py": "import flask\n\nprint(flask)\n",
        "worker.py": "import requests\nimport rq\n\nprint(rq, requests)\n",
    })  # fmt: skip
    result = run_preflight(app, "--generation", "cedar")
    crashes = [f for f in result.of("HW411") if not f["blocking"]]
    assert [(f["file"], "flask" in f["message"]) for f in crashes] == [("web.py", True)], result
