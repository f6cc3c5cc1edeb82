"""Jinja extension for this template (cookiecutter.json `_extensions`): the project folder is always one folder.

Cookiecutter creates the project folder from the slug *before* the pre-gen hook can refuse it, so a typed slug
with `/` would leave parent folders behind, and a 300-character one would crash with OSError. Only the folder
name's template is rewritten: `/` and `\\` become `-` and the name is capped at 100 characters. A valid slug
(what the hook lets through: 3-30 of a-z, 0-9, `-`) is unchanged, so every real project folder is the slug.
"""

from __future__ import annotations

import logging
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

FOLDER = "{" + "{cookiecutter.project_slug}" + "}"  # the template folder's name, as cookiecutter renders it
SAFE_FOLDER = "{{ (cookiecutter.project_slug | replace('/', '-') | replace('\\\\', '-'))[:100] }}"


class SafeProjectFolder(Extension):
    """Rewrite the project folder's name template (and nothing else) into a single, bounded folder name."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return SAFE_FOLDER if source == FOLDER else source


class RefusalWithoutTraceback(logging.Filter):
    """Drop the traceback cookiecutter logs when the pre-gen hook refuses the answers.

    The hook has printed every bad answer and the command to answer again; cookiecutter's own traceback of
    its FailedHookException (logged by `cookiecutter.hooks` with `logger.exception`) says nothing more. Its
    message line stays. Any other record, a post-gen failure's included, is left whole.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Stopping generation because") and record.args == ("pre_gen_project",):
            record.exc_info, record.exc_text = None, None
        return True


class QuietRefusal(Extension):
    """Install RefusalWithoutTraceback on cookiecutter's hook logger (once) when the template is loaded."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        hooks_logger: Any = logging.getLogger("cookiecutter.hooks")
        if not any(isinstance(f, RefusalWithoutTraceback) for f in hooks_logger.filters):
            hooks_logger.addFilter(RefusalWithoutTraceback())
