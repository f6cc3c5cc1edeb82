"""The queue's bulk paths on a real Redis: a read's reply parsed into jobs, and heartbeats and acks of more
entries than one command of a script takes (touched in 500s, acked in ACK_CHUNKs). And the Lua files: each
documents its KEYS and ARGV, and they load from a zip as from a folder."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from importlib.resources import files
from pathlib import Path

import redis

from events_worker import config
from events_worker.queue_consumer import ACK_CHUNK, Consumer
from events_worker.queue_operator import Operator
from events_worker.queue_producer import Producer
from events_worker.queue_protocol import GROUP, INCLUDE, Job, Limits, lua

ENTRIES = 2 * ACK_CHUNK + 300  # more than two chunks of acks, several of touches
PACKAGE = "events_worker"
LOADS = re.compile(r'\blua\("([\w.]+)"\)')  # lua("read.lua")
SCRIPTS = sorted(p.name for p in files(PACKAGE).joinpath("lua").iterdir() if p.name.endswith(".lua"))


def fresh_queue(redis_url: str) -> Consumer:
    limits = Limits.of(config.load({}))
    queue = Consumer(redis.Redis.from_url(redis_url), f"test-queue-{uuid.uuid4().hex[:8]}", limits)
    queue.ensure_group()
    return queue


def enqueue(queue: Consumer, payloads: list[bytes]) -> int:
    return Producer(queue.redis, queue.name, queue.limits).enqueue(payloads)


def drop(queue: Consumer) -> None:
    for key in queue.redis.scan_iter(match="{" + queue.name + "}:*", count=1000):
        queue.redis.delete(key)


def idle_ms(queue: Consumer) -> list[int]:
    pending = queue.redis.xpending_range(queue.keys.stream, GROUP, "-", "+", 10 * ENTRIES)
    return [int(p["time_since_delivered"]) for p in pending]


def test_a_read_gives_every_entry_with_its_payload_and_delivery_count(redis_url: str) -> None:
    queue = fresh_queue(redis_url)
    try:
        payloads = [b'{"n": %d, "pad": "%s"}' % (i, b"x" * (i % 7)) for i in range(ENTRIES)]
        enqueue(queue, payloads)
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
        enqueue(queue, [b'{"n": %d}' % i for i in range(ENTRIES)])
        jobs = queue.read("holder", ENTRIES, 0)
        assert len(jobs) == ENTRIES and {job.deliveries for job in jobs} == {1}
        time.sleep(1.0)
        assert min(idle_ms(queue)) >= 1000
        queue.heartbeat("holder", [job.entry_id for job in jobs])
        assert max(idle_ms(queue)) < 900, "every held entry's idle time was reset"
        assert queue.redis.xpending(queue.keys.stream, GROUP)["pending"] == ENTRIES
        queue.heartbeat("someone-else", [job.entry_id for job in jobs[:10]])  # not its entries: untouched
        consumers = queue.redis.xpending(queue.keys.stream, GROUP)["consumers"]
        assert [c["name"] for c in consumers] == [b"holder"], "another worker took none of its entries"
        queue.finish(jobs[:-1], dead=[(jobs[-1], "refused")], worker="holder")
        assert queue.redis.xpending(queue.keys.stream, GROUP)["pending"] == 0, "every entry acked"
        assert queue.redis.hlen(queue.keys.dead) == 1
    finally:
        drop(queue)


def test_status_counts_every_job_once_while_jobs_move(redis_url: str) -> None:
    """`status` is one snapshot: a job read or settled between two of its reads was once counted nowhere,
    and a queue with every job in a worker's hands looked drained (a test stopped its worker on it)."""
    queue = fresh_queue(redis_url)
    total = 300
    try:
        enqueue(queue, [b'{"n": %d}' % i for i in range(total)])
        operator = Operator(queue.redis, queue.name, queue.limits)

        def move() -> None:  # one job at a time: queued -> in flight -> dead, as fast as Redis goes
            while jobs := queue.read("mover", 1, 1):
                queue.finish([], dead=[(jobs[0], "moved")])

        mover = threading.Thread(target=move)
        mover.start()
        counted: list[int] = []
        while mover.is_alive():
            s = operator.status()
            counted.append(s["queued"] + s["in_flight"] + s["retrying"] + s["dead"] + s["dead_dropped"])
        mover.join()
        wrong = [n for n in counted if n != total]
        assert not wrong, (
            f"{len(wrong)} of {len(counted)} snapshots counted {sorted(set(wrong))} jobs, not {total}"
        )
        assert operator.status()["dead"] == total
    finally:
        drop(queue)


def test_every_script_documents_the_keys_and_argv_it_uses_and_its_reply() -> None:
    modules = [f.read_text() for f in files(PACKAGE).iterdir() if f.name.endswith(".py")]
    loaded = {name for text in modules for name in LOADS.findall(text)}
    assert loaded == set(SCRIPTS), "every script in lua/ is loaded by lua(), and every one loaded is there"
    for name in SCRIPTS:
        source = files(PACKAGE).joinpath("lua", name).read_text(encoding="utf-8")
        header = source[: source.index("\n\n")]  # the comment block the file starts with
        assert all(line.startswith("--") for line in header.splitlines()), f"{name}: no header comment"
        used = set(re.findall(r"(?:KEYS|ARGV)\[\d+\]", INCLUDE.sub("", source[len(header) :])))
        missing = [arg for arg in sorted(used) if not re.search(rf"^-- {re.escape(arg)}", header, re.M)]
        assert not missing, f"{name} uses {missing} without documenting them in its header"
        assert "Returns" in header, f"{name}: the header does not say what the script returns"
        if INCLUDE.search(source):  # its libraries' functions are in the script Redis runs, once
            assert not INCLUDE.search(lua(name)) and "local function" in lua(name), name


def test_the_scripts_load_from_a_zip_as_from_a_folder(tmp_path: Path) -> None:
    """A wheel or a zipapp has no folder to open(): the scripts are package resources, importlib.resources."""
    package = Path(str(files(PACKAGE)))
    archive = tmp_path / "app.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(package.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".lua"):
                zipped.write(path, path.relative_to(package.parent).as_posix())
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        f"from {PACKAGE}.queue_protocol import lua; import {PACKAGE} as p; "
        "assert p.__file__.startswith(sys.argv[1]), p.__file__; "
        "sys.stdout.write(chr(0).join(lua(n) for n in sys.argv[2:]))"
    )
    command = [sys.executable, "-I", "-c", probe, str(archive), *SCRIPTS]
    ran = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split(chr(0)) == [lua(name) for name in SCRIPTS]
