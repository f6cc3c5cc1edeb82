"""The declared shape (schema.py): one decoder for every path, and unknown fields ignored or refused."""

from __future__ import annotations

import json

from conftest import Services, wait_until
from eventgen import expected, lines, make_events

from events_worker.schema import FIELDS, KEY, Event

NEWER = {**make_events(1, prefix="newer")[0], "promo_code": "X"}  # a field the schema does not declare


def test_the_generator_makes_events_of_the_declared_shape() -> None:
    assert KEY in FIELDS and set(FIELDS) == set(Event.__struct_fields__)
    for event in make_events(20):
        assert set(event) == set(FIELDS)


def test_unknown_fields_are_ignored_by_default(services: Services) -> None:
    result = services.cli("enqueue", "-", input=lines([NEWER]))
    assert result.returncode == 0 and "queued=1" in result.stdout


def test_unknown_fields_refused_in_strict_mode_on_every_path(services: Services) -> None:
    """UNKNOWN_FIELDS=refuse: `enqueue` refuses the line and the worker dead-letters the job, same reason."""
    reason = "unknown field promo_code (UNKNOWN_FIELDS=refuse)"
    result = services.cli("enqueue", "-", input=lines([NEWER]), UNKNOWN_FIELDS="refuse")
    assert result.returncode == 1 and "queued=0" in result.stdout and reason in result.stdout
    events = make_events(50, seed=41)
    services.producer().enqueue([json.dumps(e).encode() for e in [*events, NEWER]])
    services.start_worker(UNKNOWN_FIELDS="refuse")
    wait_until(lambda: services.drained(dead=1), 60, what="the strange job dead")
    (dead,) = [json.loads(line) for line in services.cli("dead", "list").stdout.splitlines()]
    assert dead["error"] == reason
    assert sorted(services.stored_keys()) == expected(events).keys


def test_a_bad_setting_is_one_line(services: Services) -> None:
    result = services.cli("status", UNKNOWN_FIELDS="sometimes")
    assert result.returncode == 2 and "UNKNOWN_FIELDS" in result.stderr and "Traceback" not in result.stderr
