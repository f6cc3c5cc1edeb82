"""Test events of the declared shape (schema.py), and what storing them must give (first of each key wins).

Values derive from each field's declared type, so a field added to `schema.Event` appears in every test
event without editing this file. Text fields other than the key take one of `accounts` values (so the demo's
per-account totals group events).
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from decimal import Decimal
from typing import Any

from {{ cookiecutter.__package_name }}.schema import FIELDS, KEY, TYPES


def value(name: str, kind: type, i: int, rng: random.Random, accounts: int, key: str) -> Any:
    if name == KEY:
        return key
    if kind is str:
        return f"{'acct' if name == 'account' else name}-{rng.randrange(accounts)}"
    if kind is float:
        return round(rng.uniform(-100, 1000), 2)
    if kind is int:
        return rng.randrange(-1000, 1000)
    if kind is bool:
        return rng.random() < 0.5
    if kind is datetime:
        return f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z"
    raise TypeError(f"eventgen has no generator for {name}: {kind}; add one")


def make_events(count: int, seed: int = 1, accounts: int = 50, prefix: str = "evt") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {name: value(name, TYPES[name], i, rng, accounts, f"{prefix}-{seed}-{i}") for name in FIELDS}
        for i in range(count)
    ]


def lines(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def expected_totals(events: list[dict[str, Any]]) -> dict[str, tuple[Decimal, int]]:
    seen: set[str] = set()
    totals: dict[str, tuple[Decimal, int]] = {}
    for event in events:
        if event[KEY] in seen:
            continue
        seen.add(event[KEY])
        total, count = totals.get(event["account"], (Decimal(0), 0))
        totals[event["account"]] = (total + Decimal(str(event["amount"])), count + 1)
    return totals
