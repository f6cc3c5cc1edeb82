"""Settings: every environment variable the worker reads, its default, and validation at start."""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and what is allowed."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default (None: required/derived) and one line about it."""

    name: str
    default: str | None
    description: str


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
{%- if cookiecutter.use_postgres %}
    Setting(
        "DATABASE_URL",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "PostgreSQL for results; sslmode=require is added for non-local hosts unless the URL sets sslmode.",
    ),
{%- endif %}
    Setting(
        "QUEUE_NAME",
        "{{ cookiecutter.project_slug }}",
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
_LOCAL_HOSTS = {"localhost", ""}


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
        found = [password_of_url(self.redis_url)]
{%- if cookiecutter.use_postgres %}
        found.append(_dsn_parts(self.database_url).get("password", ""))
{%- endif %}
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


def is_local_host(host: str | None) -> bool:
    """True for localhost, loopback addresses and Unix socket paths."""
    if host is None or host in _LOCAL_HOSTS or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def password_of_url(url: str) -> str:
    """The password in a URL's userinfo (a raw "@" in it included) or in its `password=` query parameter."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:
        password = None
    query = dict(parse_qsl(parts.query))
    return unquote(password or "") or query.get("password", "")


def _quote_userinfo(url: str) -> str:
    """A raw "@", "/" or ":" in a URL's password percent-encoded. libpq would take what follows a raw "/" for
    the port and the path, and print part of the password in its error ("invalid integer value")."""
    scheme, sep, rest = url.partition("://")
    query = rest.find("?")
    at = rest.rfind("@", 0, query if query >= 0 else len(rest))  # the userinfo ends at its last "@"
    if not sep or at < 0 or "/" in rest[:at].partition(":")[0]:
        return url  # no userinfo (an "@" in the path), or a user name that is really a path: left as given
    user, colon, password = rest[:at].partition(":")
    return f"{scheme}://{quote(user, safe='%')}{colon}{quote(password, safe='%')}@{rest[at + 1 :]}"


def _dsn_parts(dsn: str) -> dict[str, str]:
{%- if cookiecutter.use_postgres %}
    import psycopg2
    from psycopg2.extensions import parse_dsn

    try:
        return dict(parse_dsn(dsn))
    except psycopg2.ProgrammingError as exc:
        raise ConfigError(f"DATABASE_URL is not a connection string libpq accepts: {exc}") from None
{%- else %}
    return {}
{%- endif %}


def database_dsn(url: str) -> str:
    """DATABASE_URL as libpq takes it, with sslmode=require added when any host is remote.

    Every form libpq accepts works: postgres:// and postgresql:// URIs (a raw "@" in the password too),
    `postgresql:///db?host=remote`, and key=value strings. Hosts may be given in the URI's authority, in
    `host=`/`hostaddr=` (comma-separated lists), or be Unix socket paths (local: no TLS).
    """
    url = url.strip()
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme and scheme not in ("postgres", "postgresql"):
        raise ConfigError(f"DATABASE_URL must start with postgres:// or postgresql://, not {scheme!r}://")
    if scheme:
        url = _quote_userinfo(url)
    parts = _dsn_parts(url)
    if "sslmode" in parts:
        return url
    hosts = [h for key in ("host", "hostaddr") for h in parts.get(key, "").split(",")]
    if all(is_local_host(h.strip()) for h in hosts):
        return url
    if scheme:  # appended as text: urlunsplit() would turn postgresql:///db into postgresql:/db
        return url + ("&" if "?" in url else "?") + "sslmode=require"
    return f"{url} sslmode=require"


def read_dotenv(path: Path) -> dict[str, str]:
    """The NAME=value lines of a `.env` file (quotes, `export` and `#` comments allowed); {} without one.

    Written here rather than taken from python-dotenv: shell-style lines are all a `.env` needs, and the
    worker's slug then carries no extra dependency. A line shlex cannot read is a ConfigError naming the line,
    never its value (it may hold a password)."""
    if not path.is_file():
        return {}
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            words = [w for w in shlex.split(line, comments=True) if w != "export"]
        except ValueError as exc:
            raise ConfigError(f"{path.name} line {number}: {exc} (quote the value)") from None
        if len(words) == 1 and "=" in words[0]:
            name, value = words[0].split("=", 1)
            if name.isidentifier():
                found[name] = value
    return found


def load_dotenv(environ: MutableMapping[str, str] | None = None, path: Path = Path(".env")) -> list[str]:
    """Add `.env`'s settings to the environment, the shell winning: a variable already set is kept.

    Every command of the project reads `.env` this way (`python -m <package> ...`, and nox through this
    function), so `MAX_DELIVERIES=3 python -m <package>` overrides `.env` everywhere. Returns the names added.
    On Heroku there is no `.env` (it is git-ignored): config vars are the environment.
    """
    environ = os.environ if environ is None else environ
    added = {name: value for name, value in read_dotenv(path).items() if name not in environ}
    environ.update(added)
    return list(added)


def load(env: Mapping[str, str] | None = None) -> Config:
    """Read and validate every setting; raises ConfigError with one clear line."""
    env = os.environ if env is None else env
    redis_url = _raw(env, "REDIS_URL")
    scheme = urlsplit(redis_url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, not {scheme!r}")
    database_url = ""
{%- if cookiecutter.use_postgres %}
    database_url = database_dsn(_raw(env, "DATABASE_URL"))
{%- endif %}
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
