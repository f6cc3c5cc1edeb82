"""What a check reports: findings with stable codes, step timings, and the run's exit status."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Severity = Literal["error", "warning"]

CLEAN, ERRORS, COULD_NOT_RUN = 0, 1, 2

# Stable codes: family digit = what is wrong (see docs/preflight.md). Titles only; messages carry the detail.
CODES: dict[str, str] = {
    "HW000": "the checker could not start (APP_DIR is not a directory)",
    "HW101": "module imported but its distribution is not in requirements.txt",
    "HW102": "module imported directly but its distribution is only a transitive dependency",
    "HW103": "module imported by app code comes from a development-only requirement",
    "HW199": "deptry could not run",
    "HW201": "requirement not pinned with ==",
    "HW202": "hash missing on a requirement while others have hashes",
    "HW203": "URL or VCS requirement",
    "HW204": "editable install",
    "HW205": "local path requirement",
    "HW206": "-r/-c include missing",
    "HW207": "requirement line does not parse",
    "HW301": "no wheel for Heroku's platform and Python",
    "HW302": "requirements do not resolve on Heroku's platform and Python",
    "HW399": "platform resolve could not run",
    "HW401": "fresh environment: requirements.txt does not install",
    "HW402": "pip check: installed distributions conflict",
    "HW403": "app module fails to import",
    "HW404": "Procfile process target fails to import or resolve",
    "HW405": "import timed out",
    "HW406": "pip check could not run",
    "HW499": "fresh environment could not be built",
    "HW501": "Procfile missing",
    "HW502": "Procfile line does not parse",
    "HW503": "python -m target not found from the app root",
    "HW504": "python script not found",
    "HW505": "script in a subfolder imports the app's package",
    "HW506": "command not provided by any requirement",
    "HW507": "src layout never installed",
    "HW508": "package run with -m has no __main__.py",
    "HW601": "runtime.txt and .python-version disagree",
    "HW602": ".python-version format",
    "HW603": "runtime.txt format",
    "HW604": "Python version Heroku does not support",
    "HW605": "runtime.txt is deprecated",
    "HW606": "Python 3.10 leaves Heroku in January 2027",
    "HW607": "no Python version file",
    "HW608": "two Python version files",
    "HW701": "several package-manager files",
    "HW702": "Pipfile without Pipfile.lock",
    "HW703": "pyproject.toml or setup.py without a package-manager file",
    "HW704": "virtual environment folder committed",
    "HW705": "no package-manager file",
    "HW801": "app module shadows a standard-library module",
    "HW802": "app module shadows a dependency's module",
    "HW901": "sys.path changed in app code",
    "HW902": "PYTHONPATH config var hides the app root",
    "HW903": "PYTHONPATH in app.json or .env hides /app",
}


@dataclasses.dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    file: str | None  # relative to the app root; None when the finding is about the app as a whole
    line: int | None
    message: str
    fix: str
    blocking: bool = False  # True: the check could not run (exit 2), not a defect of the app

    def where(self) -> str:
        if self.file is None:
            return "(app)"
        return f"{self.file}:{self.line}" if self.line else self.file

    def to_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def error(code: str, file: str | None, line: int | None, message: str, fix: str) -> Finding:
    return Finding(code, "error", file, line, message, fix)


def warning(code: str, file: str | None, line: int | None, message: str, fix: str) -> Finding:
    return Finding(code, "warning", file, line, message, fix)


def could_not_run(code: str, message: str, fix: str) -> Finding:
    return Finding(code, "error", None, None, message, fix, blocking=True)


@dataclasses.dataclass
class Step:
    name: str
    seconds: float = 0.0
    status: str = "ok"  # ok | failed | could-not-run | skipped
    detail: str = ""


@dataclasses.dataclass
class Report:
    app_dir: str
    python: str
    findings: list[Finding] = dataclasses.field(default_factory=list)
    steps: list[Step] = dataclasses.field(default_factory=list)

    def add(self, findings: list[Finding] | Iterator[Finding]) -> list[Finding]:
        added = list(findings)
        self.findings.extend(added)
        return added

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        """Time a step; its status follows from the findings it added unless the step set one itself."""
        step = Step(name)
        self.steps.append(step)
        before = len(self.findings)
        started = time.perf_counter()
        try:
            yield step
        finally:
            step.seconds = round(time.perf_counter() - started, 3)
            new = self.findings[before:]
            if step.status == "ok":
                if any(f.blocking for f in new):
                    step.status = "could-not-run"
                elif any(f.severity == "error" for f in new):
                    step.status = "failed"

    @property
    def exit_code(self) -> int:
        if any(f.blocking for f in self.findings):
            return COULD_NOT_RUN
        if any(f.severity == "error" for f in self.findings):
            return ERRORS
        return CLEAN

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.exit_code == CLEAN,
            "exit_code": self.exit_code,
            "app_dir": self.app_dir,
            "python": self.python,
            "findings": [f.to_json() for f in self.findings],
            "steps": [dataclasses.asdict(s) for s in self.steps],
        }
