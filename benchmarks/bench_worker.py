"""Worker throughput on this machine: the baked worker (1 and 2 processes), RQ, and PostgreSQL's own ceiling.

    python benchmarks/bench_worker.py                      # bakes the default template into a temp dir first
    python benchmarks/bench_worker.py --project DIR        # an already baked project with .venv (rq is added)
    python benchmarks/bench_worker.py --against OLD        # also OLD's worker (another bake, e.g. of an older
                                                           # commit), its runs alternating with these

Needs Redis and PostgreSQL (REDIS_URL / DATABASE_URL, default 127.0.0.1:6379 and postgres@127.0.0.1:5432),
and cookiecutter + uv on PATH when it bakes. Each run uses its own queue name and a fresh database, dropped at
the end.
Figures go to stdout as a Markdown table (and as JSON with --json).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.pythons import find_python  # noqa: E402  (the harness's discovery: pyenv shims are passed over)

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

RQ_WORKER = [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.worker.SimpleWorker", "--burst", "-q"]
RQ_JOBS = '''
import os
import psycopg2

_conn = None


def insert_event(event):
    """What a user would write: one job per event, one INSERT, one commit."""
    global _conn
    if _conn is None:
        _conn = psycopg2.connect(os.environ["BENCH_DATABASE_URL"])
    with _conn, _conn.cursor() as cur:
        cur.execute(
            "INSERT INTO events (id, account, amount, occurred_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (event["id"], event["account"], event["amount"], event["occurred_at"]),
        )
'''


def events(count: int, seed: int = 7) -> list[bytes]:
    """The default pipeline's events: 1,000 accounts, amounts with 2 decimals, times in 2025."""
    rng = random.Random(seed)
    return [
        json.dumps(
            {
                "id": f"evt-{i:08d}",
                "account": f"acct-{rng.randrange(1000):04d}",
                "amount": round(rng.uniform(-100, 1000), 2),
                "occurred_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            }
        ).encode()
        for i in range(count)
    ]


def bake(workdir: Path) -> Path:
    """Bake the template with its defaults into workdir; returns the project folder."""
    cookiecutter = shutil.which("cookiecutter") or sys.exit("cookiecutter is not on PATH (or pass --project)")
    subprocess.run(
        [cookiecutter, "--no-input", "-o", str(workdir), str(ROOT), "verify_on_bake=false"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    project = next(p for p in workdir.iterdir() if p.is_dir())
    return project


def ensure_venv(project: Path) -> Path:
    python = project / ".venv" / "bin" / "python"
    uv = shutil.which("uv") or sys.exit("uv is not on PATH")
    if not python.exists():
        interpreter = find_python("3.13") or sys.exit("no Python 3.13 here (pyenv, uv or PATH)")
        subprocess.run([uv, "venv", "-q", "-p", interpreter, str(project / ".venv")], check=True)
        subprocess.run(
            [uv, "pip", "install", "-q", "-p", str(python), "-r", str(project / "requirements.txt")],
            check=True,
        )
    subprocess.run([uv, "pip", "install", "-q", "-p", str(python), "rq"], check=True)
    return python


class Bench:
    """Runs inside the project's own virtualenv (re-executed there by main)."""

    def __init__(self, project: Path, count: int, rq_count: int) -> None:
        import psycopg2
        import redis

        self.project = project
        self.package = next(p.parent.name for p in project.glob("*/worker.py"))
        self.count = count
        self.rq_count = rq_count
        self.payloads = events(count)
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.db = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = psycopg2.connect(ADMIN_URL)
        self.admin.autocommit = True
        with self.admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {self.db}")
        base = ADMIN_URL.rsplit("/", 1)[0]
        self.db_url = f"{base}/{self.db}"
        self.conn = psycopg2.connect(self.db_url)
        self.env = dict(os.environ, DATABASE_URL=self.db_url, REDIS_URL=REDIS_URL, LOG_LEVEL="info")
        sys.path.insert(0, str(project))
        self.run_module("migrate", queue="bench-migrate")

    def run_module(self, *args: str, queue: str) -> None:
        env = dict(self.env, QUEUE_NAME=queue)
        subprocess.run(
            [sys.executable, "-m", self.package, *args],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=self.project,
        )

    def reset(self) -> None:
        with self.conn, self.conn.cursor() as cur:
            cur.execute("TRUNCATE events, account_totals")

    def stored(self, table: str = "account_totals") -> int:
        with self.conn, self.conn.cursor() as cur:
            if table == "events":
                cur.execute("SELECT count(*) FROM events")
            else:
                # cheaper than count(*) on a growing table
                cur.execute("SELECT coalesce(sum(event_count), 0) FROM account_totals")
            return int(cur.fetchone()[0])

    def worker(self, processes: int, project: Path | None = None) -> dict[str, float]:
        """Start the workers on an empty queue; once all are ready, swap the full stream in; time the drain.

        The events are added beforehand to a staging stream (with the consumer group) that RENAME puts in
        place in one step, so neither interpreter start-up nor enqueueing is timed.
        """
        self.reset()
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = dict(self.env, QUEUE_NAME=queue, POLL_TIMEOUT_MS="20")
        stream, staging = "{" + queue + "}:stream", "{" + queue + "}:staging"
        pipe = self.redis.pipeline(transaction=False)
        pipe.xgroup_create(staging, "workers", id="0", mkstream=True)
        for i, payload in enumerate(self.payloads):
            pipe.xadd(staging, {"j": payload, "n": 0})
            if i % 5000 == 4999:
                pipe.execute()
        pipe.execute()
        ready = threading.Barrier(processes + 1)
        procs = []
        for _ in range(processes):
            proc = subprocess.Popen(
                [sys.executable, "-m", self.package],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
                cwd=project or self.project,
            )
            procs.append(proc)

            def watch(p: subprocess.Popen[str] = proc) -> None:
                assert p.stdout is not None
                for line in p.stdout:
                    if "event=worker_started" in line:
                        ready.wait()

            threading.Thread(target=watch, daemon=True).start()
        ready.wait(timeout=60)
        t0 = time.perf_counter()
        self.redis.rename(staging, stream)
        while self.stored() < self.count:
            time.sleep(0.01)
        t1 = time.perf_counter()
        for proc in procs:
            proc.terminate()
        codes = [proc.wait(timeout=30) for proc in procs]
        for key in self.redis.scan_iter(match="{" + queue + "}:*", count=1000):
            self.redis.delete(key)
        return {
            "rows_per_s": self.count / (t1 - t0),
            "seconds": t1 - t0,
            "clean_exits": float(codes.count(0)),
        }

    def ceiling(self, batch: int = 2000) -> dict[str, float]:
        """PostgreSQL alone: the worker's own store.save (its encoding, the COPYs and one statement), batch
        after batch, one connection, on batches prepared beforehand. (The worker encodes on its reading
        thread; here save does it, as the ceiling always included turning rows into COPY data.)"""
        self.reset()
        os.environ["DATABASE_URL"] = self.db_url
        config = __import__(f"{self.package}.config", fromlist=["load"]).load()
        store_module = __import__(f"{self.package}.store", fromlist=["Store"])
        prepare = __import__(f"{self.package}.prepare", fromlist=["prepare"]).prepare
        try:  # Job is in queue_protocol.py since queue.py was split by audience (issue 22)
            job = __import__(f"{self.package}.queue_protocol", fromlist=["Job"]).Job
        except ModuleNotFoundError:  # an older bake
            job = __import__(f"{self.package}.queue", fromlist=["Job"]).Job
        jobs = [job(f"0-{i}", p, 0) for i, p in enumerate(self.payloads)]
        # What the worker's store thread saves (job rows and output tables), prepared beforehand: not timed.
        # (Prepared's first field: `.batch`, called `.rows` in older bakes)
        batches = [prepare(jobs[i : i + batch])[0] for i in range(0, len(jobs), batch)]
        store = store_module.Store(config)
        store.connect()
        t0 = time.perf_counter()
        for part in batches:
            store.save(part)
        seconds = time.perf_counter() - t0
        store.close()
        return {"rows_per_s": self.count / seconds, "seconds": seconds}

    def rq(self) -> dict[str, float]:
        """RQ SimpleWorker, one job per event doing a plain INSERT (burst: exits when the queue is empty)."""
        self.reset()
        import redis
        from rq import Queue

        jobs_dir = Path(tempfile.mkdtemp(prefix="bench-rq-"))
        (jobs_dir / "bench_rq_jobs.py").write_text(RQ_JOBS)
        sys.path.insert(0, str(jobs_dir))
        name = f"bench-rq-{uuid.uuid4().hex[:8]}"
        client = redis.Redis.from_url(REDIS_URL)
        queue = Queue(name, connection=client)
        with client.pipeline() as pipe:
            for payload in self.payloads[: self.rq_count]:
                queue.enqueue("bench_rq_jobs.insert_event", json.loads(payload), pipeline=pipe)
            pipe.execute()
        env = dict(self.env, BENCH_DATABASE_URL=self.db_url, PYTHONPATH=str(jobs_dir))
        t0 = time.perf_counter()
        subprocess.run(
            [*RQ_WORKER, "--url", REDIS_URL, name],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        seconds = time.perf_counter() - t0
        stored = self.stored("events")
        shutil.rmtree(jobs_dir, ignore_errors=True)
        for key in client.scan_iter(match=f"rq:*{name}*", count=1000):
            client.delete(key)
        client.srem("rq:queues", f"rq:queue:{name}")
        return {"rows_per_s": stored / seconds, "seconds": seconds, "events": float(stored)}

    def close(self) -> None:
        self.redis.delete("{bench-migrate}:stream")  # made by `migrate` (the consumer group)
        self.conn.close()
        with self.admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
        self.admin.close()


def median_of(runs: int, measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Run `measure` `runs` times; the run with the median rate, plus the lowest and highest rates."""
    return summary([measure() for _ in range(max(1, runs))])


def alternating(runs: int, measures: dict[str, Callable[[], dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Run each measure in turn, `runs` rounds (so that a machine's drift hits all alike); a summary each."""
    found: dict[str, list[dict[str, float]]] = {name: [] for name in measures}
    for _ in range(max(1, runs)):
        for name, measure in measures.items():
            found[name].append(measure())
    return {name: summary(results) for name, results in found.items()}


def summary(results: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median rate, plus the lowest and highest rates."""
    results = sorted(results, key=lambda r: r["rows_per_s"])
    middle = dict(results[len(results) // 2])
    middle["min_rows_per_s"], middle["max_rows_per_s"] = results[0]["rows_per_s"], results[-1]["rows_per_s"]
    return middle


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores, {cpu}, {system}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="a baked project (default: bake one into a temp dir)")
    parser.add_argument(
        "--against",
        type=Path,
        help="another baked project (say, of an older commit) whose workers run in turn with these, in this "
        "project's .venv; reports both, and the ratio",
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rq-events", type=int, default=50_000, help="events for the RQ run (it is slow)")
    parser.add_argument("--skip-rq", action="store_true")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each worker/ceiling figure (median shown)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("BENCH_INSIDE_VENV"):
        workdir = None
        project = args.project
        if project is None:
            workdir = Path(tempfile.mkdtemp(prefix="bench-worker-"))
            project = bake(workdir)
        python = ensure_venv(project.resolve())
        argv = [str(python), __file__, "--project", str(project.resolve()), *sys.argv[1:]]
        if args.project is not None:
            argv = [str(python), __file__, *sys.argv[1:]]
        code = subprocess.run(argv, env=dict(os.environ, BENCH_INSIDE_VENV="1")).returncode
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        return code

    bench = Bench(args.project.resolve(), args.events, min(args.rq_events, args.events))
    results: dict[str, dict[str, float]] = {}
    try:
        # One drain of 50k events lasts well under a second, so single runs are noisy: take the median.
        for processes, label in ((1, "1 process"), (2, "2 processes")):
            measures: dict[str, Callable[[], dict[str, float]]] = {
                f"worker, {label}": functools.partial(bench.worker, processes)
            }
            if args.against is not None:
                old = args.against.resolve()
                measures[f"--against worker, {label}"] = functools.partial(bench.worker, processes, old)
            results.update(alternating(args.repeat, measures))
        results["PostgreSQL ceiling (COPY + upsert, batches of 2000)"] = median_of(args.repeat, bench.ceiling)
        if not args.skip_rq:
            results["RQ SimpleWorker, one INSERT per job"] = bench.rq()
    finally:
        bench.close()
    print(f"machine: {machine()}")
    print(f"events: {args.events:,}")
    print(f"runs per figure: {args.repeat} (median rows/s, with the lowest and highest run)")
    print("| setup | rows/s (median) | range | seconds |")
    print("|---|---:|---:|---:|")
    for name, figures in results.items():
        spread = (
            f"{figures['min_rows_per_s']:,.0f} to {figures['max_rows_per_s']:,.0f}"
            if "min_rows_per_s" in figures
            else "1 run"
        )
        print(f"| {name} | {figures['rows_per_s']:,.0f} | {spread} | {figures['seconds']:.2f} |")
    ceiling = results["PostgreSQL ceiling (COPY + upsert, batches of 2000)"]["rows_per_s"]
    print()
    for label in ("1 process", "2 processes"):
        rate = results[f"worker, {label}"]["rows_per_s"]
        line = f"worker, {label} / ceiling: {rate / ceiling:.2f}"
        if args.against is not None:
            line += f"; / --against worker: {rate / results[f'--against worker, {label}']['rows_per_s']:.2f}"
        print(line)
    rq = results.get("RQ SimpleWorker, one INSERT per job")
    if rq and rq["rows_per_s"]:
        ratio = results["worker, 1 process"]["rows_per_s"] / rq["rows_per_s"]
        print(f"worker (1 process) / RQ: {ratio:,.0f}x")
    if args.json:
        print(json.dumps({"machine": machine(), "events": args.events, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
