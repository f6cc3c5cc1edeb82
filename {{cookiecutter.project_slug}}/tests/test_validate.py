"""Validation against the declared shape, property-based: what is refused, why, and what is stored."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.__package_name }}.prepare import prepare
from {{ cookiecutter.__package_name }}.queue import Job
from {{ cookiecutter.__package_name }}.schema import MAX_AMOUNT, MAX_TEXT
from {{ cookiecutter.__package_name }}.validate import Invalid, check_payload

UTC = timezone(timedelta(0))
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40)
amounts = st.one_of(
    st.integers(min_value=-(10**10), max_value=10**10),
    st.decimals(min_value=-(10**9), max_value=10**9, places=2).map(float),
)
moments = st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2199, 1, 1), timezones=st.just(UTC))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
valid_events = st.fixed_dictionaries(
    {"id": text, "account": text, "amount": amounts, "occurred_at": moments.map(lambda d: d.isoformat())}
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
any_events = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(text, json_values, st.text(min_size=MAX_TEXT, max_size=MAX_TEXT + 5)),
        "account": st.one_of(text, json_values),
        "amount": st.one_of(amounts, json_values, st.integers(), st.just(10**400), st.just(1e308)),
        "occurred_at": st.one_of(moments.map(lambda d: d.isoformat()), json_values, st.text(max_size=30)),
    },
)


def event(**fields: object) -> bytes:
    """A payload: a valid event with some fields replaced (None: left out); raw JSON via bytes values."""
    base: dict[str, object] = {"id": "i", "account": "a", "amount": 1, "occurred_at": "2025-01-01T00:00:00Z"}
    base.update(fields)
    parts = [
        f'"{k}": ' + (v.decode() if isinstance(v, bytes) else json.dumps(v))
        for k, v in base.items()
        if v is not None
    ]
    return ("{" + ", ".join(parts) + "}").encode()


def jobs_of(records: list[Any]) -> list[Job]:
    return [Job(f"1-{i}", json.dumps(r).encode(), 1) for i, r in enumerate(records)]


@given(valid_events)
def test_valid_events_are_accepted_and_normalised(event: dict[str, Any]) -> None:
    stored = check_payload(json.dumps(event))
    assert (stored.id, stored.account, stored.amount) == (event["id"], event["account"], event["amount"])
    assert stored.occurred_at == datetime.fromisoformat(event["occurred_at"])
    assert stored.occurred_at.tzinfo is not None and stored.occurred_at.utcoffset() == timedelta(0)


@given(any_events)
def test_any_record_is_stored_or_refused_with_a_reason(record: dict[str, Any]) -> None:
    try:
        event = check_payload(json.dumps(record))
    except Invalid as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert 1 <= len(event.id) <= MAX_TEXT and abs(event.amount) < MAX_AMOUNT


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(valid_events, any_events), min_size=1, max_size=30))
def test_batch_pipeline_agrees_with_the_plain_rules(records: list[dict[str, Any]]) -> None:
    jobs = jobs_of(records)
    prepared = prepare(jobs)
    expected_rows: dict[str, tuple[str, float, int]] = {}
    expected_refused: dict[str, str] = {}
    for job in jobs:
        try:
            event = check_payload(job.payload)
        except Invalid as exc:
            expected_refused[job.entry_id] = str(exc)
            continue
        micros = (event.occurred_at - EPOCH) // timedelta(microseconds=1)
        expected_rows.setdefault(event.id, (event.account, event.amount, micros))
    assert {job.entry_id: reason for job, reason in prepared.refused} == expected_refused
    c = prepared.rows.rows.columns
    assert len(c["id"]) == len(set(c["id"]))
    columns = zip(c["id"], c["account"], c["amount"], c["occurred_at"], strict=True)
    got = {i: (a, u, t) for i, a, u, t in columns}
    assert got == expected_rows


def test_duplicates_within_a_batch_keep_the_first() -> None:
    base = {"account": "a", "occurred_at": "2025-01-01T00:00:00Z"}
    records = [
        {"id": "x", "amount": 1, **base},
        {"id": "x", "amount": 2, **base},
        {"id": "y", "amount": 3, **base},
    ]
    prepared = prepare(jobs_of(records))
    columns = prepared.rows.rows.columns
    assert columns["id"] == ["x", "y"] and columns["amount"] == [1, 3]
    assert prepared.refused == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b'"just a string"', "expected a JSON object, got str"),
        (event(id=None), "missing field id"),
        (event(id=5), "id must be a string, got int"),
        (event(id=""), "id must be of length >= 1"),
        (event(id="x" * 10_000), "id must be of length <= 255"),
        (event(id=b'"a\\u0000b"'), "id contains a NUL character"),
        (event(account=b'"\\ud800"'), "malformed JSON: .*surrogate"),
        (event(amount=True), "amount must be a number, got bool"),
        (event(amount=b"NaN"), "malformed JSON"),
        (event(amount=1e308), "amount out of range"),
        (event(amount=b"9" * 400), "amount out of range"),
        (event(occurred_at="yesterday"), "occurred_at is not an RFC 3339 date-time"),
        (event(occurred_at="2025-01-01"), "occurred_at is not an RFC 3339 date-time"),
        (event(occurred_at="1800-01-01T00:00:00Z"), "occurred_at must be from 1900 to 2200"),
        (event(occurred_at="9999-12-31T23:00:00-05:00"), "occurred_at must be from 1900 to 2200"),
        (event(extra=b'"ignored"', occurred_at="2025-01-01T00:00"), "occurred_at is not an RFC 3339"),
        (event(occurred_at=1700000000), "occurred_at must be an RFC 3339 date-time string, got int"),
        (event(extra=b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),  # was RecursionError: retried
    ],
)
def test_refusal_reasons(payload: bytes, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        check_payload(payload)
    prepared = prepare([Job("1-0", payload, 1)])
    assert len(prepared.refused) == 1 and re.search(reason, prepared.refused[0][1])
    assert len(prepared.rows) == 0
