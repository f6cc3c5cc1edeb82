"""The tests' side of the Redis store: its results are read back from the queue's Redis.

The one test module that knows which store was baked, as store.py is in the package; the post-generation
hook gives it the name store_support.py in a Redis-only bake. conftest.py loads it as a plugin (its fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Services
from eventgen import Stored, canon, canon_table

from events_worker.queue_protocol import as_str
from events_worker.schema import JOB_TABLE, KEY, OUTPUTS, STORED


class StoreServices(Services):
    """Services with the results in the queue's Redis."""

    results_in_redis = True  # the results are in the queue's Redis

    def stored_keys(self) -> list[Any]:
        """Every stored job key (a hash: a key can only be there once)."""
        keys = self.redis.hkeys("{" + self.queue_name + "}:" + JOB_TABLE)
        return [canon(STORED[KEY], as_str(key)) for key in keys]

    def stored(self) -> Stored:
        """The job keys and every output table, as eventgen.expected gives them."""
        from events_worker.store_redis import Store

        store = Store(self.config())
        try:
            tables = {}
            for name, table in OUTPUTS.items():
                rows = []
                for joined, values in store.table(name).items():
                    key = joined.split("|") if len(table.key) > 1 else [joined]
                    rows.append({**dict(zip(table.key, key, strict=True)), **values})
                tables[name] = canon_table(name, rows)
        finally:
            store.close()
        return Stored(sorted(self.stored_keys()), tables)

    def create_table(self, ddl: str) -> None:
        """Nothing to create: the store writes a table's keys as it first stores rows."""

    def read_table(self, name: str, key: str, columns: list[str]) -> dict[Any, tuple[Any, ...]]:
        """Each column is a hash {key: value} (store_redis.py); values as Redis keeps them (bytes)."""
        prefix = "{" + self.queue_name + "}:" + name + ":"
        hashes = [self.redis.hgetall(prefix + column) for column in columns]
        return {as_str(k): tuple(h.get(k) for h in hashes) for k in hashes[0]} if hashes else {}


@pytest.fixture
def services(redis_url: str, queue_name: str) -> Iterator[StoreServices]:
    s = StoreServices(redis_url, queue_name)
    yield s
    s.cleanup()
