"""Validation against the declared shape (schema.py), whatever it is: one reason per refused job, any path."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from conftest import Services, wait_until
from eventgen import FIELDS, OTHER, event, expected, invalid, make_events

from events_worker.prepare import prepare
from events_worker.queue_protocol import Job
from events_worker.schema import KEY, TEXT_FIELDS, Event, exact, exact_of
from events_worker.validate import Invalid, check_payload


def jobs_of(payloads: list[bytes]) -> list[Job]:
    return [Job(f"1-{i}", payload, 1) for i, payload in enumerate(payloads)]


def test_every_generated_event_is_valid_and_keeps_its_key() -> None:
    for record in make_events(200, seed=3):
        assert getattr(check_payload(json.dumps(record)), KEY) == record[KEY]


def test_a_batch_refuses_exactly_the_jobs_the_plain_rules_refuse_with_the_same_reason() -> None:
    records = make_events(40, seed=31)
    payloads = [json.dumps(r).encode() for r in records]
    payloads[5] = json.dumps(invalid("bad-5")).encode()
    payloads[17] = b"{not json"
    payloads[30] = json.dumps({k: v for k, v in records[30].items() if k != OTHER}).encode()
    prepared = prepare(jobs_of(payloads))
    refused = {job.entry_id: reason for job, reason in prepared.refused}
    want = {}
    for job in jobs_of(payloads):
        try:
            check_payload(job.payload)
        except Invalid as exc:
            want[job.entry_id] = str(exc)
    assert refused == want and set(refused) == {"1-5", "1-17", "1-30"}
    assert refused["1-30"] == f"missing field {OTHER}"


def test_duplicates_within_a_batch_keep_the_first() -> None:
    """A key sent twice with other content: the batch stores what the first alone would have stored."""
    first, second = make_events(2, seed=32)
    again = {**second, KEY: first[KEY]}
    assert expected([first, again, second]) == expected([first, second])
    assert len(prepare(jobs_of([json.dumps(e).encode() for e in (first, again)])).refused) == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b'"just a string"', "expected a JSON object, got str"),
        (b"[1, 2]", "expected a JSON object, got array"),
        (json.dumps({k: v for k, v in event("k").items() if k != KEY}).encode(), f"missing field {KEY}"),
        (json.dumps(invalid("k")).encode(), f"{OTHER} must be .*got array"),
        # 500 deep, built as bytes: on Python 3.11 both json and msgspec stop near 1,000 (the recursion limit)
        (json.dumps(event("k")).encode()[:-1] + b', "extra": ' + b"[" * 500 + b"]" * 500 + b"}", None),
        (b'{"extra": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
    ids=["malformed", "not-utf8", "string", "array", "no-key", "wrong-type", "deep-unknown-ok", "too-deep"],
)
def test_refusal_reasons(payload: bytes, reason: str | None) -> None:
    prepared = prepare([Job("1-0", payload, 1)])
    if reason is None:  # an unknown field is ignored by default, however it is nested
        assert check_payload(payload) and prepared.refused == []
        return
    with pytest.raises(Invalid, match=reason):
        check_payload(payload)
    assert len(prepared.refused) == 1 and re.search(reason, prepared.refused[0][1])
    assert len(prepared.batch) == 0


@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_a_nul_character_in_text_is_refused(name: str) -> None:
    """PostgreSQL's text cannot hold NUL: every text field refuses it, naming the field (a field of fixed
    values refuses it as not one of them)."""
    payload = json.dumps({**event("k"), name: "a\u0000b"}).encode()
    with pytest.raises(Invalid, match=f"^{name} (contains a NUL character|is not one of its allowed values)"):
        check_payload(payload)


def test_the_generator_fills_every_declared_field() -> None:
    assert all(set(record) == {f.name for f in FIELDS} for record in make_events(20))


def test_an_exact_amount_is_refused_beyond_its_decimals_or_digits_never_rounded() -> None:
    exact("price", Decimal("12.34"), 12, 2)
    exact("price", Decimal("-9999999999.99"), 12, 2)
    exact("price", Decimal("12.3400"), 12, 2)  # trailing zeros are not more decimals
    for value, reason in [
        ("12.345", "price has more than 2 decimals"),
        ("0.001", "price has more than 2 decimals"),
        ("10000000000", "price out of range"),
        ("1E+400", "price out of range"),
        ("NaN", "price must be a finite number"),
        ("-Infinity", "price must be a finite number"),
    ]:
        with pytest.raises(ValueError, match=reason):
            exact("price", Decimal(value), 12, 2)


def test_money_with_one_decimal_too_many_is_a_dead_letter_with_its_reason(services: Services) -> None:
    """Every path refuses it the same way: `enqueue` says why, and a job a producer sent anyway is a dead
    letter (bad data), with nothing stored and nothing rounded."""
    fields = exact_of(Event)
    payloads = []
    for name, (_, decimals) in fields.items():
        value = "1." + "0" * decimals + "5"
        payloads.append(json.dumps({**event(f"too-exact-{name}"), name: value}).encode())
        refused = services.cli("enqueue", "-", input=payloads[-1] + b"\n")
        assert refused.returncode == 1 and f"{name} has more than {decimals} decimals" in refused.stdout
    if not payloads:
        return  # no field of this shape declares digits and decimals: exact() above is the whole rule
    services.producer().enqueue(payloads)
    with services.worker_thread():
        wait_until(lambda: services.drained(dead=len(payloads)), 60, what="the jobs dead-lettered")
    errors = sorted(json.loads(line)["error"] for line in services.cli("dead", "list").stdout.splitlines())
    assert errors == sorted(f"{n} has more than {d} decimals" for n, (_, d) in fields.items())
    assert services.stored_keys() == []
