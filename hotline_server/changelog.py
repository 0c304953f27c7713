"""The change log clients pull after a cursor (SYNC.md "Pull").

``seq`` comes from the single ``seq_counter`` row, advanced by ``UPDATE ... RETURNING`` in the
writing transaction. The row lock that UPDATE takes is held until COMMIT, so two writers
can never commit seqs out of order: a reader that saw seq N has seen every seq below N.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline.protocol import Entity
from hotline_server.db.bulk import insert_many
from hotline_server.db.schema import change_log, seq_counter, server_meta


def lock_counter(conn: Connection) -> None:
    """Take the change-log lock now. Writers that lock other rows first (tickets, sync
    clients) call this before them, so every writer takes locks in one order (no deadlock).
    Inside :func:`batched`, the value read under the lock is the batch's base: the lock is
    held until COMMIT, so reading it again at the first change (a round trip) would give
    the same value."""
    if conn.dialect.name == "postgresql":
        counter_locked(conn, int(conn.execute(_READ_LOCKED).scalar_one()))


def counter_locked(conn: Connection, value: int) -> None:
    """The caller's own statement took the change-log lock (as :func:`lock_counter` does)
    and read the counter's ``value`` under it: inside :func:`batched`, the batch's base."""
    buffer: ChangeBuffer | None = conn.info.get(_BUFFER)
    if buffer is not None and buffer.base is None:
        buffer.base = value


# Built once: the push path runs these for every batch.
_BUMP = (
    sa.update(seq_counter)
    .where(seq_counter.c.id == 1)
    .values(value=seq_counter.c.value + sa.bindparam("n", type_=sa.BigInteger))
    .returning(seq_counter.c.value)
)
_READ = sa.select(seq_counter.c.value).where(seq_counter.c.id == 1)
_READ_LOCKED = _READ.with_for_update()
_APPEND = change_log.insert()
_BUFFER = "hotline_changelog_buffer"  # key in ``Connection.info`` while a batch runs
_BUMPS_ALONG: dict[sa.CTE, Any] = {}  # the bump with a caller's CTE, built once per CTE


@dataclass
class ChangeBuffer:
    """The change-log rows of one write batch, kept until :func:`batched` ends: their seqs
    are handed out in order from the counter's value read once (under its lock), and the
    counter is advanced once (``value = value + n``) and the rows inserted in one
    ``executemany`` at the end, instead of an ``UPDATE ... RETURNING`` and an ``INSERT``
    per change."""

    base: int | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    def mark(self) -> int:
        """Where the buffer stands: :meth:`truncate` to it undoes what came after (a
        mutation rolled back to its SAVEPOINT takes its changes and seqs with it)."""
        return len(self.rows)

    def truncate(self, mark: int) -> None:
        del self.rows[mark:]

    def reserve(self, conn: Connection) -> int:
        if self.base is None:  # the counter's lock is taken here, as the old UPDATE did
            q = _READ_LOCKED if conn.dialect.name == "postgresql" else _READ
            self.base = int(conn.execute(q).scalar_one())
        return self.base + len(self.rows) + 1

    def flush(self, conn: Connection, along: tuple[sa.CTE, dict[str, Any]] | None = None) -> bool:
        """Advance the counter once and insert the rows. ``along``: a data-modifying CTE
        (an ``UPDATE`` of rows this transaction has locked already) and its parameters, run
        in the counter's statement on PostgreSQL (one round trip for both). Returns whether
        ``along`` ran: not without rows, nor on SQLite (no DML in a CTE), and the caller
        then runs it on its own."""
        if not self.rows:
            return False
        assert self.base is not None
        n = {"n": len(self.rows)}
        if along is not None and conn.dialect.name == "postgresql":
            cte, params = along
            bump = _BUMPS_ALONG.get(cte)
            if bump is None:
                bump = _BUMPS_ALONG[cte] = _BUMP.add_cte(cte)
            top = int(conn.execute(bump, {**params, **n}).scalar_one())
        else:
            along = None
            top = int(conn.execute(_BUMP, n).scalar_one())
        if top != self.base + len(self.rows):  # the lock makes this impossible; never guess
            raise RuntimeError(f"change-log counter moved under its lock ({top})")
        insert_many(conn, change_log, self.rows)
        self.rows.clear()
        self.base = top
        return along is not None


@contextmanager
def batched(conn: Connection) -> Iterator[ChangeBuffer]:
    """Collect every change appended on ``conn`` inside the block and write them together
    at its end (one counter bump, one insert). Re-entrant: an inner block joins the outer
    one. Nothing inside the transaction may read ``change_log`` before the block ends
    (pull and the live side read committed rows); a step that amends earlier entries (a
    ticket made confidential) amends :func:`pending` too. Flushing mid-batch instead would
    break a savepoint rollback (the counter's base would outlive it). On an exception the rows
    are dropped: the caller rolls the transaction (or its savepoint) back."""
    outer = conn.info.get(_BUFFER)
    if outer is not None:
        yield outer
        return
    buffer = ChangeBuffer()
    conn.info[_BUFFER] = buffer
    try:
        yield buffer
        buffer.flush(conn)
    finally:
        conn.info.pop(_BUFFER, None)


def next_seq(conn: Connection) -> int:
    buffer: ChangeBuffer | None = conn.info.get(_BUFFER)
    if buffer is not None:
        raise RuntimeError("next_seq inside a change-log batch: use append_change")
    return int(conn.execute(_BUMP, {"n": 1}).scalar_one())


def append_change(
    conn: Connection,
    *,
    entity: Entity | str,
    entity_id: str,
    data: dict[str, Any],
    team: str | None,
    owner: str | None,
    now: datetime,
    op: str = "upsert",
) -> int:
    """Append one change inside the caller's transaction; returns its seq.

    ``team``/``owner`` decide who may pull it: both None means everyone signed in;
    ``owner`` alone means that user (and leads/admins); ``team`` means that team.
    Inside :func:`batched` the row is written when the block ends."""
    buffer: ChangeBuffer | None = conn.info.get(_BUFFER)
    seq = buffer.reserve(conn) if buffer is not None else next_seq(conn)
    row = {
        "seq": seq,
        "entity": str(getattr(entity, "value", entity)),
        "entity_id": entity_id,
        "op": op,
        "data": data,
        "team": team,
        "owner": owner,
        "server_time": now,
    }
    if buffer is not None:
        buffer.rows.append(row)
    else:
        conn.execute(_APPEND, row)
    return seq


def append_changes(
    conn: Connection,
    *,
    entity: Entity,
    changes: list[tuple[str, dict[str, Any], str | None, str | None]],
    now: datetime,
) -> list[int]:
    """:func:`append_change` for many entities of one kind at once, ``(entity_id, data,
    team, owner)`` each, in order; returns their seqs. Inside :func:`batched` the seqs are
    handed out together (one reservation, one list extension), else one by one."""
    buffer: ChangeBuffer | None = conn.info.get(_BUFFER)
    if buffer is None:
        return [append_change(conn, entity=entity, entity_id=entity_id, data=data,
                              team=team, owner=owner, now=now)
                for entity_id, data, team, owner in changes]  # fmt: skip
    first = buffer.reserve(conn)
    kind = str(entity.value)
    buffer.rows.extend(
        {"seq": first + k, "entity": kind, "entity_id": entity_id, "op": "upsert",
         "data": data, "team": team, "owner": owner, "server_time": now}
        for k, (entity_id, data, team, owner) in enumerate(changes)
    )  # fmt: skip
    return list(range(first, first + len(changes)))


def pending(conn: Connection) -> list[dict[str, Any]]:
    """The changes appended inside :func:`batched` and not written yet: a later step of the
    same batch that amends earlier entries (a ticket made confidential) amends these too."""
    buffer: ChangeBuffer | None = conn.info.get(_BUFFER)
    return buffer.rows if buffer is not None else []


def current_seq(conn: Connection) -> int:
    return int(
        conn.execute(sa.select(seq_counter.c.value).where(seq_counter.c.id == 1)).scalar() or 0
    )


def epoch(conn: Connection) -> str:
    value = conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == "epoch"))
    return str(value.scalar() or "")
