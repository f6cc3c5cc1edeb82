"""What transform returns, stored in PostgreSQL: a batch encoded once and saved whole after a failure."""

from __future__ import annotations

from eventgen import expected, lines, make_events
from store_support import StoreServices


def test_a_batch_encoded_once_is_stored_whole_when_saved_again_after_a_failure(
    services: StoreServices,
) -> None:
    """The worker encodes a batch once and saves it again after a pause: the encoding must be reusable."""
    import psycopg2

    from events_worker import prepare, queue_protocol, store
    from events_worker.schema import JOB_TABLE

    events = make_events(300, seed=9)
    payloads = lines(events).splitlines()
    jobs = [queue_protocol.Job(f"0-{i}", payload, 1) for i, payload in enumerate(payloads)]
    saver = store.Store(services.config())
    try:
        batch = saver.encode(prepare.prepare(jobs).batch)
        services.execute(f'ALTER TABLE "{JOB_TABLE}" RENAME TO parked')  # as if the table went missing
        try:
            saver.save(batch)
        except psycopg2.Error:
            pass
        else:
            raise AssertionError("the save did not fail")
        services.execute(f'ALTER TABLE parked RENAME TO "{JOB_TABLE}"')
        assert saver.save(batch) == len(expected(events).keys)
    finally:
        saver.close()
    assert services.stored() == expected(events)
