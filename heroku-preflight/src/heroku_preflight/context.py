"""What every check reads: the app, the options, the parsed files, and the fresh environment (built once)."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import lockfiles, procfile, python_version, requirements_file
from .findings import Finding, could_not_run
from .run import TOOL_HINT, find_tool

if TYPE_CHECKING:  # fresh_env (subprocess helpers) is imported only when an environment is built
    from .fresh_env import Env


@dataclasses.dataclass
class Options:
    strict: bool = False
    generation: str = "cedar"
    python: str | None = None  # --python override
    venv_backend: str = "auto"
    heroku_build: bool = False  # --build inside Heroku's build (STACK or CNB_STACK_ID set)


@dataclasses.dataclass
class Context:
    app: Path
    options: Options
    stack: contextlib.ExitStack
    version: python_version.VersionInfo = dataclasses.field(init=False)
    reqs: requirements_file.Requirements = dataclasses.field(init=False)
    processes: list[procfile.Process] = dataclasses.field(init=False)
    procfile_findings: list[Finding] = dataclasses.field(init=False)
    dists: dict[str, list[str]] | None = None  # installed top-level module -> distributions, once imported
    # (file, line) of the app-module import failures (HW403) of the step running: the entry-point check
    # does not report the same failure again as HW411.
    import_failures: set[tuple[str | None, int | None]] = dataclasses.field(default_factory=set)
    env: Env | None = None
    env_failed: bool = False
    early_pip: Any = None  # pip's resolve, started before the steps (a Popen or a could-not-run Finding)
    requirements: str = "requirements.txt"  # what the fresh env installs (a lock's pins for non-pip apps)

    def __post_init__(self) -> None:
        self.version = python_version.check(self.app, self.options.generation)
        self.reqs = requirements_file.parse(self.app)
        self.processes, self.procfile_findings = procfile.parse(self.app)

    @property
    def target(self) -> str:
        return self.options.python or self.version.version

    @property
    def minor(self) -> int:
        return int(self.target.split(".")[1])

    def fresh_env(self) -> tuple[Env | None, list[Finding]]:
        from . import fresh_env

        """The environment built from requirements.txt for the target Python (built on first use)."""
        if self.env is not None or self.env_failed:
            return self.env, []
        self.env_failed = True
        requirements = "requirements.txt"
        if not self.reqs.exists:
            pins = lockfiles.lock_pins(self.app)
            if pins is None:
                return None, [could_not_run(
                    "HW499", "no requirements.txt or readable lock to build the fresh environment from",
                    "fix the lock file (see HW7xx), then run again",
                )]  # fmt: skip
            folder = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="preflight-pins-")))
            (folder / "requirements.txt").write_text("".join(f"{line}\n" for line in pins if line))
            requirements = self.requirements = str(folder / "requirements.txt")
        uv = find_tool("uv")
        backend = (
            self.options.venv_backend if self.options.venv_backend != "auto" else ("uv" if uv else "venv")
        )
        if backend == "uv" and uv is None:
            return None, [
                could_not_run("HW499", "--venv-backend uv but uv is not installed", TOOL_HINT.format("uv"))
            ]
        minor = f"3.{self.minor}"
        python = fresh_env.find_python(minor, uv)
        if python is None:
            source = "--python" if self.options.python else self.version.source
            return None, [could_not_run(
                "HW499", f"Python {minor} (the app's target, from {source}) is not installed on this machine",
                f"install it (`uv python install {minor}`, pyenv, or your OS), or check another version with "
                "`--python X.Y`; `--static` and `--build` need no second Python",
            )]  # fmt: skip
        out: list[Finding] = []
        self.env = self.stack.enter_context(
            fresh_env.build(self.app, python, minor, backend, uv, out, self.reqs, requirements)
        )
        if self.env is None and backend == "uv" and any(f.code == "HW401" for f in out):
            # uv refused the install: ask pip, which the build runs (uv rejects editable git requirements).
            out = []
            self.env = self.stack.enter_context(
                fresh_env.build(self.app, python, minor, "venv", uv, out, self.reqs, requirements)
            )
        self.env_failed = self.env is None
        return self.env, out
