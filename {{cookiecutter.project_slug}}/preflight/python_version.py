"""The Python Heroku will use: `.python-version` / `runtime.txt`, in the exact formats the buildpack reads."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .findings import Finding, error, warning

SUPPORTED_MINORS = range(10, 15)  # 3.10-3.14 on heroku-buildpack-python v351
HEROKU_DEFAULT = "3.14"
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
    value = text.strip()
    match = _RUNTIME.match(value)
    if bom or not match:
        bare = value.removeprefix("python-")
        suggestion = f"python-{bare}" if _PYTHON_VERSION.match(bare) else "python-3.13"
        findings.append(
            error(
                "HW603",
                "runtime.txt",
                1,
                f"`{value}` is not a valid runtime.txt" + (" (byte-order mark)" if bom else ""),
                f"write exactly `{suggestion}` (better: delete runtime.txt and put `{bare or '3.13'}` in "
                ".python-version)",
            )
        )
    findings.append(
        warning(
            "HW605",
            "runtime.txt",
            1,
            "runtime.txt is deprecated on Heroku and the Python CNB rejects it",
            "`git rm runtime.txt` and write the version (without `python-`) to .python-version",
        )
    )
    return match.group(1) if match and not bom else None


def _agree(a: str, b: str) -> bool:
    pa, pb = a.split("."), b.split(".")
    return pa[:2] == pb[:2] and (len(pa) < 3 or len(pb) < 3 or pa == pb)


def check(app: Path) -> VersionInfo:
    findings: list[Finding] = []
    pv_path, rt_path = app / ".python-version", app / "runtime.txt"
    pv = _python_version_file(pv_path, findings) if pv_path.is_file() else None
    rt = _runtime_txt(rt_path, findings) if rt_path.is_file() else None
    if pv_path.is_file() and rt_path.is_file():
        if pv and rt and not _agree(pv, rt):
            findings.append(
                error(
                    "HW601",
                    "runtime.txt",
                    1,
                    f"runtime.txt says {rt} but .python-version says {pv}; Heroku uses runtime.txt",
                    "keep one source: `git rm runtime.txt` and set .python-version to the version you want",
                )
            )
        elif pv and rt:
            findings.append(
                warning(
                    "HW608",
                    "runtime.txt",
                    1,
                    "both runtime.txt and .python-version set the version",
                    "keep one source: `git rm runtime.txt`",
                )
            )
    if not pv_path.is_file() and not rt_path.is_file():
        findings.append(
            warning(
                "HW607",
                None,
                None,
                f"no .python-version: Heroku reuses the last build's cached version, or on a new app its "
                f"default ({HEROKU_DEFAULT}), which moves",
                f"pin the major version: `printf '{HEROKU_DEFAULT}\\n' > .python-version`",
            )
        )
    version, source = (
        (rt, "runtime.txt") if rt else (pv, ".python-version") if pv else (HEROKU_DEFAULT, "default")
    )
    file = None if source == "default" else source
    minor = int(version.split(".")[1])
    if minor not in SUPPORTED_MINORS:
        findings.append(
            error(
                "HW604",
                file,
                1 if file else None,
                f"Python {version} is not supported on Heroku (3.10-3.14)",
                "choose a supported version, e.g. `3.13`",
            )
        )
    elif minor == 10:
        findings.append(
            warning(
                "HW606",
                file,
                1 if file else None,
                "Python 3.10 leaves Heroku's supported versions in January 2027",
                "move to 3.13: update the version file and re-lock requirements.txt for it",
            )
        )
    return VersionInfo(version, source, findings)
