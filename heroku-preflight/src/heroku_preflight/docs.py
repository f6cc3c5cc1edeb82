"""The docs' code table, generated from the registry (codes.py) and the checks that report each code.

`python -m heroku_preflight.docs FILE` rewrites the table between FILE's `<!-- codes -->` and
`<!-- /codes -->` markers; without FILE it prints the table. The package's tests fail when the docs differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .checks import CHECKS
from .codes import CODES

START, END = "<!-- codes -->", "<!-- /codes -->"


def code_table() -> str:
    steps: dict[str, list[str]] = {}
    for check in CHECKS:
        for code in check.codes:
            if check.step not in steps.setdefault(code, []):
                steps[code].append(check.step)
    rows = ["| Code | Kind | Cedar/Fir | Step | What is wrong |", "|---|---|---|---|---|"]
    for code in sorted(CODES):
        rule = CODES[code]
        generations = " ".join(g.capitalize() for g in rule.generations)
        step = ", ".join(steps.get(code, ["-"]))
        rows.append(f"| {code} | {rule.kind} | {generations} | {step} | {rule.title} |")
    return "\n".join(rows) + "\n"


def with_table(text: str) -> str:
    """`text` with the table between the markers replaced by the generated one."""
    head, start, rest = text.partition(START + "\n")
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the docs need the markers {START} and {END} around the code table")
    return f"{head}{start}{code_table()}{end}{tail}"


def main(argv: list[str]) -> int:
    if not argv:
        print(code_table(), end="")
        return 0
    path = Path(argv[0])
    path.write_text(with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
