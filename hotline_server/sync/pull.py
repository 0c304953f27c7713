"""``GET /sync/pull``: the change log after a cursor, filtered to what the user may see.

The committed value of the counter, read first, is a safe high-water mark: every seq at or
below it has committed (the counter's row lock orders commits), so a page that ends with no
more visible rows can move the cursor right up to it without ever skipping a late commit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotline.protocol import Change, Entity, PullResponse
from hotline_server import changelog
from hotline_server.auth import User
from hotline_server.db.schema import change_log, users
from hotline_server.sync.push import last_mutation_id


def teams_configured(conn: Connection) -> bool:
    """Team visibility applies once any user has a team."""
    return (
        conn.execute(sa.select(users.c.username).where(users.c.team.is_not(None)).limit(1)).first()
        is not None
    )


def visible(user: User, teams: bool) -> sa.ColumnElement[bool]:
    if user.role.value in ("lead", "admin"):
        return sa.true()
    public = sa.and_(change_log.c.team.is_(None), change_log.c.owner.is_(None))
    mine = change_log.c.owner == user.username
    conds: list[sa.ColumnElement[bool]] = [public, mine]
    if not teams:
        conds.append(change_log.c.entity.in_([Entity.TICKET.value, Entity.NOTE.value]))
    elif user.team is not None:
        conds.append(
            sa.and_(
                change_log.c.team == user.team,
                change_log.c.entity.in_([Entity.TICKET.value, Entity.NOTE.value]),
            )
        )
    return sa.or_(*conds)


def pull(
    engine: Engine, user: User, cursor: int, limit: int, client_id: str | None
) -> PullResponse:
    with engine.connect() as conn:
        high = changelog.current_seq(conn)
        teams = teams_configured(conn)
        rows = (
            conn.execute(
                sa.select(change_log)
                .where(change_log.c.seq > cursor, change_log.c.seq <= high, visible(user, teams))
                .order_by(change_log.c.seq)
                .limit(limit + 1)
            )
            .mappings()
            .all()
        )
        epoch = changelog.epoch(conn)
        last = last_mutation_id(conn, client_id) if client_id else 0
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = int(rows[-1]["seq"]) if has_more else max(cursor, high)
    changes = [_change(r) for r in rows]
    return PullResponse(changes=changes, cursor=next_cursor, has_more=has_more,
                        last_mutation_id=last, epoch=epoch)  # fmt: skip


def _change(row: Any) -> Change:
    return Change(seq=row["seq"], entity=Entity(row["entity"]), entity_id=row["entity_id"],
                  op=row["op"], data=row["data"], server_time=row["server_time"])  # fmt: skip
