"""The baked README's "Make it yours" walkthrough, performed on a baked project, exactly as written there.

Bake, store jobs with the demo's shape, apply the README's edits (a field, a derived column, an aggregate
table and, with PostgreSQL, the migration), migrate the database that holds the old data, run the worker on
new jobs and on redelivered old ones, check every table, then run the baked project's own checks (ruff,
mypy and a subset of its tests: validation, shape, outputs; the full `nox` of a bake runs in `nox -s baked`).
Each edit is asserted to appear verbatim in the baked README, so the walkthrough and this test cannot drift.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import CONTEXT
from .pythons import find_python
from .services import Services

VARIANTS = {
    "postgres-pandas": {},
    "redis-plain": {"use_postgres": False, "use_pandas": False, "release_phase": False},
}
FAST = {"POLL_TIMEOUT_MS": "100", "BATCH_SIZE": "50", "HEARTBEAT_SECONDS": "0.2", "CLAIM_IDLE_SECONDS": "1"}

# (file in the package, anchor, replacement): the README's edits, as text.
SCHEMA_EDITS = [
    (
        "schema.py",
        "    occurred_at: datetime  # RFC 3339 date-time; without a zone it is UTC; 1900 <= t < 2200\n",
        '    channel: Text = "web"\n',
    ),
    ("schema.py", "EXTRA: dict[str, type] = {}\n", 'EXTRA: dict[str, type] = {"amount_cents": int}\n'),
    (
        "schema.py",
        "OUTPUTS: dict[str, Table] = {\n",
        "class ChannelTotal(msgspec.Struct):\n    channel: str\n    event_count: int\n    total_amount: Amount\n",
    ),
    (
        "schema.py",
        "OUTPUTS: dict[str, Table] = {\n",
        '    "channel_totals": Table(\n'
        '        ChannelTotal, key=("channel",), merge={"event_count": "add", "total_amount": "add"}\n'
        "    ),\n",
    ),
]
PANDAS_EDITS = [
    (
        "transform.py",
        '    return Output(events, {"account_totals": totals})\n',
        '    events["amount_cents"] = (events["amount"] * 100).map(round).astype("int64")\n'
        "    channels = pd.DataFrame(\n"
        "        {\n"
        '            "job": events["id"],\n'
        '            "channel": events["channel"],\n'
        '            "event_count": 1,\n'
        '            "total_amount": events["amount"],\n'
        "        }\n"
        "    )\n"
        '    return Output(events, {"account_totals": totals, "channel_totals": channels})\n',
    ),
]
PLAIN_EDITS = [
    ("transform.py", "from .schema import Event\n", "from .schema import Event, as_dict\n"),
    (
        "transform.py",
        '    return Output(events, {"account_totals": totals})\n',
        '    rows = [{**as_dict(e), "amount_cents": round(e.amount * 100)} for e in events]\n'
        "    channels = [\n"
        "        {\n"
        '            "job": e.id,\n'
        '            "channel": e.channel,\n'
        '            "event_count": 1,\n'
        '            "total_amount": e.amount,\n'
        "        }\n"
        "        for e in events\n"
        "    ]\n"
        '    return Output(rows, {"account_totals": totals, "channel_totals": channels})\n',
    ),
]
MIGRATION = """ALTER TABLE events ADD COLUMN channel text NOT NULL DEFAULT 'web';
ALTER TABLE events ADD COLUMN amount_cents bigint;
UPDATE events SET amount_cents = round(amount * 100) WHERE amount_cents IS NULL;
CREATE TABLE channel_totals (
    channel text PRIMARY KEY,
    event_count bigint NOT NULL DEFAULT 0,
    total_amount numeric NOT NULL DEFAULT 0
);
"""

# Run in the baked project's environment: what the tables hold, as JSON.
READ = r"""
import json, sys
from decimal import Decimal
redis_url, queue, database_url = sys.argv[1:4]
out = {}
if database_url:
    import psycopg2
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('channel_totals') IS NOT NULL")
        new = cur.fetchone()[0]
        cur.execute("SELECT id, " + ("channel, amount_cents" if new else "NULL, NULL") + " FROM events")
        out["events"] = {i: [c, n] for i, c, n in cur.fetchall()}
        cur.execute("SELECT account, total_amount::text, event_count FROM account_totals")
        out["accounts"] = {a: [t, n] for a, t, n in cur.fetchall()}
        out["channels"] = {}
        if new:
            cur.execute("SELECT channel, total_amount::text, event_count FROM channel_totals")
            out["channels"] = {c: [t, n] for c, t, n in cur.fetchall()}
