"""Server configuration: one place that reads the environment and explains bad values.

Every setting has a safe default so ``hotline-server serve`` works on a laptop with nothing
configured; a value that cannot be used raises :class:`ConfigError` with one line a person
can act on (the CLI prints it without a traceback).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline_server.proxies import DEFAULT_TRUSTED, Network, parse_trusted

DEFAULT_TOKEN_TTL_SECONDS = 12 * 3600
DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Failed sign-ins (hotline_server/auth.py): per user and address, and, slower, per user from
# any address (what rotating addresses cannot get past).
DEFAULT_LOGIN_MAX_FAILURES = 5
DEFAULT_LOGIN_WINDOW_SECONDS = 15 * 60
DEFAULT_LOGIN_USER_MAX_FAILURES = 50
DEFAULT_LOGIN_USER_WINDOW_SECONDS = 3600


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


REPORT_FORMATS = ("csv", "md")
DEFAULT_REPORT_AT = "06:00"


def parse_report_at(raw: str, name: str = "HOTLINE_REPORT_AT") -> time:
    """The site-time hour the daily report is written at: ``HH:MM``."""
    try:
        hour, minute = (int(part) for part in raw.strip().split(":"))
        return time(hour, minute)
    except ValueError:
        raise ConfigError(f"{name} must be a time of day HH:MM (e.g. 06:00), got {raw!r}") from None


def parse_report_formats(raw: str, name: str = "HOTLINE_REPORT_FORMATS") -> tuple[str, ...]:
    """``csv``, ``md`` or both (``csv,md``)."""
    chosen = tuple(dict.fromkeys(p.strip().lower() for p in raw.split(",") if p.strip()))
    bad = [f for f in chosen if f not in REPORT_FORMATS]
    if bad or not chosen:
        raise ConfigError(f"{name} must be csv, md or csv,md, got {raw!r}")
    return chosen


def default_database_url() -> str:
    """A SQLite file in the user data dir: a demo or a small site needs no setup. The
    folder is the server's own, so it is made user-only (0700) even if it existed."""
    import platformdirs

    from hotline_server.db.files import private_dir

    data = private_dir(Path(platformdirs.user_data_dir("hotline-server", appauthor=False)))
    return f"sqlite:///{data / 'hotline.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the URL forms people paste; always use psycopg 3 for PostgreSQL."""
    url = url.strip()
    if not url:
        raise ConfigError("the database URL is empty (--database or HOTLINE_DATABASE_URL)")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql+psycopg://") or url.startswith("sqlite:"):
        return url
    scheme = url.split(":", 1)[0]
    raise ConfigError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///PATH or "
        "postgresql://USER@HOST:PORT/DB"
    )


def resolve_database_url(url: str | None) -> str:
    """--database, else HOTLINE_DATABASE_URL, else the default SQLite file."""
    chosen = url or os.environ.get("HOTLINE_DATABASE_URL") or default_database_url()
    return normalize_database_url(chosen)


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _check_tz(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {name!r} (HOTLINE_TZ), e.g. Asia/Shanghai") from None
    return name


def _trusted_proxies() -> tuple[Network, ...]:
    raw = os.environ.get("HOTLINE_TRUSTED_PROXIES")
    try:
        return parse_trusted(DEFAULT_TRUSTED if raw is None else raw)
    except ValueError as exc:
        raise ConfigError(
            f"HOTLINE_TRUSTED_PROXIES: {exc} (e.g. 127.0.0.1,10.0.0.0/8 or none)"
        ) from None


def _max_body_bytes() -> int:
    """A request body limit no desk's push batch can reach (hotline_server.limits)."""
    from hotline.protocol import MAX_PUSH_BODY_BYTES

    return _env_int("HOTLINE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, MAX_PUSH_BODY_BYTES)


@dataclass(frozen=True)
class Settings:
    database_url: str
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_SECONDS
    telephony_token: str | None = None
    timezone: str = DEFAULT_TZ
    login_max_failures: int = DEFAULT_LOGIN_MAX_FAILURES
    login_window_seconds: int = DEFAULT_LOGIN_WINDOW_SECONDS
    login_user_max_failures: int = DEFAULT_LOGIN_USER_MAX_FAILURES
    login_user_window_seconds: int = DEFAULT_LOGIN_USER_WINDOW_SECONDS
    teams: tuple[str, ...] = field(default_factory=tuple)
    trusted_proxies: tuple[Network, ...] = field(
        default_factory=lambda: parse_trusted(DEFAULT_TRUSTED)
    )
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The clock policy file (hotline.policy, docs/policy.md), loaded at start when given.
    policy_file: str | None = None
    # The scheduled daily report: written to ``report_dir`` (none: not scheduled) at
    # ``report_at`` site time, for the day before, in ``report_formats``.
    report_dir: str | None = None
    report_at: time = time(6, 0)
    report_formats: tuple[str, ...] = REPORT_FORMATS

    @classmethod
    def from_env(cls, database_url: str | None = None) -> Settings:
        token = os.environ.get("HOTLINE_TELEPHONY_TOKEN") or None
        if token is not None and len(token) < 16:
            raise ConfigError("HOTLINE_TELEPHONY_TOKEN must be at least 16 characters long")
        tz = os.environ.get("HOTLINE_TZ") or os.environ.get("HOTLINE_TIMEZONE") or DEFAULT_TZ
        return cls(
            database_url=resolve_database_url(database_url),
            token_ttl_seconds=_env_int("HOTLINE_TOKEN_TTL_SECONDS", DEFAULT_TOKEN_TTL_SECONDS, 1),
            telephony_token=token,
            timezone=_check_tz(tz),
            login_max_failures=_env_int(
                "HOTLINE_LOGIN_MAX_FAILURES", DEFAULT_LOGIN_MAX_FAILURES, 1
            ),
            login_window_seconds=_env_int(
                "HOTLINE_LOGIN_WINDOW_SECONDS", DEFAULT_LOGIN_WINDOW_SECONDS, 1
            ),
            login_user_max_failures=_env_int(
                "HOTLINE_LOGIN_USER_MAX_FAILURES", DEFAULT_LOGIN_USER_MAX_FAILURES, 1
            ),
            login_user_window_seconds=_env_int(
                "HOTLINE_LOGIN_USER_WINDOW_SECONDS", DEFAULT_LOGIN_USER_WINDOW_SECONDS, 1
            ),
            trusted_proxies=_trusted_proxies(),
            max_body_bytes=_max_body_bytes(),
            policy_file=os.environ.get("HOTLINE_POLICY_FILE") or None,
            report_dir=os.environ.get("HOTLINE_REPORT_DIR") or None,
            report_at=parse_report_at(os.environ.get("HOTLINE_REPORT_AT") or DEFAULT_REPORT_AT),
            report_formats=parse_report_formats(
                os.environ.get("HOTLINE_REPORT_FORMATS") or ",".join(REPORT_FORMATS)
            ),
        )
