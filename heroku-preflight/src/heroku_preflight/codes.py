"""Every code the checker reports: its title, family, kind and the Heroku generations it applies to (data).

Kinds: `error` = Heroku's build fails or the dyno crashes; `policy` = this template's house rule (a warning,
an error under `--strict`); `warning` = worth knowing, never fails; `blocking` = the check could not run
(exit 2).
heroku-preflight's README's code table is tested against this table.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

Kind = Literal["error", "policy", "warning", "blocking"]
Generation = Literal["cedar", "fir"]
BOTH: tuple[Generation, ...] = ("cedar", "fir")
CEDAR: tuple[Generation, ...] = ("cedar",)
FIR: tuple[Generation, ...] = ("fir",)

FAMILIES = {
    "0": "the checker itself",
    "1": "imports vs requirements",
    "2": "requirements.txt pins",
    "3": "installability on Heroku",
    "4": "fresh environment",
    "5": "Procfile",
    "6": "Python version",
    "7": "package managers and the build",
    "8": "shadowing",
    "9": "path hacks and environment",
}


@dataclasses.dataclass(frozen=True)
class Code:
    code: str
    title: str
    kind: Kind
    generations: tuple[Generation, ...] = BOTH

    @property
    def family(self) -> str:
        return FAMILIES[self.code[2]]


_TABLE: list[tuple[str, Kind, tuple[Generation, ...], str]] = [
    ("HW000", "blocking", BOTH, "the checker could not start (APP_DIR is not a directory)"),
    ("HW101", "policy", BOTH, "module imported but its distribution is not in requirements.txt"),
    (
        "HW102",
        "policy",
        BOTH,
        "module imported directly but its distribution is only a transitive dependency",
    ),
    ("HW103", "policy", BOTH, "module imported by app code comes from a development-only requirement"),
    ("HW199", "blocking", BOTH, "deptry could not run"),
    ("HW201", "policy", BOTH, "requirement not pinned with =="),
    ("HW202", "error", BOTH, "hash missing on a requirement while others have hashes"),
    ("HW203", "policy", BOTH, "URL or VCS requirement"),
    ("HW204", "policy", BOTH, "editable install"),
    ("HW205", "policy", BOTH, "local path requirement inside the app"),
    ("HW206", "error", BOTH, "-r/-c include missing"),
    ("HW207", "error", BOTH, "requirement line does not parse"),
    ("HW209", "error", BOTH, "local path requirement outside the app or missing"),
    ("HW301", "policy", BOTH, "no wheel for Heroku's platform and Python: the build compiles it"),
    ("HW302", "error", BOTH, "requirements do not resolve on Heroku's platform and Python"),
    ("HW303", "error", BOTH, "pip rejects requirements that uv resolves"),
    ("HW304", "error", BOTH, "no wheel, and compiling it needs a library the stack image lacks"),
    ("HW399", "blocking", BOTH, "platform resolve could not run"),
    ("HW401", "error", BOTH, "fresh environment: requirements.txt does not install"),
    ("HW402", "error", BOTH, "pip check: installed distributions conflict"),
    ("HW403", "error", BOTH, "app module fails to import"),
    ("HW404", "warning", BOTH, "app module fails to import, but no Procfile process imports it"),
    ("HW405", "error", BOTH, "app module import timed out"),
    ("HW406", "blocking", BOTH, "pip check could not run"),
    ("HW410", "error", BOTH, "Procfile entry imports a name that does not exist"),
    ("HW411", "error", BOTH, "Procfile entry cannot be imported (or its imports hang or crash)"),
    ("HW412", "error", BOTH, "Procfile `module:attr` attribute or console-script entry point missing"),
    ("HW413", "error", BOTH, "Procfile command not found: no requirement provides it"),
    ("HW414", "warning", BOTH, "NOT VERIFIED: needs a config var, not Python, or environment-dependent"),
    ("HW419", "blocking", BOTH, "entry-point probe could not run"),
    ("HW499", "blocking", BOTH, "fresh environment could not be built"),
    ("HW501", "policy", BOTH, "Procfile missing"),
    ("HW502", "error", BOTH, "Procfile line does not parse"),
    ("HW503", "error", BOTH, "python -m target not found from the app root"),
    ("HW504", "error", BOTH, "python script not found"),
    ("HW505", "policy", BOTH, "script in a subfolder imports the app's package"),
    ("HW507", "error", BOTH, "src layout never installed"),
    ("HW508", "error", BOTH, "package run with -m has no __main__.py"),
    ("HW601", "warning", CEDAR, "runtime.txt and .python-version disagree (runtime.txt wins)"),
    ("HW602", "error", BOTH, ".python-version format"),
    ("HW603", "error", CEDAR, "runtime.txt format"),
    ("HW604", "error", BOTH, "Python version Heroku does not support"),
    ("HW605", "warning", CEDAR, "runtime.txt is deprecated"),
    ("HW606", "warning", BOTH, "Python 3.10 is deprecated on Heroku"),
    ("HW607", "policy", BOTH, "no Python version file"),
    ("HW608", "warning", CEDAR, "two Python version files"),
    ("HW609", "error", FIR, "runtime.txt: the Python CNB rejects it"),
    ("HW610", "error", CEDAR, ".python-version file name misspelled"),
    ("HW611", "error", BOTH, "Python patch version Heroku does not have"),
    ("HW612", "error", BOTH, "Python version in Pipfile.lock invalid"),
    ("HW701", "error", BOTH, "several package-manager files"),
    ("HW702", "error", BOTH, "Pipfile without Pipfile.lock"),
    ("HW703", "error", BOTH, "pyproject.toml or setup.py without a package-manager file"),
    ("HW704", "error", BOTH, "virtual environment folder committed"),
    ("HW705", "error", BOTH, "no package-manager file"),
    ("HW706", "error", CEDAR, "committed .heroku/python directory"),
    ("HW707", "error", BOTH, "Pipfile.lock invalid or out of date with Pipfile"),
    ("HW708", "error", BOTH, "uv.lock invalid or its requires-python excludes the app's Python"),
    ("HW709", "error", BOTH, "uv project without .python-version"),
    ("HW710", "error", BOTH, "poetry.lock invalid or out of date with pyproject.toml"),
    ("HW711", "error", CEDAR, "bin/pre_compile or bin/post_compile cannot run"),
    ("HW712", "warning", FIR, "bin/pre_compile or bin/post_compile is ignored on Fir"),
    ("HW714", "error", CEDAR, "bin/pre_compile or bin/post_compile fails when run"),
    ("HW715", "warning", CEDAR, "bin/post_compile not run: no environment to run it in"),
    ("HW716", "error", BOTH, "Django collectstatic fails during the build"),
    ("HW717", "warning", BOTH, "Django collectstatic not verified: no environment to run it in"),
    ("HW713", "error", BOTH, "stack Heroku does not support"),
    ("HW801", "error", BOTH, "app module shadows a standard-library module"),
    ("HW802", "error", BOTH, "app module shadows a dependency's module"),
    ("HW901", "policy", BOTH, "sys.path changed in app code"),
    ("HW902", "error", BOTH, "PYTHONPATH config var hides the app root"),
    ("HW903", "error", BOTH, "PYTHONPATH in app.json or .env hides /app"),
    ("HW904", "error", FIR, "config var the Python CNB refuses"),
]
CODES: dict[str, Code] = {code: Code(code, title, kind, gens) for code, kind, gens, title in _TABLE}


def kind(code: str) -> Kind:
    """A code's kind; an unknown code counts as an error (never silently downgraded)."""
    entry = CODES.get(code)
    return entry.kind if entry else "error"


def applies(code: str, generation: str) -> bool:
    entry = CODES.get(code)
    return entry is None or generation in entry.generations
