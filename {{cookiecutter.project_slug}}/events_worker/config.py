"""Settings: every environment variable the worker reads, its default, and validation at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from . import store
from .environment import ConfigError as ConfigError
from .environment import Setting as Setting
from .environment import load_dotenv as load_dotenv
from .environment import read_dotenv as read_dotenv

# This project's slug (the package's name with dashes): the default queue name.
PROJECT = __name__.partition(".")[0].replace("_", "-")

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
        "Redis holding the queue (redis://, or rediss:// for TLS).",
    ),
    Setting(
        "REDIS_SSL_CERT_REQS",
        "none",
        "Certificate check for rediss:// URLs: none (Heroku Redis, self-signed), optional, required.",
    ),
    *store.SETTINGS,  # the store's own (store.py), e.g. the database's URL
    Setting(
        "QUEUE_NAME",
        PROJECT,
        "Queue name, this project's slug by default, so two projects on one Redis keep apart; all Redis keys "
        "are {QUEUE_NAME}:... (one cluster hash slot).",
    ),
    Setting("BATCH_SIZE", "2000", "Jobs taken and stored per batch (1-10000)."),
    Setting(
        "READ_MAX_BYTES",
        "8388608",
        "Payload bytes taken per batch (64 KiB-1 GiB; one job at least): bounds the worker's memory.",
    ),
    Setting("POLL_TIMEOUT_MS", "1000", "How long one read waits for jobs, in milliseconds (10-10000)."),
    Setting("HEARTBEAT_SECONDS", "5", "Seconds between heartbeats from the heartbeat thread (0.1-60)."),
    Setting(
        "CLAIM_IDLE_SECONDS",
        "30",
        "Jobs held this long without a heartbeat from their worker are taken over (>= 3x HEARTBEAT_SECONDS).",
    ),
    Setting("MAX_DELIVERIES", "5", "Deliveries before a failing (or worker-killing) job is dead (2-1000)."),
    Setting("RETRY_BASE_SECONDS", "1", "First retry delay; doubles per delivery, with jitter (0-3600)."),
    Setting("RETRY_MAX_SECONDS", "300", "Longest retry or reconnect delay (0-86400)."),
    Setting(
        "SHUTDOWN_TIMEOUT_SECONDS",
        "20",
        "After SIGTERM the watchdog ends the process after this long (1-28, inside Heroku's 30 s).",
    ),
    Setting(
        "PAYLOAD_MAX_BYTES",
        "1048576",
        "Largest job payload in bytes (1 KiB-512 MiB): enqueue refuses it, the worker dead-letters it.",
    ),
    Setting(
        "DEAD_LETTER_MAX_COUNT", "10000", "Dead letters kept (1-10000000); the oldest are dropped, logged."
    ),
    Setting(
        "DEAD_LETTER_MAX_BYTES",
        "5242880",
        "Bytes of dead letters kept in Redis (64 KiB-1 GiB, at least 2x PAYLOAD_MAX_BYTES); the oldest are "
        "dropped, logged.",
    ),
    Setting(
        "DEAD_LETTER_PAYLOAD_BYTES",
        "8192",
        "Prefix a dead letter keeps of a payload over PAYLOAD_MAX_BYTES (256 B-1 MiB); others keep it whole.",
    ),
    Setting("LOG_LEVEL", "info", "debug, info, warning or error."),
    Setting(
        "UNKNOWN_FIELDS",
        "ignore",
        "A job field the schema does not declare: ignore it, or refuse the job (refuse).",
    ),
)

LOG_LEVELS = ("debug", "info", "warning", "error")
CERT_REQS = ("none", "optional", "required")
UNKNOWN_FIELDS = ("ignore", "refuse")
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class Config:
    """Validated settings, read once at start."""

    redis_url: str
    redis_ssl_cert_reqs: str
    database_url: str
    queue_name: str
    batch_size: int
    read_max_bytes: int
    poll_timeout_ms: int
    heartbeat_seconds: float
    claim_idle_seconds: float
    max_deliveries: int
    retry_base_seconds: float
    retry_max_seconds: float
    shutdown_timeout_seconds: float
    log_level: str
    payload_max_bytes: int
    dead_letter_max_count: int
    dead_letter_max_bytes: int
    dead_letter_payload_bytes: int
    unknown_fields: str = "ignore"

    def secrets(self) -> list[str]:
        """The passwords in REDIS_URL and DATABASE_URL, for logs.hide()."""
        found = [password_of_url(self.redis_url), *store.secrets(self.database_url)]
        return [s for s in found if s]


def _raw(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if value:
        return value
    default = next(s.default for s in SETTINGS if s.name == name)
    return default or ""


def _number(env: Mapping[str, str], name: str, low: float, high: float, *, integer: bool = False) -> float:
    text = _raw(env, name)
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}={text!r} is not {kind} (allowed {low:g}-{high:g})") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={text} is out of range (allowed {low:g}-{high:g})")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = _raw(env, name).lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of: {', '.join(choices)}")
    return value


def password_of_url(url: str) -> str:
    """The password in a URL's userinfo (a raw "@" in it included) or in its `password=` query parameter."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:
        password = None
    query = dict(parse_qsl(parts.query))
    return unquote(password or "") or query.get("password", "")


