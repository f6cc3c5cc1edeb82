"""Jinja extension for this template (cookiecutter.json `_extensions`): the project folder is always one folder.

Cookiecutter creates the project folder from the slug *before* the pre-gen hook can refuse it, so a typed slug
with `/` would leave parent folders behind, and a 300-character one would crash with OSError. Only the folder
name's template is rewritten: `/` and `\\` become `-` and the name is capped at 100 characters. A valid slug
(what the hook lets through: 3-30 of a-z, 0-9, `-`) is unchanged, so every real project folder is the slug.
"""

from __future__ import annotations

from jinja2.ext import Extension

FOLDER = "{" + "{cookiecutter.project_slug}" + "}"  # the template folder's name, as cookiecutter renders it
SAFE_FOLDER = "{{ (cookiecutter.project_slug | replace('/', '-') | replace('\\\\', '-'))[:100] }}"


class SafeProjectFolder(Extension):
    """Rewrite the project folder's name template (and nothing else) into a single, bounded folder name."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return SAFE_FOLDER if source == FOLDER else source
