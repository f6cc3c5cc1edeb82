"""Pipfile.lock, poetry.lock and uv.lock as the build reads them: valid, in sync, agreeing on Python.

The classic buildpack runs `pipenv install --deploy` (fails when `_meta.hash` disagrees with the Pipfile),
`poetry sync` and `uv sync --locked`; both buildpacks require `.python-version` for uv. Stdlib only; TOML is
read with tomllib where the running Python has it (3.11+), otherwise those checks are skipped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .findings import Finding, error
from .python_version import VersionInfo


def check(app: Path, version: VersionInfo) -> list[Finding]:
    findings: list[Finding] = []
    if (app / "Pipfile.lock").is_file():
        findings += _pipfile_lock(app)
    if (app / "poetry.lock").is_file():
        findings += _toml_lock(app, "poetry.lock", "HW710", "poetry lock") or _poetry(app)
    if (app / "uv.lock").is_file():
        findings += _toml_lock(app, "uv.lock", "HW708", "uv lock") or _uv(app, version)
    return findings


def _load_toml(path: Path) -> dict[str, Any] | str | None:
    """The parsed file, an error message, or None when this Python cannot read TOML."""
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]  # 3.11+
    except ImportError:  # Python 3.10: no TOML reader in the stdlib
        return None
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return str(exc)
    return data


def _toml_lock(app: Path, name: str, code: str, command: str) -> list[Finding]:
    data = _load_toml(app / name)
    if isinstance(data, str):
        return [error(code, name, None, f"{name} is not valid TOML ({data}): the install fails",
                      f"regenerate it: `{command}`, and commit the result")]  # fmt: skip
    return []


# The lock files read by the Poetry the classic build installs (heroku_versions.json `build_tools`, 2.x):
# Poetry 2.4.1's `Locker._get_lock_data` refuses a lock without `[metadata]`, without `lock-version` (Poetry
# 1.0 wrote none) or whose `lock-version` is outside `_READ_VERSION_RANGE` (">=1,<3"); it writes "2.1".
POETRY_LOCK_READS = ((1,), (3,))


def _poetry_lock_version(lock: dict[str, Any]) -> str | None:
    """Why Poetry 2.x refuses this lock's format, or None when it reads it."""
    metadata = lock.get("metadata")
    if not isinstance(metadata, dict):
        return "poetry.lock has no [metadata] table"
    raw = metadata.get("lock-version")
    if raw is None:
        return "poetry.lock has no `lock-version` (written by Poetry 1.0 or older)"
    try:
        version = tuple(int(part) for part in str(raw).split("."))
    except ValueError:
        return f"poetry.lock's lock-version `{raw}` is not a version"
    low, high = POETRY_LOCK_READS
    if not low <= version < high:
        return f"poetry.lock's lock-version {raw} is outside what Poetry 2.x reads (>=1,<3)"
    return None


def _poetry(app: Path) -> list[Finding]:
    lock, pyproject = _load_toml(app / "poetry.lock"), _load_toml(app / "pyproject.toml")
    if not isinstance(lock, dict) or not isinstance(pyproject, dict):
        return []
    refused = _poetry_lock_version(lock)
    if refused:
        return [error(
            "HW710", "poetry.lock", None,
            f"{refused}: the build's Poetry stops with \"The lock file is not compatible with the current "
            "version of Poetry\"",
            "regenerate it with Poetry 2: `poetry lock`, and commit poetry.lock",
        )]  # fmt: skip
    stored = lock.get("metadata", {}).get("content-hash")
    if not stored or stored == poetry_content_hash(pyproject):
        return []
    return [error(
        "HW710", "poetry.lock", None,
        "poetry.lock is out of date with pyproject.toml (`content-hash`): `poetry sync` aborts the build",
        "run `poetry lock` and commit poetry.lock",
    )]  # fmt: skip


