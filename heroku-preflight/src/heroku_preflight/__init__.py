"""heroku-preflight: the one checker that says whether this Heroku Python app will build and start.

Stdlib-only core (`--static`, `--build`); the full run adds a fresh environment (uv or venv), deptry and a uv
resolve for Heroku's platform. Codes and callers: heroku-preflight's README. Run: `heroku-preflight --help`.
"""

__version__ = "0.1.0"
