"""Test events and what storing them must give (first of each id wins)."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any


def make_events(count: int, seed: int = 1, accounts: int = 50, prefix: str = "evt") -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "id": f"{prefix}-{seed}-{i}",
            "account": f"acct-{rng.randrange(accounts)}",
            "amount": round(rng.uniform(-100, 1000), 2),
            "occurred_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}Z",
        }
        for i in range(count)
    ]


def lines(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def expected_totals(events: list[dict[str, Any]]) -> dict[str, tuple[Decimal, int]]:
    seen: set[str] = set()
    totals: dict[str, tuple[Decimal, int]] = {}
    for event in events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        total, count = totals.get(event["account"], (Decimal(0), 0))
        totals[event["account"]] = (total + Decimal(str(event["amount"])), count + 1)
    return totals
