"""How long live workers take to take over a crashed worker's jobs: batches against one job at a time.

    python benchmarks/bench_takeover.py --project DIR [--against OLD] [--python PY]

DIR and OLD are baked projects (default answers: PostgreSQL store) whose requirements are installed for PY
(default: this interpreter). For each: 20,000 events; two workers that hold three batches of 2,000 each (a
store slowed to a minute a batch, `tests/instrumented_worker.py`) are killed with SIGKILL, leaving up to
12,000 jobs pending; two fresh workers then drain the queue. Printed: the seconds from the fresh workers'
start to an empty queue, and how many jobs they took over. Runs alternate between DIR and OLD.

Needs Redis and PostgreSQL (REDIS_URL / DATABASE_URL, default 127.0.0.1:6379 and postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FAST = {"HEARTBEAT_SECONDS": "1", "CLAIM_IDLE_SECONDS": "3", "POLL_TIMEOUT_MS": "200", "BATCH_SIZE": "2000"}


def psql(statement: str) -> None:
    subprocess.run(["psql", "-q", ADMIN_URL, "-c", statement], check=True, capture_output=True)


def status(python: str, project: Path, env: dict[str, str]) -> dict[str, int]:
    out = subprocess.run(
        [python, "-m", package(project), "status", "--json"], env=env, cwd=project, capture_output=True, text=True
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def package(project: Path) -> str:
    return next(p.parent.name for p in project.glob("*/worker.py"))


def one_run(python: str, project: Path, count: int) -> tuple[float, int]:
    db = f"bench_{uuid.uuid4().hex[:10]}"
    psql(f"CREATE DATABASE {db}")
    env = dict(
        os.environ,
        **FAST,
        REDIS_URL=REDIS_URL,
        QUEUE_NAME=f"bench-{db}",
        DATABASE_URL=ADMIN_URL.rsplit("/", 1)[0] + f"/{db}",
    )
    module = [python, "-m", package(project)]
    try:
        subprocess.run([*module, "migrate"], env=env, cwd=project, check=True, capture_output=True)
        lines = "".join(
            json.dumps(
                {"id": f"e-{i}", "account": f"a-{i % 500}", "amount": i % 97, "occurred_at": "2025-01-01T00:00:00Z"}
            )
            + "\n"
            for i in range(count)
        )
        subprocess.run(
            [*module, "enqueue", "-"], input=lines, text=True, env=env, cwd=project, check=True, capture_output=True
        )
        slow = dict(env, TEST_SAVE_SLEEP_MS="60000")
        dying = [
            subprocess.Popen([python, "tests/instrumented_worker.py"], env=slow, cwd=project, stdout=subprocess.DEVNULL)
            for _ in range(2)
        ]
        deadline = time.monotonic() + 60
        while status(python, project, env)["in_flight"] < min(count, 10_000) and time.monotonic() < deadline:
            time.sleep(0.2)
        held = status(python, project, env)["in_flight"]
        for proc in dying:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        started = time.monotonic()
        fresh = [subprocess.Popen(module, env=env, cwd=project, stdout=subprocess.DEVNULL) for _ in range(2)]
        while True:
            s = status(python, project, env)
            if s["queued"] == 0 and s["in_flight"] == 0 and s["retrying"] == 0:
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        for proc in fresh:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        return took, held
    finally:
        psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--against", type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    projects = {"this": args.project} | ({"against": args.against} if args.against else {})
    times: dict[str, list[float]] = {name: [] for name in projects}
    for _ in range(args.repeat):
        for name, project in projects.items():
            took, held = one_run(args.python, project.resolve(), args.events)
            times[name].append(took)
            print(f"{name}: {held} jobs held by the killed workers, drained in {took:.1f} s", flush=True)
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} s (median of {len(values)}) |")


if __name__ == "__main__":
    main()
