"""Whose a client id is: bound to the first user who pushes or pulls with it (issue 12).

A client id names one desk's mutation sequence. If anyone could push under it, they would use
up its mutation ids: the desk's next ticket would be answered ``duplicate`` and silently lost,
and the replayed answers would show them the desk's results. So the ``sync_clients`` row made
at first use keeps its ``username`` for good, and push and pull with it by anyone else are
refused (:class:`NotYourClient`, 403) before anything is read or applied. Because only the
owner ever writes under a client id, its mutation ids and stored answers (``sync_results``,
keyed by client id) are the owner's alone: nobody else can make them look like duplicates.

First use is atomic on both databases: an insert that does nothing when the row exists
(``ON CONFLICT DO NOTHING``), then a read of the row's owner, inside a write transaction
(SQLite holds the write lock from ``BEGIN IMMEDIATE``; PostgreSQL's unique index lets exactly
one of two concurrent inserts create the row). Of two users racing to use one new id,
exactly one owns it; the other is refused. A push on PostgreSQL does both, and locks the
row, in one statement (:func:`claim_or_lock`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotline_server.auth import User
from hotline_server.db.engine import write_transaction
from hotline_server.db.schema import sync_clients

NOT_YOURS = "client_not_yours"  # the ErrorBody ``error`` code of the 403


class NotYourClient(PermissionError):
    """The client id is bound to another user. The message names the field and the way out,
    but never the owner (the caller may be probing ids)."""

    def __init__(self, client_id: str) -> None:
        super().__init__(
            f"client_id {client_id} belongs to another user's desk: each desk syncs as the "
            "user who first synced from it; sign in there as that user, or use a desk "
            "profile of your own"
        )


def insert_if_missing(conn: Connection, client_id: str, username: str, now: datetime) -> None:
    """Create the client's row owned by ``username`` unless it exists (safe when racing)."""
    insert: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(
        insert(sync_clients)
        .values(
            client_id=client_id,
            username=username,
            last_mutation_id=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[sync_clients.c.client_id])
    )


@cache  # built at first use: PostgreSQL's dialect is imported only where it runs
def _claim_or_lock_statement() -> Any:
    from sqlalchemy.dialects.postgresql import insert

    stmt = insert(sync_clients).values(
        client_id=sa.bindparam("client_id"), username=sa.bindparam("username"),
        last_mutation_id=0, created_at=sa.bindparam("now"), updated_at=sa.bindparam("now"),
    )  # fmt: skip
    return stmt.on_conflict_do_update(
        index_elements=[sync_clients.c.client_id],
        set_={"updated_at": stmt.excluded.updated_at},
    ).returning(sync_clients.c.username, sync_clients.c.last_mutation_id)


def claim_or_lock(
    conn: Connection, client_id: str, username: str, now: datetime
) -> tuple[str, int]:
    """PostgreSQL, in one statement: create the client's row owned by ``username`` unless
    it exists, lock it until COMMIT and read (owner, last_mutation_id) -- what
    :func:`insert_if_missing` then ``read(lock=True)`` do in two. An existing row is
    locked by its ``ON CONFLICT DO UPDATE`` (its ``updated_at`` set to ``now``, as the push
    sets it anyway), a new one by its insert; a concurrent push of the same client waits
    here and then reads the row as the first one committed it."""
    params = {"client_id": client_id, "username": username, "now": now}
    row = conn.execute(_claim_or_lock_statement(), params).one()
    return str(row[0]), int(row[1])


@cache
def _claim_lock_and_counter_statement() -> Any:
    """:func:`_claim_or_lock_statement` with the change-log counter's lock and value read in
    the same statement: the counter is read ``FOR UPDATE`` in a subquery that depends on
    the client's row (``LATERAL``), so PostgreSQL takes it only once the client's row is
    locked -- the order every push keeps (client, then counter, then ticket rows)."""
    from hotline_server.db.schema import seq_counter

    claimed = _claim_or_lock_statement().cte("claimed")
    counter = (
        sa.select(seq_counter.c.value)
        .where(seq_counter.c.id == 1, claimed.c.last_mutation_id.is_not(None))
        .with_for_update()
        .lateral("counter")
    )
    return sa.select(claimed.c.username, claimed.c.last_mutation_id, counter.c.value).select_from(
        claimed.join(counter, sa.true())
    )


def claim_lock_and_counter(
    conn: Connection, client_id: str, username: str, now: datetime
) -> tuple[str, int, int]:
    """PostgreSQL, in one statement (one round trip): :func:`claim_or_lock`, then the
    change-log counter locked until COMMIT (``changelog.lock_counter``) and read: (owner,
    last_mutation_id, counter value). A push of another user's client id holds the counter
    until its transaction is rolled back, a moment (it is refused before anything else)."""
    params = {"client_id": client_id, "username": username, "now": now}
    row = conn.execute(_claim_lock_and_counter_statement(), params).one()
    return str(row[0]), int(row[1]), int(row[2])


def check_owner(client_id: str, owner: str, user: User) -> None:
    if owner != user.username:
        raise NotYourClient(client_id)


_READ = sa.select(sync_clients.c.username, sync_clients.c.last_mutation_id).where(
    sync_clients.c.client_id == sa.bindparam("client_id")
)  # built once: every push reads it
_READ_LOCKED = _READ.with_for_update()


def read(conn: Connection, client_id: str, *, lock: bool = False) -> tuple[str, int] | None:
    """(owner, last_mutation_id) of the client, or None before its first use."""
    q = _READ_LOCKED if lock else _READ
    row = conn.execute(q, {"client_id": client_id}).first()
    return (str(row[0]), int(row[1])) if row is not None else None


def claim(engine: Engine, client_id: str, user: User, now: datetime) -> int:
    """Bind a client id seen for the first time (by a pull) to ``user``, in a short write
    transaction of its own; returns its ``last_mutation_id``. Refuses another user's id."""
    with write_transaction(engine) as conn:
        insert_if_missing(conn, client_id, user.username, now)
        found = read(conn, client_id)
    assert found is not None  # inserted above, or there already
    check_owner(client_id, found[0], user)
    return found[1]
