"""The producer's side of the queue: add jobs to the stream.

Who uses it: cli.py (`enqueue`, which validates each line before it is queued), and tests and benchmarks
that fill a queue. It validates nothing and reads no settings: the caller checks payloads (validate.py) and
passes Limits and the queue name (Limits.payload_max_bytes is the largest payload `enqueue` accepts).
"""

from __future__ import annotations

from collections.abc import Iterable

from .queue_protocol import QueueClient


class Producer(QueueClient):
    """Adds jobs to one queue (ensure_group() first: a stream without its group is read by no worker)."""

    def enqueue(self, payloads: Iterable[bytes], chunk: int = 1000) -> int:
        """XADD each payload as a new job, pipelined; returns how many were added."""
        added = 0
        pipe = self.redis.pipeline(transaction=False)
        for payload in payloads:
            pipe.xadd(self.keys.stream, {"j": payload, "n": 0})
            added += 1
            if added % chunk == 0:
                pipe.execute()
        pipe.execute()
        return added
