"""The operator's side of the queue: status (depths, Redis memory, workers) and the dead letters.

Who uses it: cli.py (`status`, `dead list|requeue|purge`) and the tests that watch a queue drain. It reads no
settings itself: Limits and the queue name come from the caller.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import redis

from .queue_protocol import GROUP, Limits, QueueClient, as_str, lua

DEAD_NEAR_FULL = 0.8  # `status` warns when dead letters fill this share of DEAD_LETTER_MAX_BYTES (or _COUNT)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _pairs(flat: list[Any]) -> list[tuple[Any, Any]]:
    """[a, 1, b, 2] (a Lua reply) -> [(a, 1), (b, 2)]."""
    return list(zip(flat[::2], flat[1::2], strict=True))


class Operator(QueueClient):
    """What an operator sees and does on one queue: `status`, dead letters listed, requeued, purged."""

    def __init__(self, client: redis.Redis, queue_name: str, limits: Limits) -> None:
        super().__init__(client, queue_name, limits)
        self._status = client.register_script(lua("status.lua"))

    def status(self, gone_after: float | None = None) -> dict[str, Any]:
        """Queue depths, Redis memory and workers, as `status --json` prints them.

        A worker silent for more than `gone_after` seconds (the take-over threshold, CLAIM_IDLE_SECONDS) is
        gone: it is reported once with `gone: true` and removed from the registry.
        """
        keys = self.keys
        reply: list[Any] = self._status(
            keys=[keys.stream, keys.retry, keys.dead, keys.dead_stats, keys.workers, keys.worker_state],
            args=[GROUP],
        )
        length, retrying, dead, dropped, dead_bytes, seconds, micros, in_flight, lag = reply[:9]
        workers, states, held = reply[9:]  # flat pairs: worker, heartbeat; worker, state; consumer, held
        holding = {as_str(name): int(count) for name, count in _pairs(held)}
        queued = int(lag) if lag >= 0 else max(0, int(length) - int(in_flight))  # lag: Redis 7+
        now = int(seconds) + int(micros) / 1e6  # Redis's clock: the one the heartbeats were written with
        state_of = dict(_pairs(states))
        listed = [
            self._worker(as_str(m), float(score), now, holding, state_of, gone_after)
            for m, score in _pairs(workers)
        ]
        gone = [w["id"] for w in listed if w["gone"]]
        if gone:
            self.redis.zrem(self.keys.workers, *gone)  # ZREM/HDEL are allowed over maxmemory
            self.redis.hdel(self.keys.worker_state, *gone)
        return {
            "queue": self.name,
            "queued": queued,
            "in_flight": int(in_flight),
            "retrying": int(retrying),
            "dead": int(dead),
            "dead_dropped": int(dropped),
            "dead_bytes": int(dead_bytes),
            "dead_max_bytes": self.limits.dead_max_bytes,
            "dead_near_full": int(dead_bytes) >= DEAD_NEAR_FULL * self.limits.dead_max_bytes
            or int(dead) >= DEAD_NEAR_FULL * self.limits.dead_max_count,
            "redis": self.memory(),
            "workers": listed,
        }

    @staticmethod
    def _worker(
        member: str,
        score: float,
        now: float,
        holding: dict[str, int],
        states: dict[bytes, bytes],
        gone_after: float | None,
    ) -> dict[str, Any]:
        state = as_str(states.get(member.encode(), b""))
        kind, _, rest = state.partition("|")
        reason, _, since = rest.partition("|")
        return {
            "id": member,
            "last_heartbeat": _iso(score),
            "seconds_ago": round(now - score, 3),
            "holding": holding.get(member, 0),
            "gone": gone_after is not None and now - score > gone_after,
            "paused": {"reason": reason, "since": since} if kind == "paused" else None,
        }

    def memory(self) -> dict[str, Any]:
        """Redis memory: used, maxmemory (0: none), policy, and whether writes are refused (full)."""
        try:
            info = self.redis.info("memory")
        except redis.ResponseError:  # INFO disabled by the provider
            return {}
        used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
        policy = str(info.get("maxmemory_policy", ""))
        return {
            "used_memory": used,
            "maxmemory": limit,
            "policy": policy,
            "full": bool(limit) and used >= limit and policy == "noeviction",
        }

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every dead letter, oldest entry first."""
        records = [json.loads(v) for v in self.redis.hvals(self.keys.dead)]
        return sorted(records, key=lambda r: [int(x) for x in str(r.get("entry", "0-0")).split("-")])

    def requeue_dead(self) -> tuple[int, int]:
        """Put every dead letter back on the queue as a fresh job (delivery count reset).

        Returns (requeued, kept): a dead letter keeps its whole payload, except for a payload over
        PAYLOAD_MAX_BYTES (only a prefix was read) or a foreign entry: those cannot be requeued; they stay,
        for the producer to resend.
        """
        moved = kept = 0
        for field, value in self.redis.hgetall(self.keys.dead).items():
            record = json.loads(value)
            if record.get("truncated") or str(record.get("error", "")).startswith("foreign entry"):
                kept += 1
                continue
            pipe = self.redis.pipeline(transaction=True)
            pipe.xadd(self.keys.stream, {"j": record["payload"].encode("utf-8", "surrogateescape"), "n": 0})
            pipe.hdel(self.keys.dead, field)
            pipe.zrem(self.keys.dead_order, field)
            pipe.hincrby(self.keys.dead_stats, "bytes", -len(value))
            pipe.execute()
            moved += 1
        return moved, kept

    def purge_dead(self) -> int:
        """Delete every dead letter; returns how many."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hlen(self.keys.dead)
        pipe.delete(self.keys.dead, self.keys.dead_order)
        pipe.hdel(self.keys.dead_stats, "bytes")
        count, *_ = pipe.execute()
        return int(count)
