"""Results in Redis (PostgreSQL switched off): job rows and output tables, each job counted exactly once.

One Lua script (lua/store_save.lua) stores a chunk of jobs atomically: HSETNX on the job hash is the
processed-key check, and only the jobs it adds apply their output-table rows, so a job delivered twice
changes nothing. The layout derives from schema.py, in the queue's hash slot:
- {<queue>}:<JOB_TABLE>: job key -> JSON object of the other stored columns (times as microseconds since
  1970 UTC);
- {<queue>}:<table>:<column>: output-table key (its key columns joined by "|") -> value; "add" columns of a
  float or Decimal type with declared decimals are kept as whole units (exact sums), e.g. amounts in units
  of 0.0001; dates as day numbers (date.toordinal), so that greatest and least compare them;
- {<queue>}:layout: the version of this layout (Redis has no schema to migrate, but a worker must not write a
  layout it does not know into keys that hold another one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from .contract import SchemaNotReady
from .environment import Setting
from .faults import Diagnosis, diagnose_redis
from .output import Batch, units
from .queue_protocol import Keys, connect, lua
from .schema import JOB, JOB_TABLE, KEY, OUTPUTS, STORED, decimals_of, types_of

# The version of the layout above. Change it, with code that converts or tolerates the old values, whenever
# that layout changes (1: the demo's fixed totals keys; 2: keys derived from schema.OUTPUTS).
LAYOUT = "2"
CHUNK = 2000  # jobs per script: bounds the time one script holds Redis

OPS = {"add": "add", "greatest": "max", "least": "min", "first": "first"}

if TYPE_CHECKING:  # config.py imports this module for its settings
    from .config import Config

NAME = "Redis"
ERRORS: tuple[type[Exception], ...] = ()  # redis-py's errors: the CLI reports them itself (the queue's)
SETTINGS: tuple[Setting, ...] = ()  # the queue's REDIS_URL holds the results too


def configure(values: Mapping[str, str]) -> str:
    """Config.database_url: none, the results live in the queue's Redis."""
    return ""


def secrets(database_url: str) -> list[str]:
    """None of its own: REDIS_URL's password is the config's."""
    return []


def argument(value: Any) -> Any:
    """A value as the script takes it: floats exactly (repr), Decimals as their text, ints as they are."""
    if isinstance(value, float):
        return repr(value)
    return str(value) if isinstance(value, Decimal) else value


class Store:
    """Job rows and output tables in the queue's Redis."""

    def __init__(self, config: Config, application_name: str = "worker") -> None:
        self.redis = connect(config)
        self.prefix = Keys(config.queue_name).prefix
        self.events_key = self.prefix + JOB_TABLE
        self.layout_key = self.prefix + "layout"
        self._save = self.redis.register_script(lua("store_save.lua"))

    def migrate(self) -> list[str]:
        """Record the layout version (Redis keys appear on first write: nothing else to create)."""
        return [f"layout {LAYOUT}"] if self.redis.set(self.layout_key, LAYOUT, nx=True) else []

    def check_schema(self) -> None:
        """Refuse keys written in another layout; an empty queue gets this one (no release phase needed)."""
        self.redis.set(self.layout_key, LAYOUT, nx=True)
        found = self.redis.get(self.layout_key)
        if found is not None and found != LAYOUT.encode():
            raise SchemaNotReady(
                f"{self.layout_key} says layout {found!r}, this code writes layout {LAYOUT!r}: "
                "convert the stored keys first (or use another QUEUE_NAME)"
            )

    def ops(self, batch: Batch) -> dict[Any, list[Any]]:
        """Per job key, the output-table writes it brings (op, hash, field, argument), flattened."""
        out: dict[Any, list[Any]] = defaultdict(list)
        for name, rows in batch.tables.items():
            table = OUTPUTS[name]
            types, decimals = types_of(table.row), decimals_of(table.row)
            c = rows.columns
            fields = ["|".join(map(str, key)) for key in zip(*(c[k] for k in table.key), strict=True)]
            for column, merge in table.merge.items():
                op, values, kind = OPS[merge], c[column], types[column]
                scale = decimals.get(column)
                if merge == "add" and kind in (float, Decimal):  # whole units when decimals are declared
                    op = "add" if scale else "addf"
                    values = units(values, scale) if scale else values
                elif kind is date:  # a day number: the script's max and min compare numbers
                    values = [v.toordinal() for v in values]
                hash_key = f"{self.prefix}{name}:{column}"
                for job, field, value in zip(c[JOB], fields, values, strict=True):
                    out[job].extend((op, hash_key, field, argument(value)))
        return out

    def encode(self, batch: Batch) -> Batch:
        """The batch with its script arguments made: per job, its stored value and output-table writes."""
        if batch.encoded is not None:
            return batch
        ops = self.ops(batch)
        c = batch.rows.columns
        others = [name for name in STORED if name != KEY]
        rows = zip(*(c[name] for name in others), strict=True)
        values = [msgspec.json.encode(dict(zip(others, row, strict=True))) for row in rows]
        args: list[Any] = []
        for key, value in zip(batch.rows.keys, values, strict=True):
            mine = ops.get(key, [])
            args.append((key, value, len(mine) // 4, *mine))
        return replace(batch, encoded=tuple(args))

    def save(self, batch: Batch) -> int:
        """Store the job rows and their output-table rows atomically per chunk; returns how many were new."""
        jobs = self.encode(batch).encoded
        stored = 0
        for start in range(0, len(jobs), CHUNK):
            args = [arg for job in jobs[start : start + CHUNK] for arg in job]
            stored += int(self._save(keys=[self.events_key], args=args))
        return stored

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        """An output table as stored: key (joined by "|") -> column -> value (sums in declared units)."""
        table = OUTPUTS[name]
        types, decimals = types_of(table.row), decimals_of(table.row)
        out: dict[str, dict[str, Any]] = defaultdict(dict)
        for column in table.merge:
            stored: dict[Any, Any] = self.redis.hgetall(f"{self.prefix}{name}:{column}")
            for field, raw in stored.items():
                kind, scale = types[column], decimals.get(column)
                value: Any = raw.decode()
                if kind in (float, Decimal) and scale and table.merge[column] == "add":
                    value = Decimal(int(value)).scaleb(-scale)
                elif kind in (int, datetime):
                    value = int(value)
                elif kind is date:
                    value = date.fromordinal(int(value))
                out[field.decode()][column] = value
        return dict(out)

    def reset(self) -> None:
        """Nothing to undo: a script either ran or it did not."""

    def close(self) -> None:
        self.redis.close()

    def diagnose(self, exc: BaseException) -> Diagnosis:
        return diagnose(exc)


def diagnose(exc: BaseException) -> Diagnosis:
    """The results live in the queue's Redis: its errors mean what the queue's do (faults.py)."""
    return diagnose_redis(exc)