def load(env: Mapping[str, str] | None = None) -> Config:
    """Read and validate every setting; raises ConfigError with one clear line."""
    env = os.environ if env is None else env
    redis_url = _raw(env, "REDIS_URL")
    scheme = urlsplit(redis_url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, not {scheme!r}")
    database_url = store.configure({s.name: _raw(env, s.name) for s in store.SETTINGS})
    queue_name = _raw(env, "QUEUE_NAME")
    if not _QUEUE_NAME.match(queue_name):
        raise ConfigError(f"QUEUE_NAME={queue_name!r} must be 1-100 letters, digits or _.:-")
    heartbeat = _number(env, "HEARTBEAT_SECONDS", 0.1, 60)
    claim_idle = _number(env, "CLAIM_IDLE_SECONDS", 0.3, 86400)
    if claim_idle < 3 * heartbeat - 1e-9:
        raise ConfigError(
            f"CLAIM_IDLE_SECONDS={claim_idle:g} must be at least 3x HEARTBEAT_SECONDS={heartbeat:g}, "
            "or live workers would lose their jobs"
        )
    payload_max = int(_number(env, "PAYLOAD_MAX_BYTES", 1024, 512 * 2**20, integer=True))
    dead_max_bytes = int(_number(env, "DEAD_LETTER_MAX_BYTES", 65536, 2**30, integer=True))
    if dead_max_bytes < 2 * payload_max + 4096:
        raise ConfigError(
            f"DEAD_LETTER_MAX_BYTES={dead_max_bytes} must hold two dead letters of PAYLOAD_MAX_BYTES="
            f"{payload_max} (at least {2 * payload_max + 4096}): a dead letter keeps its whole payload"
        )
    retry_base = _number(env, "RETRY_BASE_SECONDS", 0, 3600)
    retry_max = _number(env, "RETRY_MAX_SECONDS", 0, 86400)
    if retry_max < retry_base:
        raise ConfigError(f"RETRY_MAX_SECONDS={retry_max:g} is below RETRY_BASE_SECONDS={retry_base:g}")
    return Config(
        redis_url=redis_url,
        redis_ssl_cert_reqs=_choice(env, "REDIS_SSL_CERT_REQS", CERT_REQS),
        database_url=database_url,
        queue_name=queue_name,
        batch_size=int(_number(env, "BATCH_SIZE", 1, 10000, integer=True)),
        read_max_bytes=int(_number(env, "READ_MAX_BYTES", 65536, 2**30, integer=True)),
        poll_timeout_ms=int(_number(env, "POLL_TIMEOUT_MS", 10, 10000, integer=True)),
        heartbeat_seconds=heartbeat,
        claim_idle_seconds=claim_idle,
        max_deliveries=int(_number(env, "MAX_DELIVERIES", 2, 1000, integer=True)),
        retry_base_seconds=retry_base,
        retry_max_seconds=retry_max,
        shutdown_timeout_seconds=_number(env, "SHUTDOWN_TIMEOUT_SECONDS", 1, 28),
        log_level=_choice(env, "LOG_LEVEL", LOG_LEVELS),
        payload_max_bytes=payload_max,
        dead_letter_max_count=int(_number(env, "DEAD_LETTER_MAX_COUNT", 1, 10**7, integer=True)),
        dead_letter_max_bytes=dead_max_bytes,
        dead_letter_payload_bytes=int(_number(env, "DEAD_LETTER_PAYLOAD_BYTES", 256, 2**20, integer=True)),
        unknown_fields=_choice(env, "UNKNOWN_FIELDS", UNKNOWN_FIELDS),
    )
