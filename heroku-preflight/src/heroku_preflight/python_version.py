"""The Python Heroku will use: `.python-version` / `runtime.txt`, in the exact formats the buildpack reads."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from .findings import Finding, error, warning
from .heroku import DEPRECATED, LATEST_PATCH, SUPPORTED_MINORS, VERSIONS_TAKEN
from .heroku import HEROKU_DEFAULT_PYTHON as HEROKU_DEFAULT

_INT = r"(?:0|[1-9][0-9]*)"  # the buildpack's INT_REGEX: no leading zeros
_PYTHON_VERSION = re.compile(rf"^3\.{_INT}(?:\.{_INT})?$")
_RUNTIME = re.compile(rf"^python-(3\.{_INT}(?:\.{_INT})?)$")


@dataclasses.dataclass
class VersionInfo:
    version: str  # what Heroku installs: "3.13" or "3.13.1"
    source: str  # ".python-version", "runtime.txt" or "default"
    findings: list[Finding]

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def _read(path: Path) -> tuple[str, bool]:
    raw = path.read_bytes()
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff"), raw.startswith(b"\xef\xbb\xbf")


def _python_version_file(path: Path, findings: list[Finding]) -> str | None:
    text, bom = _read(path)
    if bom:
        findings.append(
            error(
                "HW602",
                ".python-version",
                1,
                ".python-version starts with a byte-order mark; the buildpack rejects it",
                "save it as plain UTF-8 without BOM, e.g. `printf '3.13\\n' > .python-version`",
            )
        )
    # As the buildpack does: lines holding only whitespace and/or a comment are ignored.
    lines = [(n, s.strip()) for n, s in enumerate(text.splitlines(), 1) if s.strip()[:1] not in ("", "#")]
    if not lines:
        findings.append(
            error(
                "HW602",
                ".python-version",
                1,
                ".python-version is empty",
                "write one version: `printf '3.13\\n' > .python-version`",
            )
        )
        return None
    if len(lines) > 1:
        findings.append(
            error(
                "HW602",
                ".python-version",
                lines[1][0],
                f".python-version lists {len(lines)} versions; Heroku wants one",
                f"keep one line, e.g. `{lines[0][1]}`",
            )
        )
    line, value = lines[0]
    if _PYTHON_VERSION.match(value):
        return value
    bare = value.removeprefix("python-").removeprefix("python")
    fix = (
        f"write `{bare}` (no `python-` prefix)" if _PYTHON_VERSION.match(bare) else "write `3.13` or `3.13.1`"
    )
    findings.append(
        error(
            "HW602",
            ".python-version",
            line,
            f"`{value}` is not a version the buildpack accepts in .python-version",
            fix,
        )
    )
    return None


def _runtime_txt(path: Path, findings: list[Finding]) -> str | None:
    text, bom = _read(path)
    # As the buildpack does: blank lines and lines starting with `#` are dropped, the rest joined.
    value = "\n".join(s.strip() for s in text.splitlines() if s.strip() and not s.strip().startswith("#"))
    match = _RUNTIME.match(value)
    bare = match.group(1) if match else None
    valid = (
        bare if bare and not bom else f"3.{max(SUPPORTED_MINORS) - 1}"
    )  # never echo invalid text as advice
    if bom or not match:
        findings.append(error(
            "HW603", "runtime.txt", 1,
            f"`{value[:60]}` is not a valid runtime.txt" + (" (byte-order mark)" if bom else ""),
            f"delete runtime.txt and write the major version to .python-version: `git rm runtime.txt && "
            f"printf '{valid}\\n' > .python-version`",
        ))  # fmt: skip
    findings.append(warning(
        "HW605", "runtime.txt", 1, "runtime.txt is deprecated on Heroku (the classic buildpack warns)",
        f"`git rm runtime.txt && printf '{valid}\\n' > .python-version`",
    ))  # fmt: skip
    findings.append(error(
        "HW609", "runtime.txt", 1, "the Python CNB (Fir) rejects runtime.txt: the build fails",
        f"`git rm runtime.txt && printf '{valid}\\n' > .python-version`",
    ))  # fmt: skip
    return bare if match and not bom else None


def _agree(a: str, b: str) -> bool:
    pa, pb = a.split("."), b.split(".")
    return pa[:2] == pb[:2] and (len(pa) < 3 or len(pb) < 3 or pa == pb)


def _pipfile_lock_version(app: Path, findings: list[Finding]) -> str | None:
    """`_meta.requires.python_full_version` or `python_version` of Pipfile.lock (the third version source)."""
    path = app / "Pipfile.lock"
    if not path.is_file():
        return None
    try:
        requires = json.loads(path.read_text(encoding="utf-8-sig")).get("_meta", {}).get("requires", {})
    except (ValueError, AttributeError):
        return None  # HW707 reports the invalid lock
    value = (
        requires.get("python_full_version") or requires.get("python_version")
        if isinstance(requires, dict)
        else None
    )
    if value is None:
        return None
    if isinstance(value, str) and _PYTHON_VERSION.match(value):
        return value
    findings.append(error(
        "HW612", "Pipfile.lock", None, f"Pipfile.lock's Python version `{value}` is not N.N or N.N.N",
        f"set `python_version = \"3.{max(SUPPORTED_MINORS) - 1}\"` in Pipfile [requires]; `pipenv lock`",
    ))  # fmt: skip
    return None


def _both_files(pv: str | None, rt: str | None, findings: list[Finding]) -> None:
    if pv and rt and not _agree(pv, rt):
        findings.append(warning(
            "HW601", "runtime.txt", 1,
            f"runtime.txt says {rt} but .python-version says {pv}; the classic buildpack uses runtime.txt",
            "keep one source: `git rm runtime.txt` and set .python-version to the version you want",
        ))  # fmt: skip
    elif pv and rt:
        findings.append(warning(
            "HW608", "runtime.txt", 1, "both runtime.txt and .python-version set the version",
            "keep one source: `git rm runtime.txt`",
        ))  # fmt: skip


def _supported(version: str, file: str | None, findings: list[Finding]) -> None:
    line = 1 if file and file != "Pipfile.lock" else None
    minor = int(version.split(".")[1])
    newest = f"3.{max(SUPPORTED_MINORS)}"
    if minor not in SUPPORTED_MINORS or not version.startswith("3."):
        findings.append(error(
            "HW604", file, line, f"Python {version} is not supported on Heroku ({supported_range()})",
            f"set a supported major version, e.g. `{newest}`, in {file or '.python-version'}",
        ))  # fmt: skip
        return
    latest = LATEST_PATCH.get(f"3.{minor}")
    if version.count(".") == 2 and latest and _patch(version) > _patch(latest):
        findings.append(error(
            "HW611", file, line,
            f"Python {version} does not exist on Heroku (newest 3.{minor} on {VERSIONS_TAKEN}: {latest})",
            f"request the major version only, `3.{minor}`, so Heroku picks its newest patch release",
        ))  # fmt: skip
    ends = DEPRECATED.get(f"3.{minor}")
    if ends:
        findings.append(warning(
            "HW606", file, line, f"Python {version} is deprecated: Heroku stops building it on {ends}",
            f"move to {newest}: update the version file and re-lock requirements.txt for it",
        ))  # fmt: skip


def _patch(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def supported_range() -> str:
    return f"3.{min(SUPPORTED_MINORS)}-3.{max(SUPPORTED_MINORS)}"


def check(app: Path, generation: str = "cedar") -> VersionInfo:
    findings: list[Finding] = []
    pv_path, rt_path = app / ".python-version", app / "runtime.txt"
    pv = _python_version_file(pv_path, findings) if pv_path.is_file() else None
    rt = _runtime_txt(rt_path, findings) if rt_path.is_file() else None
    _both_files(pv, rt, findings)
    lock = None if pv_path.is_file() or rt_path.is_file() else _pipfile_lock_version(app, findings)
    if not pv_path.is_file() and not rt_path.is_file() and lock is None:
        findings.append(warning(
            "HW607", None, None,
            f"no .python-version: Heroku reuses the last build's cached version, or on a new app its "
            f"default ({HEROKU_DEFAULT}), which moves",
            f"pin the major version: `printf '{HEROKU_DEFAULT}\\n' > .python-version`",
        ))  # fmt: skip
    # Which file wins: runtime.txt on Cedar (the CNB fails on it instead), then .python-version, Pipfile.lock.
    use_rt = rt if generation == "cedar" else None
    version, source = next(
        ((v, s) for v, s in ((use_rt, "runtime.txt"), (pv, ".python-version"), (lock, "Pipfile.lock")) if v),
        (HEROKU_DEFAULT, "default"),
    )
    _supported(version, None if source == "default" else source, findings)
    return VersionInfo(version, source, findings)
