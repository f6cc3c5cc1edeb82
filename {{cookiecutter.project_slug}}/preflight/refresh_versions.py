"""Refresh heroku_versions.json from the classic buildpack's `lib/python_version.sh` (needs the network).

`python -m preflight.refresh_versions [URL]`; the baked project's `nox -s refresh-versions` runs it.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import urllib.request

from .heroku import VERSIONS_FILE

SOURCE = "https://raw.githubusercontent.com/heroku/heroku-buildpack-python/main/lib/python_version.sh"


def parse(text: str) -> dict[str, object]:
    """The LATEST_PYTHON_3_X table and the default major version of a python_version.sh."""
    latest = {f"3.{m}": v for m, v in re.findall(r'^LATEST_PYTHON_3_(\d+)="(3\.\d+\.\d+)"', text, re.M)}
    default = re.search(r'^DEFAULT_PYTHON_FULL_VERSION="\$\{LATEST_PYTHON_3_(\d+)\}"', text, re.M)
    if not latest or default is None:
        raise ValueError(
            "no LATEST_PYTHON_3_X / DEFAULT_PYTHON_FULL_VERSION found: the script's format changed"
        )
    return {
        "latest": dict(sorted(latest.items(), key=lambda kv: int(kv[0][2:]))),
        "default": f"3.{default[1]}",
    }


def main(argv: list[str]) -> int:
    url = argv[0] if argv else SOURCE
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode("utf-8")
    except OSError as exc:
        print(f"could not fetch {url}: {exc}", file=sys.stderr)
        return 2
    data = {"taken": datetime.date.today().isoformat(), "source": url, **parse(text)}
    VERSIONS_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"{VERSIONS_FILE.name}: {data['latest']} (default {data['default']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