# The uv.lock schema the uv the classic build installs (heroku_versions.json `build_tools`, 0.12.5) reads:
# `version` must be the integer 1 (uv: "unsupported schema version (v2, but only v1 is supported)"; a
# missing, float or string `version` is a parse error). `revision` is not checked: 1, 2, 3 (what it writes),
# 4, 99 or none all install with `uv sync --locked`
# (tried on uv 0.12.5 itself: tests/preflight/test_lock_formats.py).
UV_LOCK_SCHEMA = 1


def _uv_lock_version(lock: dict[str, Any]) -> str | None:
    """Why the build's uv refuses this lock's schema, or None when it reads it."""
    raw = lock.get("version")
    if raw is None:
        return "uv.lock has no schema `version`"
    if type(raw) is not int:
        return f"uv.lock's schema `version = {raw!r}` is not an integer"
    if raw != UV_LOCK_SCHEMA:
        return f"uv.lock uses schema version {raw}; the build's uv reads only version {UV_LOCK_SCHEMA}"
    return None


def _uv(app: Path, version: VersionInfo) -> list[Finding]:
    if (app / "runtime.txt").is_file():
        return [error(
            "HW709", "runtime.txt", None, "runtime.txt is not supported with uv: the build fails",
            "`git rm runtime.txt` and `uv python pin 3.13` (your major version), then commit .python-version",
        )]  # fmt: skip
    if not (app / ".python-version").is_file():
        return [error(
            "HW709", "uv.lock", None, "a uv app needs a .python-version file: the build fails without one",
            "`uv python pin 3.13` (your major version) and commit .python-version"
            + (" (then `git rm runtime.txt`)" if (app / "runtime.txt").is_file() else ""),
        )]  # fmt: skip
    data = _load_toml(app / "uv.lock")
    refused = _uv_lock_version(data) if isinstance(data, dict) else None
    if refused:
        return [error(
            "HW708", "uv.lock", None,
            f"{refused}: the build's uv stops (\"The lockfile ... uses an unsupported schema version\")",
            "regenerate it with a current uv: `uv lock`, and commit uv.lock",
        )]  # fmt: skip
    stale = _uv_out_of_sync(app, data) if isinstance(data, dict) else None
    if stale:
        return [error(
            "HW708", "uv.lock", None, f"uv.lock is out of date ({stale}): `uv sync --locked` fails",
            "run `uv lock` and commit uv.lock",
        )]  # fmt: skip
    spec = data.get("requires-python") if isinstance(data, dict) else None
    if not isinstance(spec, str) or version.source != ".python-version":
        return []
    if _admits(spec, version.version):
        return []
    return [error(
        "HW708", "uv.lock", None,
        f"uv.lock's requires-python `{spec}` excludes Python {version.version}: `uv sync` fails",
        "make them agree: change .python-version, or `requires-python` in pyproject.toml then `uv lock`",
    )]  # fmt: skip


def _names(requirements: object) -> set[str]:
    """Normalized distribution names of PEP 508 strings or uv's `{ name = ... }` tables."""
    out = set()
    for item in requirements if isinstance(requirements, list) else []:
        raw = item.get("name", "") if isinstance(item, dict) else str(item)
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", raw)
        if match:
            out.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return out


def _uv_out_of_sync(app: Path, lock: dict[str, Any]) -> str | None:
    """What `uv lock --check` would see first, by names only: a dependency added or removed since locking."""
    pyproject = _load_toml(app / "pyproject.toml")
    project = pyproject.get("project") if isinstance(pyproject, dict) else None
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        return None
    name = re.sub(r"[-_.]+", "-", project["name"]).lower()
    packages = lock.get("package", [])
    root = next((p for p in packages if isinstance(p, dict) and p.get("name") == name), None)
    if root is None:
        return f"the project `{name}` is not in it"
    extras = project.get("optional-dependencies")  # uv.lock lists every extra's requirements in requires-dist
    wanted = _names(project.get("dependencies", [])).union(
        *(_names(group) for group in (extras.values() if isinstance(extras, dict) else []))
    )
    locked = _names(root.get("metadata", {}).get("requires-dist", []))
    added, removed = sorted(wanted - locked), sorted(locked - wanted)
    if added or removed:
        return ", ".join([*(f"{n} added" for n in added), *(f"{n} removed" for n in removed)])
    return None


