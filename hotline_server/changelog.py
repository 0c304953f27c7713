"""The change log clients pull after a cursor (SYNC.md "Pull").

``seq`` comes from the single ``seq_counter`` row, advanced by ``UPDATE ... RETURNING`` in the
writing transaction. The row lock that UPDATE takes is held until COMMIT, so two writers
can never commit seqs out of order: a reader that saw seq N has seen every seq below N.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline.protocol import Entity
from hotline_server.db.schema import change_log, seq_counter, server_meta


def lock_counter(conn: Connection) -> None:
    """Take the change-log lock now. Writers that lock other rows first (tickets, sync
    clients) call this before them, so every writer takes locks in one order (no deadlock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(seq_counter.c.value).where(seq_counter.c.id == 1).with_for_update())


# Built once: the push path runs these for every mutation.
_BUMP = (
    sa.update(seq_counter)
    .where(seq_counter.c.id == 1)
    .values(value=seq_counter.c.value + 1)
    .returning(seq_counter.c.value)
)
_APPEND = change_log.insert()


def next_seq(conn: Connection) -> int:
    return int(conn.execute(_BUMP).scalar_one())


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
    ``owner`` alone means that user (and leads/admins); ``team`` means that team."""
    seq = next_seq(conn)
    conn.execute(
        _APPEND,
        {
            "seq": seq,
            "entity": str(getattr(entity, "value", entity)),
            "entity_id": entity_id,
            "op": op,
            "data": data,
            "team": team,
            "owner": owner,
            "server_time": now,
        },
    )
    return seq


def current_seq(conn: Connection) -> int:
    return int(
        conn.execute(sa.select(seq_counter.c.value).where(seq_counter.c.id == 1)).scalar() or 0
    )


def epoch(conn: Connection) -> str:
    value = conn.execute(sa.select(server_meta.c.value).where(server_meta.c.key == "epoch"))
    return str(value.scalar() or "")