else:
    import redis
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    p = "{" + queue + "}:"
    out["events"] = {
        i: [v.get("channel"), v.get("amount_cents")]
        for i, v in ((i, json.loads(v)) for i, v in r.hgetall(p + "events").items())
    }
    def table(name, columns):
        rows = {}
        for column in columns:
            for key, value in r.hgetall(p + name + ":" + column).items():
                rows.setdefault(key, {})[column] = value
        return rows
    to_text = lambda units: str(Decimal(int(units)) / 10000)
    out["accounts"] = {
        a: [to_text(v["total_amount"]), int(v["event_count"])]
        for a, v in table("account_totals", ["total_amount", "event_count"]).items()
    }
    out["channels"] = {
        c: [to_text(v["total_amount"]), int(v["event_count"])]
        for c, v in table("channel_totals", ["total_amount", "event_count"]).items()
    }
print(json.dumps(out))
"""


def interpreter() -> str:
    """A version the project can be baked for and an interpreter here runs (pyenv, uv, PATH: tests/pythons.py)."""
    for version in ("3.13", "3.12", "3.11", "3.14"):
        if version in CONTEXT["python_version"] and find_python(version):
            return version
    raise AssertionError("no Python 3.11-3.14 found (pyenv, uv, PATH): the walkthrough needs the project's own")


def event(i: int, channel: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"e-{i}",
        "account": f"acct-{i % 5}",
        "amount": round(i * 1.25, 2),
        "occurred_at": "2026-01-01T00:00:00Z",
    }
    if channel is not None:
        record["channel"] = channel
    return record


def apply(package: Path, edits: list[tuple[str, str, str]], readme: str) -> None:
    """Insert each edit at its anchor (after it, or in place of a line it replaces), as the README says."""
    for name, anchor, text in edits:
        path = package / name
        source = path.read_text()
        assert source.count(anchor) == 1, f"{name}: the anchor {anchor!r} is not there once"
        for line in text.splitlines():
            assert line.strip() in readme, f"the README's walkthrough lacks {line.strip()!r}"
        replaces = anchor.startswith(("EXTRA", "    return", "from .schema"))
        if replaces:
            source = source.replace(anchor, text)
        elif anchor.startswith("OUTPUTS") and text.startswith("class"):
            source = source.replace(anchor, text + "\n\n" + anchor)
        else:
            source = source.replace(anchor, anchor + text)
        path.write_text(source)


class Project:
    """The baked project, its virtualenv and its settings."""

    def __init__(self, root: Path, python: str, env: dict[str, str]) -> None:
        self.root = root
        self.package = root.name.replace("-", "_")
        self.venv = root / ".venv"
        self.env = env
        uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        found = find_python(python)
        assert found, f"no Python {python} here"
        subprocess.run(["uv", "venv", "-q", "--python", found, str(self.venv)], check=True, env=uv_env)
        subprocess.run(
            ["uv", "pip", "install", "-q", "--python", str(self.python),
             "-r", "requirements.txt", "-r", "requirements-dev.txt"],
            cwd=root, check=True, env=uv_env,
        )  # fmt: skip

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *args: str, stdin: str = "", code: int | None = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.python), *args], cwd=self.root, env=self.env, input=stdin, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        if code is not None:
            assert result.returncode == code, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def cli(self, *args: str, stdin: str = "", code: int | None = 0) -> subprocess.CompletedProcess[str]:
        return self.run("-m", self.package, *args, stdin=stdin, code=code)

    def enqueue(self, records: list[dict[str, Any]]) -> None:
        self.cli("enqueue", "-", stdin="".join(json.dumps(r) + "\n" for r in records))

    def drain(self) -> None:
        """Run the Procfile's worker until nothing is queued, in flight or retrying; then SIGTERM it."""
        worker = subprocess.Popen(
            [str(self.python), "-m", self.package], cwd=self.root, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                assert worker.poll() is None, f"the worker stopped: {worker.communicate()[0]}"
                status = json.loads(self.cli("status", "--json").stdout)
                if status["queued"] == status["in_flight"] == status["retrying"] == 0:
                    break
                time.sleep(0.3)
            else:
                pytest.fail("the queue did not drain")
            assert status["dead"] == 0, self.cli("dead", "list").stdout
        finally:
            worker.send_signal(signal.SIGTERM)
            output = worker.communicate(timeout=30)[0]
        assert worker.returncode == 0, output

    def tables(self) -> dict[str, Any]:
        args = [self.env["REDIS_URL"], self.env["QUEUE_NAME"], self.env.get("DATABASE_URL", "")]
        return dict(json.loads(self.run("-c", READ, *args).stdout))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_make_it_yours_walkthrough(bake: Any, services: Services, variant: str) -> None:
    answers = VARIANTS[variant]
    use_postgres = answers.get("use_postgres", True)
    python = interpreter()
    root = bake(python_version=python, **answers)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(FAST, REDIS_URL=services.redis_url, QUEUE_NAME=f"yours-{uuid.uuid4().hex[:10]}")
    if use_postgres:
        env["DATABASE_URL"] = services.create_database()
    project = Project(root, python, env)
    readme = (root / "README.md").read_text()
    package = root / project.package

    # The demo's shape: 40 jobs stored.
    if use_postgres:
        project.cli("migrate")  # a Redis-only bake has no migrate: its store records its layout itself
    old = [event(i) for i in range(40)]
    project.enqueue(old)
    project.drain()
    before = project.tables()
    assert len(before["events"]) == 40 and before["channels"] == {}

    # The walkthrough's edits.
    apply(package, SCHEMA_EDITS, readme)
    apply(package, PANDAS_EDITS if answers.get("use_pandas", True) else PLAIN_EDITS, readme)
    if use_postgres:
        assert MIGRATION in readme.replace("\n   ", "\n").replace("   ```sql\n", "")
        (package / "migrations" / "0002_channel.sql").write_text(MIGRATION)
        refused = project.cli(code=1)  # a worker of the new code on the old schema: exits, names the migration
        assert "schema_not_ready" in refused.stdout and "0002_channel.sql" in refused.stdout
        assert "applied=0002_channel.sql" in project.cli("migrate").stdout

    # New jobs (with and without the new field) and the old ones delivered again.
    new = [event(i, channel="app" if i % 2 else None) for i in range(40, 70)]
    project.enqueue(new + old)
    project.drain()
    after = project.tables()

    assert set(after["events"]) == {e["id"] for e in old + new}
    for record in new:
        assert after["events"][record["id"]] == [record.get("channel", "web"), round(record["amount"] * 100)]
    if use_postgres:  # the migration kept the old rows and backfilled their derived column
        for record in old:
            assert after["events"][record["id"]] == ["web", round(record["amount"] * 100)]
    channels: dict[str, list[Any]] = {}
    for record in new:  # only the jobs stored by the new code: the redelivered old ones add nothing
        total, count = channels.setdefault(record.get("channel", "web"), [0.0, 0])
        channels[record.get("channel", "web")] = [total + record["amount"], count + 1]
    got = {c: [round(float(t), 2), n] for c, (t, n) in after["channels"].items()}
    assert got == {c: [round(t, 2), n] for c, (t, n) in channels.items()}
    accounts: dict[str, list[Any]] = {}
    for record in old + new:
        total, count = accounts.setdefault(record["account"], [0.0, 0])
        accounts[record["account"]] = [total + record["amount"], count + 1]
    got = {a: [round(float(t), 2), n] for a, (t, n) in after["accounts"].items()}
    assert got == {a: [round(t, 2), n] for a, (t, n) in accounts.items()}

    # The project's own checks still pass with the team's shape.
    edited = [f"{project.package}/schema.py", f"{project.package}/transform.py"]
    project.run("-m", "ruff", "check", *edited)
    project.run("-m", "ruff", "format", "--check", *edited)
    project.run("-m", "mypy")
    tests = ["tests/test_validate.py", "tests/test_shape.py", "tests/test_outputs.py"]
    project.run("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests)


# --- The orders change: a team replaces the demo on day 1 and adds a column a month later ------------------
# Day 1 touches the team's logic only: schema.py (the shape and the tables), transform.py, one migration;
# the demo's own tests (tests/test_demo.py, and test_demo_postgres.py with PostgreSQL) are deleted. Every other
# baked test must pass unchanged.
ORDERS_SCHEMA = [
    ("from datetime import datetime, tzinfo\n", "from datetime import date, datetime, tzinfo\n"),
    (
        "# Money: an exact Decimal, like PostgreSQL's numeric(digits, decimals); a JSON number or string, refused\n"
        "# (never rounded) with more decimals or digits. "
        "Here |amount| < 10**11, to 4 decimals (column numeric(20, 4)).\n"
        '# Yours, e.g.: Money = Annotated[Decimal, Meta(extra={"digits": 12, "decimals": 2})] and numeric(12, 2).\n'
        'Amount = Annotated[Decimal, Meta(extra={"digits": 15, "decimals": 4})]\n',
        "# Money: exact, to the cent, below 10**10: numeric(12, 2) (more decimals are refused, never rounded).\n"
        'Money = Annotated[Decimal, Meta(extra={"digits": 12, "decimals": 2})]\n'
        'Currency = Literal["EUR", "USD", "GBP"]\n',
    ),
    (
        "    id: Text  # the idempotency key (KEY): a job whose key is already stored adds nothing\n"
        "    account: Text\n"
        '    amount: Amount  # exact: 12.5 or "12.50"; 12.34567 is refused (4 decimals at most)\n'
        "    occurred_at: datetime  # RFC 3339 date-time; without a zone it is UTC; 1900 <= t < 2200\n",
        "    order_id: Text  # the idempotency key\n"
        "    customer: Text\n"
        "    total: Money  # a refund is negative: transform skips it (refunds have their own worker)\n"
        "    currency: Currency\n"
        "    placed_at: datetime\n",
    ),
    ('KEY = "id"\nJOB_TABLE = "events"', 'KEY = "order_id"\nJOB_TABLE = "orders"'),
    (
        "class AccountTotal(msgspec.Struct):\n"
        '    """The demo\'s output table (`account_totals`): per account, the sum, count and latest event time."""\n'
        "\n"
        "    account: str\n"
        "    total_amount: Amount\n"
        "    event_count: int\n"
        "    last_event_at: datetime\n",
        "class DailyRevenue(msgspec.Struct):\n"
        '    """Per day and currency: the revenue and the number of orders."""\n'
        "\n"
        "    day: date\n"
        "    currency: str\n"
        "    revenue: Money\n"
        "    orders: int\n"
        "    last_order_at: datetime\n",
    ),
    (
        '    "account_totals": Table(\n'
        "        AccountTotal,\n"
        '        key=("account",),\n'
        '        merge={"total_amount": "add", "event_count": "add", "last_event_at": "greatest"},\n'
        "    ),\n",
        '    "daily_revenue": Table(\n'
        "        DailyRevenue,\n"
        '        key=("day", "currency"),\n'
        '        merge={"revenue": "add", "orders": "add", "last_order_at": "greatest"},\n'
        "    ),\n",
    ),
]
ORDERS_TRANSFORM_PANDAS = '''"""Orders: each sale stored and added to its day's revenue; refunds are skipped."""

from __future__ import annotations

import pandas as pd

from .output import Output


def transform(events: pd.DataFrame) -> Output:
    """The sales of one batch of orders, and their rows for daily_revenue."""
    sales = events[events["total"] >= 0]
    daily = pd.DataFrame(
        {
            "job": sales["order_id"],
            "day": sales["placed_at"].dt.date,
            "currency": sales["currency"],
            "revenue": sales["total"],
            "orders": 1,
            "last_order_at": sales["placed_at"],
        }
    )
    return Output(sales, {"daily_revenue": daily})
'''
ORDERS_TRANSFORM_PLAIN = '''"""Orders: each sale stored and added to its day's revenue; refunds are skipped."""

from __future__ import annotations

from .output import Output
from .schema import Event


def transform(events: list[Event]) -> Output:
    """The sales of one batch of orders, and their rows for daily_revenue."""
    sales = [e for e in events if e.total >= 0]
    daily = [
        {
            "job": e.order_id,
            "day": e.placed_at.date(),
            "currency": e.currency,
            "revenue": e.total,
            "orders": 1,
            "last_order_at": e.placed_at,
        }
        for e in sales
    ]
    return Output(sales, {"daily_revenue": daily})
'''
ORDERS_MIGRATION = """CREATE TABLE orders (
    order_id text PRIMARY KEY,
    customer text NOT NULL,
    total numeric(12, 2) NOT NULL,
    currency text NOT NULL,
    placed_at timestamptz NOT NULL
);

CREATE TABLE daily_revenue (
    day date NOT NULL,
    currency text NOT NULL,
    revenue numeric(14, 2) NOT NULL DEFAULT 0,
    orders bigint NOT NULL DEFAULT 0,
    last_order_at timestamptz,
    PRIMARY KEY (day, currency)
);
"""
CHANNEL_SCHEMA = [
    ("    placed_at: datetime\n", '    placed_at: datetime\n    channel: Literal["web", "app"] = "web"\n')
]
CHANNEL_MIGRATION = "ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'web';\n"


def edit(path: Path, edits: list[tuple[str, str]]) -> None:
    text = path.read_text()
    for old, new in edits:
        assert text.count(old) == 1, f"{path.name}: the anchor is not there once: {old!r}"
        text = text.replace(old, new)
    path.write_text(text)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def baked_nox(root: Path, env: dict[str, str]) -> None:
    """The baked project's own `nox -s lint typing tests`, as a team runs it before a push."""
    nox = [sys.executable, "-m", "nox"] if importlib.util.find_spec("nox") else [shutil.which("nox") or "nox"]
    result = subprocess.run(
        [*nox, "-s", "lint", "typing", "tests"], cwd=root, env=env, capture_output=True, text=True,
        timeout=1800, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"the baked nox failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


ORDERS_VARIANTS = {
    "postgres-pandas": {},
    "redis-plain": {"use_postgres": False, "use_pandas": False, "release_phase": False},
}


@pytest.mark.long
@pytest.mark.timeout(3600)  # two runs of the baked project's whole nox
@pytest.mark.parametrize("variant", list(ORDERS_VARIANTS))
def test_the_orders_change_touches_only_the_teams_logic_and_nox_stays_green(
    bake: Any, services: Services, variant: str
) -> None:
    answers = ORDERS_VARIANTS[variant]
    use_postgres = answers.get("use_postgres", True)
    root = bake(python_version=interpreter(), **answers)
    package = root / root.name.replace("-", "_")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(REDIS_URL=services.redis_url, UV_PYTHON_DOWNLOADS="never", PYTEST_WORKERS="2")
    if use_postgres:
        env["DATABASE_URL"] = services.postgres_url  # the baked tests create their own database through it
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "baked")

    # Day 1: the orders worker.
    edit(package / "schema.py", ORDERS_SCHEMA)
    transform = ORDERS_TRANSFORM_PANDAS if answers.get("use_pandas", True) else ORDERS_TRANSFORM_PLAIN
    (package / "transform.py").write_text(transform)
    if use_postgres:
        (package / "migrations" / "0002_orders.sql").write_text(ORDERS_MIGRATION)
    demo = sorted((root / "tests").glob("test_demo*.py"))
    assert [p.name for p in demo] == ["test_demo.py"] + (["test_demo_postgres.py"] if use_postgres else [])
    for path in demo:
        path.unlink()
    git(root, "add", "-A")
    changed = git(root, "diff", "--cached", "--numstat", "HEAD").splitlines()
    files = {line.split("\t")[2]: int(line.split("\t")[0]) for line in changed}
    for path in demo:
        files.pop(f"tests/{path.name}")
    logic = {f"{package.name}/schema.py", f"{package.name}/transform.py"}
    if use_postgres:
        logic.add(f"{package.name}/migrations/0002_orders.sql")
    assert set(files) == logic, f"day 1 touched more than the team's logic: {sorted(set(files) - logic)}"
    assert sum(files.values()) <= 150, f"day 1 added {sum(files.values())} lines: {files}"
    print(f"day 1 ({variant}): {sum(files.values())} lines added in {sorted(files)}")
    baked_nox(root, env)
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "orders")

    # Day 2: a channel, sent by new producers (old ones send none: "web").
    edit(package / "schema.py", CHANNEL_SCHEMA)
    if use_postgres:
        (package / "migrations" / "0003_channel.sql").write_text(CHANNEL_MIGRATION)
    baked_nox(root, env)
