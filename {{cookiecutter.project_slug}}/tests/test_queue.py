"""The queue's bulk paths on a real Redis: a read's reply parsed into jobs, and heartbeats and acks of more
entries than one command of a script takes (touched in 500s, acked in ACK_CHUNKs)."""

from __future__ import annotations

import time
import uuid

import redis

from events_worker.queue import ACK_CHUNK, GROUP, Job, Queue

ENTRIES = 2 * ACK_CHUNK + 300  # more than two chunks of acks, several of touches


def fresh_queue(redis_url: str) -> Queue:
    queue = Queue(redis.Redis.from_url(redis_url), f"test-queue-{uuid.uuid4().hex[:8]}")
    queue.ensure_group()
    return queue


def drop(queue: Queue) -> None:
    for key in queue.redis.scan_iter(match="{" + queue.name + "}:*", count=1000):
        queue.redis.delete(key)


def idle_ms(queue: Queue) -> list[int]:
    pending = queue.redis.xpending_range(queue.keys.stream, GROUP, "-", "+", 10 * ENTRIES)
    return [int(p["time_since_delivered"]) for p in pending]


def test_a_read_gives_every_entry_with_its_payload_and_delivery_count(redis_url: str) -> None:
    queue = fresh_queue(redis_url)
    try:
        payloads = [b'{"n": %d, "pad": "%s"}' % (i, b"x" * (i % 7)) for i in range(ENTRIES)]
        queue.enqueue(payloads)
        queue.redis.xadd(queue.keys.stream, {"j": b"", "n": 12})  # empty, delivered 12 times before
        queue.redis.xadd(queue.keys.stream, {"j": b"{}", "n": 3})
        jobs = queue.read("reader", ENTRIES + 10, 0)
        assert [job.payload for job in jobs] == [*payloads, b"", b"{}"]
        assert [job.deliveries for job in jobs] == [1] * ENTRIES + [13, 4]
        assert all(type(job) is Job and job.problem == "" and job.size == -1 for job in jobs)
        assert len({job.entry_id for job in jobs}) == ENTRIES + 2
    finally:
        drop(queue)


def test_heartbeat_and_finish_cover_every_entry_held(redis_url: str) -> None:
    queue = fresh_queue(redis_url)
    try:
        queue.enqueue(b'{"n": %d}' % i for i in range(ENTRIES))
        jobs = queue.read("holder", ENTRIES, 0)
        assert len(jobs) == ENTRIES and {job.deliveries for job in jobs} == {1}
        time.sleep(1.0)
        assert min(idle_ms(queue)) >= 1000
        queue.heartbeat("holder", [job.entry_id for job in jobs])
        assert max(idle_ms(queue)) < 900, "every held entry's idle time was reset"
        assert queue.redis.xpending(queue.keys.stream, GROUP)["pending"] == ENTRIES
        queue.heartbeat("someone-else", [job.entry_id for job in jobs[:10]])  # not its entries: untouched
        assert queue.redis.xpending(queue.keys.stream, GROUP)["consumers"][0]["name"] == b"holder"
        queue.finish(jobs[:-1], dead=[(jobs[-1], "refused")], worker="holder")
        assert queue.redis.xpending(queue.keys.stream, GROUP)["pending"] == 0, "every entry acked"
        assert queue.redis.hlen(queue.keys.dead) == 1
    finally:
        drop(queue)
