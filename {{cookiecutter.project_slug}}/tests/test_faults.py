"""What an error means (faults.py), from errors the real servers give: systemic (pause) or the job's own."""

from __future__ import annotations

from pathlib import Path

import redis
from conftest import RedisServer

from events_worker import faults, store
from events_worker.faults import Diagnosis, Fault


def diagnose(exc: BaseException) -> Diagnosis:
    """As the worker explains an error (Worker.diagnose): faults.diagnose with this bake's store."""
    return faults.diagnose(exc, store.diagnose)


def diagnosis_of(action: object) -> tuple[Fault, str]:
    try:
        action()  # type: ignore[operator]
    except Exception as exc:
        found = diagnose(exc)
        return found.fault, found.reason
    raise AssertionError("no error raised")


def test_redis_error_classes_each_have_their_reason() -> None:
    """The classes redis-py raises for the server's state, subclasses before ConnectionError (their base)."""
    expected = {
        redis.BusyLoadingError: "redis_loading",
        redis.OutOfMemoryError: "redis_oom",
        redis.ReadOnlyError: "redis_read_only",
        redis.AuthenticationError: "redis_auth",
        redis.TimeoutError: "redis_timeout",
        redis.ConnectionError: "redis_unreachable",
    }
    for kind, reason in expected.items():
        found = diagnose(kind("as redis-py raises it"))
        assert (found.fault, found.reason) == (Fault.SYSTEMIC, reason), kind


def test_redis_errors_by_reply(tmp_path: Path, redis_url: str) -> None:
    unreachable = redis.Redis(port=1, socket_connect_timeout=1)
    assert diagnosis_of(unreachable.ping) == (Fault.SYSTEMIC, "redis_unreachable")
    client = redis.Redis.from_url(redis_url)
    key = f"test-faults-{tmp_path.name}"
    client.set(key, "a string")
    try:
        assert diagnosis_of(lambda: client.hset(key, "f", "v"))[0] is Fault.UNKNOWN  # WRONGTYPE
    finally:
        client.delete(key)
    data_error = client.register_script("return redis.error_reply('DATA account total would overflow: a')")
    assert diagnosis_of(data_error) == (Fault.JOB, "data_error")
    server = RedisServer(tmp_path / "full", None, "--maxmemory-policy", "noeviction").start()
    try:
        full = redis.Redis.from_url(server.url)
        full.config_set("maxmemory", "1")  # used memory is over maxmemory: what a full Heroku Redis does
        assert diagnosis_of(lambda: full.set("one-more", "x")) == (Fault.SYSTEMIC, "redis_oom")
        in_a_script = full.register_script("return redis.call('SET', KEYS[1], 'x')")
        assert diagnosis_of(lambda: in_a_script(keys=["k"])) == (Fault.SYSTEMIC, "redis_oom")
        full.replicaof("127.0.0.1", "1")  # a replica (of nothing reachable): read-only
        full.config_set("maxmemory", "0")
        assert diagnosis_of(lambda: full.set("k", "v")) == (Fault.SYSTEMIC, "redis_read_only")
    finally:
        server.stop()
