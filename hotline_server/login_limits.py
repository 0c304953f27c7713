"""Failed sign-in limits, counted before the password hash runs.

Why in the database and under a lock: several ``serve`` processes share one database, and a
burst of parallel guesses must not all pass the check before any of them is recorded. So each
attempt is reserved first -- a row that counts as a failure -- in one write transaction that
holds the user name's and the address's lock (PostgreSQL advisory locks; SQLite's write lock,
``BEGIN IMMEDIATE``); only then does the argon2 hash run, and a success marks its row after.
Forty parallel guesses thus evaluate at most the limit, and the rest are refused unhashed.

Three limits (``hotline_server.settings``):
- per user name and address: ``login_max_failures`` in ``login_window_seconds``, counted since
  the last success from that address. The one a person's own typos meet.
- per address across user names: ``ADDRESS_FACTOR`` times that, so one address cannot try a
  password against many names.
- per user name from any address: ``login_user_max_failures`` in
  ``login_user_window_seconds``: what a guesser rotating addresses (through a trusted proxy)
  meets.

A known-good address -- one this user signed in from with the right password in the last
``KNOWN_FOR`` -- is held only to the first limit: guesses by others elsewhere cannot lock the
user out of the desk they always use. Nothing here depends on whether the user exists (a known
address needs a success), so a refusal does not tell a guesser that either.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotline_server.db.engine import write_transaction
from hotline_server.db.schema import login_attempts, login_known_addresses
from hotline_server.settings import Settings

ADDRESS_FACTOR = 4
KNOWN_FOR = timedelta(days=90)
KEEP_ATTEMPTS = timedelta(days=7)


class TooManyAttempts(Exception):
    """The attempt was refused before its password was checked."""

    def __init__(self, retry_after: int, field: str | None) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
        self.field = field  # "username" when the name's limit was met, None for the address's


def lock_keys(conn: Connection, *keys: str) -> None:
    """Transaction-scoped locks for sign-in keys on PostgreSQL, always taken in one order (so two
    sign-ins never wait for each other in a cycle). SQLite needs none: the write transaction
    holds the database's write lock."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted(
        {int.from_bytes(hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True)
         for k in keys}
    )  # fmt: skip
    for lock_id in ids:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_id)))


def user_key(username: str) -> str:
    return f"login-user\n{username}"


def _wait(
    conn: Connection,
    where: list[sa.ColumnElement[bool]],
    since: datetime,
    limit: int,
    window: timedelta,
    now: datetime,
) -> int | None:
    """Seconds until fewer than ``limit`` failures matching ``where`` are left in the window;
    None while under the limit."""
    a = login_attempts.c
    nth: datetime | None = conn.execute(
        sa.select(a.at)
        .where(*where, a.success.is_(False), a.at > since)
        .order_by(a.at.desc())
        .limit(1)
        .offset(limit - 1)
    ).scalar()
    if nth is None:
        return None
    return max(1, math.ceil((nth + window - now).total_seconds()))


def reserve(engine: Engine, settings: Settings, username: str, address: str, now: datetime) -> int:
    """Count this attempt (as a failure until :func:`record_success`) and return its id, or
    raise :class:`TooManyAttempts` without counting it."""
    a, k = login_attempts.c, login_known_addresses.c
    window = timedelta(seconds=settings.login_window_seconds)
    user_window = timedelta(seconds=settings.login_user_window_seconds)
    with write_transaction(engine) as conn:
        lock_keys(conn, user_key(username), f"login-address\n{address}")
        known_at: datetime | None = conn.execute(
            sa.select(k.last_ok_at).where(k.username == username, k.address == address)
        ).scalar()
        known = known_at is not None and known_at > now - KNOWN_FOR
        since = now - window  # a success from this address restarts its count
        if known_at is not None and known_at > since:
            since = known_at
        waits: list[tuple[int, str | None]] = []
        pair = _wait(conn, [a.username == username, a.address == address], since,
                     settings.login_max_failures, window, now)  # fmt: skip
        if pair is not None:
            waits.append((pair, "username"))
        if not known:
            by_user = _wait(conn, [a.username == username], now - user_window,
                            settings.login_user_max_failures, user_window, now)  # fmt: skip
            if by_user is not None:
                waits.append((by_user, "username"))
            by_addr = _wait(conn, [a.address == address], now - window,
                            settings.login_max_failures * ADDRESS_FACTOR, window, now)  # fmt: skip
            if by_addr is not None:
                waits.append((by_addr, None))
        if waits:
            fields = {f for _, f in waits}
            raise TooManyAttempts(
                max(w for w, _ in waits), "username" if "username" in fields else None
            )
        result = conn.execute(
            sa.insert(login_attempts).values(username=username, address=address, at=now,
                                             success=False)
        )  # fmt: skip
        attempt_id: int = result.inserted_primary_key[0]  # type: ignore[index]
        return attempt_id


def record_success(conn: Connection, attempt_id: int, username: str, address: str,
                   now: datetime) -> None:  # fmt: skip
    """Inside the caller's write transaction: the attempt succeeded, and its address is now
    known-good for the user (this resets the per-address count)."""
    k = login_known_addresses.c
    lock_keys(conn, user_key(username))
    conn.execute(
        sa.update(login_attempts).where(login_attempts.c.id == attempt_id).values(success=True)
    )
    updated = conn.execute(
        sa.update(login_known_addresses)
        .where(k.username == username, k.address == address)
        .values(last_ok_at=now)
    )
    if updated.rowcount == 0:
        conn.execute(
            sa.insert(login_known_addresses).values(
                username=username, address=address, last_ok_at=now
            )
        )


def purge(conn: Connection, settings: Settings, now: datetime) -> None:
    """Drop attempts no limit counts any more, and addresses not used for ``KNOWN_FOR``."""
    keep = max(KEEP_ATTEMPTS, timedelta(seconds=settings.login_user_window_seconds),
               timedelta(seconds=settings.login_window_seconds))  # fmt: skip
    conn.execute(sa.delete(login_attempts).where(login_attempts.c.at < now - keep))
    conn.execute(
        sa.delete(login_known_addresses).where(login_known_addresses.c.last_ok_at < now - KNOWN_FOR)
    )
