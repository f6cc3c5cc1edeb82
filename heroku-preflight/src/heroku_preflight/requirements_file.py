"""Parse requirements.txt the way pip reads it (stdlib only) and check pins, hashes, URLs, paths, includes."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .findings import Finding, error, warning

LOCK_COMMAND = "uv pip compile requirements.in -o requirements.txt --generate-hashes"
# For an app without requirements.in: uv reads requirements.txt itself as the input, then rewrites it pinned.
LOCK_IN_PLACE = "uv pip compile requirements.txt -o requirements.txt --generate-hashes"
SDIST_OK_MARKER = "preflight: sdist-ok"  # comment on a requirement line: a pure-Python sdist that builds

_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_SPECIFIERS = re.compile(
    r"^\(?\s*(?:(?:~=|===|==|!=|<=|>=|<|>)\s*[A-Za-z0-9.*+!_-]+\s*(?:,\s*|(?=\)|$)))+\)?$"
)
_PIN = re.compile(r"^===?\s*([^\s,*;]+)$")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s+|=)(.+)$")
_EDITABLE = re.compile(r"^(-e|--editable)(?:\s+|=)(.+)$")
_HASH = re.compile(r"--hash[=\s]+(\S+)")
# Options pip accepts in a requirements file that say nothing about one requirement.
_GLOBAL_OPTIONS = (
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "-f",
    "--find-links",
    "--pre",
    "--trusted-host",
    "--prefer-binary",
    "--require-hashes",
    "--only-binary",
    "--no-binary",
    "--use-feature",
    "--config-settings",
)


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclasses.dataclass(frozen=True)
class Requirement:
    name: str
    version: str | None  # the == pin, None when not pinned
    hashes: tuple[str, ...]
    file: str  # relative to the app root
    line: int
    text: str  # the requirement as written, without hashes and comment
    sdist_ok: bool = False

    @property
    def key(self) -> str:
        return normalize(self.name)


@dataclasses.dataclass
class Requirements:
    items: list[Requirement] = dataclasses.field(default_factory=list)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    files: list[str] = dataclasses.field(default_factory=list)
    exists: bool = False
    via: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # `# via` notes of pip-compile / uv
    app_dir: str = "."  # where requirements.txt is (the working directory for pip and uv)
    has_in: bool = False  # requirements.in beside it: the source to edit, then re-lock

    @property
    def lock_command(self) -> str:
        """The re-lock command that fits this app (never names a requirements.in it does not have)."""
        return LOCK_COMMAND if self.has_in else LOCK_IN_PLACE

    def add_advice(self, what: str) -> str:
        where = "requirements.in, then re-lock: `" + LOCK_COMMAND + "`" if self.has_in else "requirements.txt"
        return f"add {what}, pinned, to {where}"

    def names(self) -> set[str]:
        return {r.key for r in self.items}

    def direct(self) -> list[Requirement] | None:
        """What a lock says was asked for directly (`# via -r requirements.in`); None if not annotated."""
        if not self.via:
            return None
        marks = ("-r ", "-c ")
        return [
            r for r in self.items
            if any(v.startswith(marks) or v.endswith(("(pyproject.toml)", "(setup.py)", "(setup.cfg)"))
                   for v in self.via.get(r.key, []))
        ]  # fmt: skip

    def find(self, name: str) -> Requirement | None:
        key = normalize(name)
        return next((r for r in self.items if r.key == key), None)


def logical_lines(text: str) -> list[tuple[int, str, str]]:
    """(first physical line number, content without comment, comment) with backslash continuations joined."""
    out: list[tuple[int, str, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        if raw.endswith("\\"):
            buffer += raw[:-1] + " "
            continue
        buffer += raw
        comment = ""
        match = re.search(r"(^|\s)#", buffer)
        if match:
            comment = buffer[match.end() :].strip()
            buffer = buffer[: match.start()]
        if buffer.strip() or comment:
            out.append((start, buffer.strip(), comment))
        buffer = ""
    if buffer.strip():
        out.append((start, buffer.strip(), ""))
    return out


def _looks_like_url(spec: str) -> bool:
    return "://" in spec or spec.startswith(("git+", "hg+", "svn+", "bzr+")) or " @ " in f" {spec} "


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith((".", "/", "~", "\\"))
        or "/" in spec.split(";")[0]
        or spec.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2"))
    )


def parse(app: Path, name: str = "requirements.txt") -> Requirements:
    result = Requirements()
    path = app / name
    if not path.is_file():
        return result
    result.exists = True
    result.has_in = (app / "requirements.in").is_file()
    result.app_dir = str(app)
    _parse_file(app, path, result, seen=set())
    _check_hashes(result)
    return result


def _rel(app: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(app.resolve()).as_posix()
    except ValueError:
        return str(path)


def _parse_file(app: Path, path: Path, result: Requirements, seen: set[Path]) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    rel = _rel(app, path)
    result.files.append(rel)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    current: str | None = None  # the requirement that `# via` comment lines belong to
    collecting = False
    for line, content, comment in logical_lines(text):
        if not content:
            if current and comment.startswith("via "):
                result.via.setdefault(current, []).append(comment[4:].strip())
            elif current and comment == "via":
                collecting = True
            elif current and collecting:
                result.via.setdefault(current, []).append(comment.strip())
            continue
        current, collecting = None, False
        include = _INCLUDE.match(content)
        if include:
            target = (path.parent / include.group(2).strip()).resolve()
            if not target.is_file():
                result.findings.append(
                    error(
                        "HW206",
                        rel,
                        line,
                        f"{include.group(1)} {include.group(2).strip()} names a file that does not exist",
                        "fix the path (it is relative to the including file) or remove the line",
                    )
                )
            elif include.group(1) in ("-r", "--requirement"):
                _parse_file(app, target, result, seen)
            continue
        editable = _EDITABLE.match(content)
        if editable:
            result.findings.append(
                error(
                    "HW204",
                    rel,
                    line,
                    f"editable install `{content}`: Heroku installs a slug, not a checkout",
                    "pin the distribution (`name==X.Y.Z`), or put the code in the app and run it with "
                    "`python -m`",
                )
            )
            continue
        if content.startswith(_GLOBAL_OPTIONS) or content.startswith("-"):
            continue
        before = len(result.items)
        _parse_requirement(app, path, rel, line, content, comment, result)
        current = result.items[-1].key if len(result.items) > before else None


def _parse_requirement(
    app: Path, path: Path, rel: str, line: int, content: str, comment: str, result: Requirements
) -> None:
    hashes = tuple(_HASH.findall(content))
    spec = _HASH.sub("", content).strip()
    spec = re.sub(r"\s--\S+.*$", "", spec).strip()  # per-requirement options such as --config-settings
    if _looks_like_url(spec):
        result.findings.append(
            error(
                "HW203",
                rel,
                line,
                f"URL requirement `{spec}`: not pinned to a release, fails with hashes or offline",
                "publish or pin a release from the package index (`name==X.Y.Z`); vendor private code into "
                "the app",
            )
        )
        return
    if _looks_like_path(spec):
        target = (path.parent / spec.split(";")[0].strip()).expanduser()
        inside = target.resolve().is_relative_to(app.resolve()) and target.exists()
        if inside:
            result.findings.append(
                warning(
                    "HW205",
                    rel,
                    line,
                    f"local path requirement `{spec}`: built from source on every deploy, unpinned",
                    "prefer importing the code from the app root (`python -m pkg`), or pin a published "
                    "release",
                )
            )
        else:
            result.findings.append(
                error(
                    "HW209",
                    rel,
                    line,
                    f"local path `{spec}` is outside the app or missing: Heroku cannot resolve it",
                    "pin a published release (`name==X.Y.Z`) or move the code into the app",
                )
            )
        return
    match = _NAME.match(spec)
    if not match:
        result.findings.append(
            error(
                "HW207",
                rel,
                line,
                f"cannot parse requirement `{spec}`",
                "write it as `name==X.Y.Z` (PEP 508); pip fails on this line too",
            )
        )
        return
    name, _extras, rest = match.groups()
    specifier = rest.split(";", 1)[0].strip()
    if specifier and not _SPECIFIERS.match(specifier):
        result.findings.append(error(
            "HW207", rel, line, f"cannot parse requirement `{spec}`: `{specifier}` is no specifier",
            "write it as `name==X.Y.Z` (PEP 508); pip fails on this line too",
        ))  # fmt: skip
        return
    pin = _PIN.match(specifier)
    version = pin.group(1) if pin else None
    if version is None:
        shown = f"{name}{specifier}" if specifier else name
        result.findings.append(
            error(
                "HW201",
                rel,
                line,
                f"{shown} is not pinned with ==: each build may install a different version",
                f"pin it (`{name}==X.Y.Z`), or lock everything: `{result.lock_command}`",
            )
        )
    result.items.append(
        Requirement(
            name,
            version,
            hashes,
            rel,
            line,
            spec,
            sdist_ok=SDIST_OK_MARKER in comment,
        )
    )


def _check_hashes(result: Requirements) -> None:
    """pip turns on hash-checking for the whole install as soon as one requirement has a hash."""
    if not any(r.hashes for r in result.items):
        return
    for req in result.items:
        if not req.hashes:
            result.findings.append(
                error(
                    "HW202",
                    req.file,
                    req.line,
                    f"{req.name} has no --hash while other requirements do: pip refuses the whole install",
                    f"regenerate the lock with hashes: `{result.lock_command}`",
                )
            )
