"""Without PostgreSQL the store's layout is the schema: recorded once, and a worker refuses another one."""

from __future__ import annotations

import pytest
from conftest import Services


def test_the_redis_layout_version_is_recorded_and_checked(services: Services) -> None:
    from events_worker.contract import SchemaNotReady
    from events_worker.store_redis import LAYOUT, Store

    layout = "{" + services.queue_name + "}:layout"
    recorder = Store(services.config())  # what `migrate` does without PostgreSQL
    try:
        assert recorder.migrate() == [f"layout {LAYOUT}"]
    finally:
        recorder.close()
    assert services.redis.get(layout) == LAYOUT.encode()
    services.redis.set(layout, "0")
    store = Store(services.config())
    try:
        with pytest.raises(SchemaNotReady, match="layout b'0'"):
            store.check_schema()
    finally:
        store.close()
    worker = services.start_worker()
    assert worker.wait(60) != 0
    assert "event=schema_not_ready" in worker.log.read_text()
