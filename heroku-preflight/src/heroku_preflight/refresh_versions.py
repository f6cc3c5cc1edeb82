"""Refresh heroku_versions.json from the classic buildpack's `lib/python_version.sh` (needs the network).

`python -m heroku_preflight.refresh_versions [URL]`; the baked project's `nox -s refresh-versions` runs it.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
import urllib.request

from .heroku import VERSIONS_FILE

SOURCE = "https://raw.githubusercontent.com/heroku/heroku-buildpack-python/main/lib/python_version.sh"
TOOLS = ("pip", "pipenv", "poetry", "uv")  # requirements/<tool>.txt beside lib/: `<tool>==X.Y.Z`


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
        "deprecated": deprecated(text),
    }


MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")  # fmt: skip


def deprecated(text: str) -> dict[str, str]:
    """X.Y -> ISO date from `warn_if_deprecated_major_version` ("… removed from this buildpack on 6th January
    2027"); empty when the buildpack deprecates none."""
    body = re.search(r"warn_if_deprecated_major_version\(\) \{(.*?)\n\}", text, re.S)
    if body is None:
        return {}
    found = {}
    for version, rest in re.findall(r'== "(3\.\d+)" \]\]; then(.*?)\bfi\b', body[1], re.S):
        when = re.search(r"on (\d+)\w*\s+(\w+)\s+(\d{4})", rest)
        if when and when[2].lower() in MONTHS:
            found[version] = f"{when[3]}-{MONTHS.index(when[2].lower()) + 1:02d}-{int(when[1]):02d}"
    return found


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        text: str = response.read().decode("utf-8")
    return text


def tool_pin(text: str) -> str:
    """`pip==26.2.1` (the buildpack's requirements/pip.txt) -> "26.2.1"."""
    found = re.search(r"^[A-Za-z0-9_.-]+==(\S+)", text, re.M)
    if found is None:
        raise ValueError(f"no `name==version` pin in {text[:80]!r}")
    return found[1]


def main(argv: list[str]) -> int:
    url = argv[0] if argv else SOURCE
    try:
        text = fetch(url)
    except OSError as exc:
        print(f"could not fetch {url}: {exc}", file=sys.stderr)
        return 2
    data = {"taken": datetime.date.today().isoformat(), "source": url, **parse(text)}
    pins = {tool: url.replace("lib/python_version.sh", f"requirements/{tool}.txt") for tool in TOOLS}
    try:
        data["build_tools"] = {tool: tool_pin(fetch(pin_url)) for tool, pin_url in pins.items()}
    except (OSError, ValueError) as exc:
        print(f"could not read the build's tool pins: {exc}", file=sys.stderr)
        return 2
    VERSIONS_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"{VERSIONS_FILE.name}: {data['latest']} (default {data['default']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
