"""The store contract: what the worker and the CLI may ask of a result store, whichever one was baked.

Both stores (`store.py`: PostgreSQL or Redis) implement `ResultStore`, and their modules `StoreModule`;
mypy --strict checks both in every variant (cli.py assigns the module to `StoreModule`). The worker and
the CLI know nothing else about a store: no driver imports, no module-name sniffing. Errors are explained
by the store's own `diagnose` (see faults.py); the two failures a store reports for the CLI are below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from .environment import Setting
from .faults import Diagnosis
from .output import Batch

if TYPE_CHECKING:  # config.py imports the store, which imports this module
    from .config import Config


class StoreError(Exception):
    """A store problem that a command reports as one line (exit 1): its message is safe to print."""


class SchemaNotReady(StoreError):
    """The stored schema lacks what this code needs (the worker exits; the release phase must migrate)."""


class MigrationFailed(StoreError):
    """A migration could not be applied; it was rolled back. The message names it."""


class ResultStore(Protocol):
    """Where a batch's results go, exactly once per job key, in one transaction."""

    def migrate(self) -> list[str]:
        """Apply the schema changes this code ships that are not applied yet; return their names.

        Run by the release phase only (`python -m <pkg> migrate`). Safe to run twice, and concurrently.
        Raises MigrationFailed (naming the migration) when one fails; that one is rolled back.
        """
        ...

    def check_schema(self) -> None:
        """Raise SchemaNotReady, naming what is missing, unless the schema is what this code needs.

        Run by every worker at start instead of changing the schema: it reads, never locks a table.
        """
        ...

    def encode(self, batch: Batch) -> Batch:
        """Return the batch with the CPU work of saving it done (`Batch.encoded`); no I/O, no shared state.

        The worker's reading thread calls it while the store thread saves the previous batch, which keeps
        that work off the store thread's path; `save` encodes a batch that was not.
        """
        ...

    def save(self, batch: Batch) -> int:
        """Store a batch's job rows and output tables in one transaction; only jobs whose key is not stored
        yet add anything (to any table). Return how many job rows were new."""
        ...

    def reset(self) -> None:
        """Undo a failed save (roll back, or drop a broken connection); the next call starts afresh."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...

    def diagnose(self, exc: BaseException) -> Diagnosis:
        """What an error raised by this store means for the jobs in hand (see faults.Fault)."""
        ...


class StoreClass(Protocol):
    """How the CLI makes a store: `Store(config, application_name=...)` (the name shows in the server's
    connection list), an object that implements ResultStore."""

    def __call__(self, config: Config, application_name: str = ...) -> ResultStore: ...


class StoreModule(Protocol):
    """What a store module (store.py) declares, for config.py and cli.py: its `Store`, its settings and its
    driver's errors. cli.py assigns the module to this type, so mypy checks every variant's store.py."""

    @property
    def Store(self) -> StoreClass:  # read-only: a class matches StoreClass, never equals it
        """The store class."""
        ...

    NAME: str  # "PostgreSQL", "Redis": in the CLI's one-line errors
    ERRORS: tuple[type[Exception], ...]  # the driver's errors the CLI reports as one line
    SETTINGS: tuple[Setting, ...]  # the environment variables the store reads (config.SETTINGS lists them)

    def configure(self, values: Mapping[str, str]) -> str:
        """The store's settings (SETTINGS' raw values) as Config.database_url; ConfigError if malformed."""
        ...

    def secrets(self, database_url: str) -> list[str]:
        """Passwords in the store's settings, for logs.hide()."""
        ...

    def diagnose(self, exc: BaseException) -> Diagnosis:
        """What an error raised by the store means for the jobs in hand (see faults.Fault)."""
        ...
