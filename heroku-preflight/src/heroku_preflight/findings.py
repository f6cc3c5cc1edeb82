"""What a check reports: findings with stable codes, step timings, and the run's exit status."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

from .codes import applies, kind

Severity = Literal["error", "warning"]

CLEAN, ERRORS, COULD_NOT_RUN = 0, 1, 2

# Codes, their titles and kinds (error/policy/warning/blocking) live in codes.py.


@dataclasses.dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    file: str | None  # relative to the app root; None when the finding is about the app as a whole
    line: int | None
    message: str
    fix: str
    blocking: bool = False  # True: the check could not run (exit 2), not a defect of the app
    policy: bool = (
        False  # True: a house rule of this template (an error only under --strict), not Heroku's verdict
    )

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


def with_kind(finding: Finding, strict: bool) -> Finding:
    """Apply the code's kind (codes.py): policy is a warning unless --strict; a warning never fails."""
    entry = kind(finding.code)
    if entry == "policy":
        return dataclasses.replace(finding, severity="error" if strict else "warning", policy=True)
    if entry == "warning" and not finding.blocking:
        return dataclasses.replace(finding, severity="warning")
    return finding


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
    strict: bool = False
    generation: str = "cedar"  # "cedar" (classic buildpack) or "fir" (the Python CNB)

    def add(self, findings: Iterable[Finding]) -> list[Finding]:
        """Keep the findings that apply to this generation, each with its code's kind applied."""
        added = [with_kind(f, self.strict) for f in findings if applies(f.code, self.generation)]
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
        """Definite errors win: 1 when the app has an error even if another step could not run (the summary
        says so), 2 only when nothing definite was found and something was not verified."""
        if any(f.severity == "error" and not f.blocking for f in self.findings):
            return ERRORS
        if any(f.blocking for f in self.findings):
            return COULD_NOT_RUN
        return CLEAN

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.exit_code == CLEAN,
            "exit_code": self.exit_code,
            "app_dir": self.app_dir,
            "python": self.python,
            "generation": self.generation,
            "strict": self.strict,
            "findings": [f.to_json() for f in self.findings],
            "steps": [dataclasses.asdict(s) for s in self.steps],
        }
