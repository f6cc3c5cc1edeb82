"""The app's shape: which files are app code, package managers, committed venvs, src layouts, shadowing."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import stdlib
from .findings import Finding, error
from .requirements_file import Requirements, normalize

PACKAGE_MANAGER_FILES = ("requirements.txt", "Pipfile.lock", "poetry.lock", "uv.lock")
# Never app code: tests, tooling, and folders Heroku or tools create.
NOT_APP_DIRS = {
    "tests",
    "test",
    "docs",
    "bin",
    "node_modules",
    "__pycache__",
    "build",
    "dist",
    "site-packages",
}
NOT_APP_FILES = {"noxfile.py", "setup.py", "conftest.py", "fabfile.py"}

# Top-level standard-library modules that differ between versions (stdlib.py is their one home).
_REMOVED, _ADDED = stdlib.REMOVED, stdlib.ADDED


def stdlib_names(minor: int) -> frozenset[str]:
    """Top-level standard-library names of Python 3.<minor>, plus `test` (absent from stdlib_module_names)."""
    names = set(sys.stdlib_module_names) | {"test"}
    current = sys.version_info.minor
    for version in range(11, 16):
        if current < version <= minor:
            names -= _REMOVED.get(version, set())
            names |= _ADDED.get(version, set())
        elif minor < version <= current:
            names |= _REMOVED.get(version, set())
            names -= _ADDED.get(version, set())
    return frozenset(names)


def is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file() or (
        (path / "bin" / "activate").is_file() and any((path / "lib").glob("python*"))
    )


def _skipped_dir(path: Path) -> bool:
    return path.name.startswith(".") or path.name in NOT_APP_DIRS or is_venv(path)


def top_level_names(app: Path) -> dict[str, str]:
    """Import name -> relative path of every module or package importable from the app root."""
    names: dict[str, str] = {}
    for child in sorted(app.iterdir()):
        if child.is_file() and child.suffix == ".py" and child.stem.isidentifier():
            names[child.stem] = child.name
        elif child.is_dir() and (child / "__init__.py").is_file() and child.name.isidentifier():
            if child.name.startswith(".") or is_venv(child):
                continue
            names[child.name] = f"{child.name}/__init__.py"
    return names


def app_packages(app: Path) -> list[str]:
    """Top-level packages that are app code: a folder with __init__.py that is not tests/tooling."""
    return [
        child.name
        for child in sorted(app.iterdir())
        if child.is_dir()
        and child.name.isidentifier()
        and (child / "__init__.py").is_file()
        and not _skipped_dir(child)
    ]


def app_python_files(app: Path) -> Iterator[Path]:
    """Every .py file that is app code (root modules, packages, scripts); tests and tooling excluded."""
    for child in sorted(app.iterdir()):
        if child.is_file() and child.suffix == ".py" and child.name not in NOT_APP_FILES:
            yield child
        elif child.is_dir() and not _skipped_dir(child):
            yield from _walk(child)


def _walk(folder: Path) -> Iterator[Path]:
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            if not _skipped_dir(child):
                yield from _walk(child)
        elif child.suffix == ".py" and child.name not in NOT_APP_FILES:
            yield child


def module_name(app: Path, path: Path) -> str:
    parts = list(path.relative_to(app).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules(app: Path, packages: Iterable[str]) -> list[tuple[str, Path]]:
    """(module name, file) for every module inside the given packages, __main__ modules included."""
    out: list[tuple[str, Path]] = []
    for package in packages:
        for path in _walk(app / package):
            if all(part.isidentifier() for part in path.relative_to(app).with_suffix("").parts):
                out.append((module_name(app, path), path))
    return out


def check_package_managers(app: Path) -> list[Finding]:
    findings: list[Finding] = []
    present = [name for name in PACKAGE_MANAGER_FILES if (app / name).is_file()]
    if len(present) > 1:
        keep = "requirements.txt" if "requirements.txt" in present else present[0]
        drop = [name for name in present if name != keep]
        findings.append(
            error(
                "HW701",
                drop[0],
                None,
                f"{' and '.join(present)} are all present; Heroku's build fails on several",
                f"keep one package manager: `git rm {' '.join(drop)}`",
            )
        )
    if (app / "Pipfile").is_file() and not (app / "Pipfile.lock").is_file():
        findings.append(
            error(
                "HW702",
                "Pipfile",
                None,
                "Pipfile without Pipfile.lock: Heroku installs only from the lock",
                "run `pipenv lock` and commit Pipfile.lock (or delete Pipfile if requirements.txt is the "
                "source)",
            )
        )
    if not present:
        alone = [name for name in ("pyproject.toml", "setup.py", "setup.cfg") if (app / name).is_file()]
        if alone:
            findings.append(
                error(
                    "HW703",
                    alone[0],
                    None,
                    f"{alone[0]} without requirements.txt/uv.lock/poetry.lock: Heroku fails",
                    "add a lock: `uv pip compile pyproject.toml -o requirements.txt --generate-hashes` (or "
                    "`uv lock`)",
                )
            )
        elif not (app / "Pipfile").is_file():
            findings.append(
                error(
                    "HW705",
                    None,
                    None,
                    "no requirements.txt (or other package-manager file): Heroku cannot build",
                    "add requirements.txt listing your dependencies pinned with == (an empty file if none)",
                )
            )
    return findings


def check_src_layout(app: Path, reqs: Requirements) -> list[Finding]:
    """A src/ layout works locally after `pip install -e .`; Heroku installs requirements.txt only."""
    src = app / "src"
    if any((app / lock).is_file() for lock in ("uv.lock", "poetry.lock", "Pipfile.lock")):
        return []  # uv sync / poetry sync / pipenv install the project itself
    if not src.is_dir() or any(r.text.split(";")[0].strip() in (".", "./") for r in reqs.items):
        return []
    findings = []
    for child in sorted(src.iterdir()):
        if child.is_dir() and (child / "__init__.py").is_file() and child.name.isidentifier():
            findings.append(
                error(
                    "HW507",
                    f"src/{child.name}/__init__.py",
                    None,
                    f"src/{child.name} is never installed on Heroku (requirements.txt only) and src/ is not "
                    "on sys.path",
                    f"move it to the app root: `git mv src/{child.name} {child.name}` (then `python -m "
                    f"{child.name}`)",
                )
            )
    return findings


def check_shadowing(
    app: Path, minor: int, reqs: Requirements, installed_top_levels: dict[str, list[str]] | None = None
) -> list[Finding]:
    """App modules named like a stdlib module (target Python) or like a module of a dependency."""
    findings: list[Finding] = []
    stdlib = stdlib_names(minor)
    wanted = reqs.names()
    for name, rel in top_level_names(app).items():
        if name in stdlib and name != "__main__":
            findings.append(
                error(
                    "HW801",
                    rel,
                    None,
                    f"`{name}` shadows the standard-library module {name} of Python 3.{minor}: anything that "
                    f"imports {name} (your dependencies too) gets your code",
                    f"rename it, e.g. `git mv {rel.split('/')[0]} {name}_app` and update its imports",
                )
            )
            continue
        if name in NOT_APP_DIRS:
            continue  # some distributions ship a top-level `tests`; the app's tests never run on a dyno
        owners: list[str] = []
        if installed_top_levels is not None:
            owners = [d for d in installed_top_levels.get(name, []) if normalize(d) in wanted]
        elif normalize(name) in wanted:
            owners = [reqs.find(name).name]  # type: ignore[union-attr]
        if owners:
            findings.append(
                error(
                    "HW802",
                    rel,
                    None,
                    f"`{name}` shadows the `{name}` module of {', '.join(sorted(set(owners)))}: `import "
                    f"{name}` "
                    "loads your file instead of the dependency",
                    f"rename it, e.g. `git mv {rel.split('/')[0]} {name}_app` and update its imports",
                )
            )
    return findings