_CLAUSE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*\*?)\s*$")


def _admits(spec: str, version: str) -> bool:
    """A small PEP 440 specifier check for `requires-python` (release numbers only; unknown forms admit)."""
    have = [int(p) for p in version.split(".")]
    for clause in spec.split(","):
        match = _CLAUSE.match(clause)
        if not match:
            return True
        op, raw = match.groups()
        want = [int(p) for p in raw.rstrip(".*").split(".") if p]
        if not _clause_admits(op, want, have, raw.endswith("*")):
            return False
    return True


def _clause_admits(op: str, want: list[int], have: list[int], wildcard: bool) -> bool:
    # A bare X.Y version file means "the newest X.Y.Z": compare on the parts it names, padding with zeros.
    width = max(len(want), len(have))
    w, h = want + [0] * (width - len(want)), have + [0] * (width - len(have))
    if op in ("==", "===", "!="):
        same = h[: len(want)] == want if wildcard or len(have) < len(want) else h == w
        return same if op != "!=" else not same
    if op == "~=":
        return h >= w and h[: len(want) - 1] == want[:-1]
    if len(have) < len(want):  # e.g. ">=3.12.4" with a 3.12 request: Heroku installs the newest 3.12.Z
        h = h[: len(have)] + [999] * (width - len(have))
    return {">=": h >= w, ">": h > w, "<=": h <= w, "<": h < w}[op]


def _pipfile_lock(app: Path) -> list[Finding]:
    try:
        lock = json.loads((app / "Pipfile.lock").read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"Pipfile.lock is not valid JSON ({exc}): the build fails"
        return [error("HW707", "Pipfile.lock", None, message,
                      "regenerate it: `pipenv lock`")]  # fmt: skip
    pipfile = _load_toml(app / "Pipfile") if (app / "Pipfile").is_file() else None
    if not isinstance(pipfile, dict):
        return []
    meta = lock.get("_meta") if isinstance(lock, dict) else None
    if not isinstance(meta, dict):
        return []  # pipenv fills a missing _meta from the Pipfile, hash included: the install goes on
    stored = meta.get("hash", {}).get("sha256") if isinstance(meta.get("hash"), dict) else None
    if stored != pipfile_hash(pipfile):  # a _meta without a hash is "out of date" to pipenv too
        return [error(
            "HW707", "Pipfile.lock", None,
            "Pipfile.lock is out of date with Pipfile (`_meta.hash`): `pipenv install --deploy` fails",
            "run `pipenv lock` and commit Pipfile.lock",
        )]  # fmt: skip
    return []


_DEFAULT_SOURCE = [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True}]


_PIPFILE_NOT_HASHED = ("source", "requires", "packages", "dev-packages", "pipenv", "scripts", "pipfile")


def pipfile_hash(pipfile: dict[str, Any]) -> str:
    """The sha256 that the build's pipenv (heroku_versions.json `build_tools`, 2026.7.1) compares with
    `_meta.hash` under `--deploy`: its `Project.calculate_pipfile_hash`, the Pipfile's sections as sorted,
    compact JSON with every package name in PEP 503 form (`discord.py` -> `discord-py`, `Django` ->
    `django`). A lock hashed by an older pipenv from names not in that form fails `--deploy`."""

    def canonical(section: object) -> object:
        if not isinstance(section, dict):
            return section
        return {re.sub(r"[-_.]+", "-", name).lower(): value for name, value in section.items()}

    data: dict[str, Any] = {
        "_meta": {"sources": pipfile.get("source", _DEFAULT_SOURCE), "requires": pipfile.get("requires", {})},
        "default": canonical(pipfile.get("packages", {})),
        "develop": canonical(pipfile.get("dev-packages", {})),
    }
    for section, values in pipfile.items():
        if section not in _PIPFILE_NOT_HASHED:
            data[section] = canonical(values)
    import hashlib  # here, not at the top: loading OpenSSL costs a few ms of every --static run

    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


