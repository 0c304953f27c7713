"""The clock policy in force on this deployment (``hotline.policy``; docs/policy.md).

Stored in the database (``server_meta`` row ``policy``: the admin's TOML text as written,
who loaded it, when, from where), so every instance on one PostgreSQL uses the same policy
and a restart keeps it. Each process keeps the parsed policy and looks at the stored row's
version at most once a second (``CHECK_SECONDS``); a replacement made through this process
is in force here at once.

A text is stored only after ``hotline.policy.parse_policy`` accepted it: a bad file or body
is refused with its problems and the policy in force does not change.
"""

from __future__ import annotations

import json
import logging
import threading
import time as monotonic_time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotline.policy import DEFAULT_POLICY, SitePolicy, parse_policy
from hotline_server.db.schema import server_meta

log = logging.getLogger("hotline_server.policy")

META_KEY = "policy"
CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class LoadedPolicy:
    policy: SitePolicy = DEFAULT_POLICY
    text: str = ""
    version: int = 0
    source: str = "default"  # default | file:PATH | api
    updated_at: str | None = None
    updated_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "source": self.source,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
            "toml": self.text,
            "policy": self.policy.as_dict(),
        }


DEFAULT_LOADED = LoadedPolicy()


def _read_row(conn: Connection) -> dict[str, Any] | None:
    raw = conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == META_KEY)).scalar()
    if raw is None:
        return None
    stored: dict[str, Any] = json.loads(raw)
    return stored


def read_stored(conn: Connection) -> LoadedPolicy:
    """The stored policy (the defaults when none was ever loaded). A stored text is one
    that was accepted; should it no longer parse (a newer server's rules), the defaults
    are used and the reason logged, never a failing request."""
    row = _read_row(conn)
    if row is None:
        return DEFAULT_LOADED
    text = str(row.get("toml") or "")
    try:
        policy = parse_policy(text)
    except ValueError as exc:
        log.error("the stored clock policy cannot be used (%s); using the defaults", exc)
        policy = DEFAULT_POLICY
    return LoadedPolicy(
        policy=policy,
        text=text,
        version=int(row.get("version") or 0),
        source=str(row.get("source") or "api"),
        updated_at=row.get("updated_at"),
        updated_by=row.get("updated_by"),
    )


def store(conn: Connection, text: str, *, by: str, source: str, now: datetime) -> LoadedPolicy:
    """Check ``text`` and make it the policy in force (``PolicyError`` if it is not usable:
    nothing is written then). Returns what is now in force."""
    policy = parse_policy(text)
    row = _read_row(conn)
    version = int(row.get("version") or 0) + 1 if row else 1
    value = {
        "toml": text,
        "version": version,
        "source": source,
        "updated_at": now.isoformat(),
        "updated_by": by,
    }
    encoded = json.dumps(value, ensure_ascii=False)
    updated = conn.execute(
        sa.update(server_meta).where(server_meta.c.key == META_KEY).values(value=encoded)
    ).rowcount
    if not updated:
        conn.execute(sa.insert(server_meta).values(key=META_KEY, value=encoded))
    return LoadedPolicy(policy, text, version, source, now.isoformat(), by)


def reset(conn: Connection, *, by: str, now: datetime) -> LoadedPolicy:
    """Back to the shipped defaults: an empty policy, stored with the next version (so
    every instance sees the change, whatever version it had)."""
    return store(conn, "", by=by, source="default", now=now)


@dataclass
class PolicyHolder:
    """This process's copy of the stored policy (``app.state.policy``)."""

    engine: Engine
    loaded: LoadedPolicy = DEFAULT_LOADED
    _checked: float = -1e9
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> SitePolicy:
        return self.current_loaded().policy

    def current_loaded(self) -> LoadedPolicy:
        now = monotonic_time.monotonic()
        if now - self._checked < CHECK_SECONDS:
            return self.loaded
        with self._lock:
            if now - self._checked >= CHECK_SECONDS:
                try:
                    with self.engine.connect() as conn:
                        row = _read_row(conn)
                        version = int(row.get("version") or 0) if row else 0
                        if version != self.loaded.version:
                            self.loaded = read_stored(conn)
                    self._checked = now
                except Exception:  # the database is away: keep the policy we have
                    log.warning("could not check the stored clock policy; keeping version %d",
                                self.loaded.version)  # fmt: skip
        return self.loaded

    def set(self, loaded: LoadedPolicy) -> None:
        with self._lock:
            self.loaded = loaded
            self._checked = monotonic_time.monotonic()


def holder_of(app: Any) -> PolicyHolder:
    holder: PolicyHolder | None = getattr(app.state, "policy", None)
    if holder is None:
        holder = PolicyHolder(app.state.engine)
        app.state.policy = holder
    return holder


def policy_of(app: Any) -> SitePolicy:
    return holder_of(app).current()


def load_file(engine: Engine, path: str, now: datetime) -> LoadedPolicy:
    """Make the file at ``path`` the policy in force (at start, ``--policy``). A file that
    cannot be read or used raises ``ConfigError`` naming the file and every bad key; the
    stored policy is then left as it was. The same text as the one stored is not written
    again (its version stays)."""
    from hotline.policy import PolicyError
    from hotline_server.db.engine import write_transaction
    from hotline_server.settings import ConfigError

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"cannot read the policy file {path}: {reason}") from None
    try:
        parse_policy(text)
    except PolicyError as exc:
        raise ConfigError(
            f"the policy file {path} is not valid, the policy in force is unchanged: {exc}"
        ) from None
    with write_transaction(engine) as conn:
        stored = read_stored(conn)
        if stored.text == text and stored.version:
            return stored
        loaded = store(conn, text, by="file", source=f"file:{path}", now=now)
    log.info("clock policy version %d loaded from %s", loaded.version, path)
    return loaded