_POETRY_LEGACY = ("dependencies", "source", "extras", "dev-dependencies")
_POETRY_KEYS = (*_POETRY_LEGACY, "group")
_PROJECT_KEYS = ("requires-python", "dependencies", "optional-dependencies")


def poetry_content_hash(pyproject: dict[str, Any]) -> str:
    """The `metadata.content-hash` Poetry writes: sha256 of the dependency-related parts of pyproject.toml."""
    project = {k: v for k in _PROJECT_KEYS if (v := pyproject.get("project", {}).get(k)) is not None}
    tool = pyproject.get("tool", {}).get("poetry", {})
    poetry = {
        key: tool.get(key)
        for key in _POETRY_KEYS
        if not (tool.get(key) is None and (key not in _POETRY_LEGACY or project))
    }
    content: dict[str, Any] = poetry
    if project:
        content = {
            "project": project,
            "tool": {"poetry": poetry},
        }  # Poetry 2.2 leaves [dependency-groups] out
    import hashlib

    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def lock_pins(app: Path) -> list[str] | None:
    """`name==version` lines (with markers) for what a Pipfile.lock / poetry.lock / uv.lock installs on
    Heroku (default/main packages), so the fresh env is built for those apps too; None if unreadable."""
    if (app / "Pipfile.lock").is_file():
        try:
            lock = json.loads((app / "Pipfile.lock").read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
        default = lock.get("default", {}) if isinstance(lock, dict) else {}
        return [_pipenv_line(name, spec) for name, spec in default.items() if isinstance(spec, dict)]
    for name, main_only in (("poetry.lock", True), ("uv.lock", False)):
        data = _load_toml(app / name) if (app / name).is_file() else None
        if isinstance(data, dict):
            wanted = _uv_synced(data) if name == "uv.lock" else None
            return [
                _toml_line(p)
                for p in data.get("package", [])
                if _installed(p, main_only) and (wanted is None or _norm(p["name"]) in wanted)
            ]
    return None


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _uv_synced(lock: dict[str, Any]) -> set[str] | None:
    """The packages the build's `uv sync --locked --no-default-groups` installs: the project's
    `dependencies` and what they need (with the extras they name), never its own optional-dependencies
    (extras) or dependency groups, which uv locks too. None when the lock names no project (all of it)."""
    packages = {_norm(p["name"]): p for p in lock.get("package", []) if isinstance(p, dict) and "name" in p}
    roots = [
        p for p in packages.values()
        if isinstance(p.get("source"), dict) and {"virtual", "editable"} & set(p["source"])
    ]  # fmt: skip
    if not roots:
        return None
    wanted: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [
        (_norm(d["name"]), tuple(d.get("extra", ()))) for root in roots for d in root.get("dependencies", [])
    ]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen or name not in packages:
            continue
        seen.add((name, extras))
        wanted.add(name)
        package = packages[name]
        needs = list(package.get("dependencies", []))
        for extra in extras:
            needs += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(_norm(d["name"]), tuple(d.get("extra", ()))) for d in needs if isinstance(d, dict)]
    return wanted


def _pipenv_line(name: str, spec: dict[str, Any]) -> str:
    version, markers = spec.get("version", ""), spec.get("markers")
    if "path" in spec or "git" in spec or "file" in spec:
        return ""  # a local or VCS requirement: installed by the build from the app, not pinned here
    return f"{name}{version}" + (f" ; {markers}" if markers else "")


def _installed(package: object, main_only: bool) -> bool:
    if not isinstance(package, dict) or not isinstance(package.get("version"), str):
        return False
    source = package.get("source", {})
    if isinstance(source, dict) and (
        {"virtual", "editable", "directory", "path", "git", "url"} & set(source)
    ):
        return False  # the project itself, or a local/VCS package: not from the index
    groups = package.get("groups") or [package.get("category", "main")]
    return not main_only or "main" in groups


def _toml_line(package: dict[str, Any]) -> str:
    return f"{package['name']}=={package['version']}"
