"""``GET /sync/pull``: the change log after a cursor, filtered to what the user may see.

The committed value of the counter, read first, is a safe high-water mark: every seq at or
below it has committed (the counter's row lock orders commits), so a page that ends with no
more visible rows can move the cursor right up to it without ever skipping a late commit.

A ``client_id`` must be the user's own (a first pull binds it; another user's is refused), and
the conflict data in ticket changes (``lost_values``) keeps a desk's client and mutation ids
only for that desk: every other desk sees who lost which value, never another desk's id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotline import privacy
from hotline.model import CALLER_FIELDS
from hotline.protocol import Change, Entity, PullResponse
from hotline_server import changelog
from hotline_server.auth import User
from hotline_server.db.schema import change_log, users
from hotline_server.sync import clients

_ANY_TEAM = sa.select(users.c.username).where(users.c.team.is_not(None)).limit(1)


def teams_configured(conn: Connection) -> bool:
    """Team visibility applies once any user has a team."""
    return conn.execute(_ANY_TEAM).first() is not None


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
    engine: Engine,
    user: User,
    cursor: int,
    limit: int,
    client_id: str | None,
    now: datetime,
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
        found = clients.read(conn, client_id) if client_id else None
    last = 0
    if found is not None:
        clients.check_owner(client_id or "", found[0], user)
        last = found[1]
    elif client_id:  # its first use: bind it to this user (or learn that another won)
        last = clients.claim(engine, client_id, user, now)
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = int(rows[-1]["seq"]) if has_more else max(cursor, high)
    changes = [_change(r, client_id, user) for r in rows]
    return PullResponse(changes=changes, cursor=next_cursor, has_more=has_more,
                        last_mutation_id=last, epoch=epoch)  # fmt: skip


def _change(row: Any, client_id: str | None, user: User) -> Change:
    data = row["data"]
    if (
        row["entity"] == Entity.TICKET.value
        and isinstance(data, dict)
        and not privacy.may_see_caller(data, user.username, user.role.value)
    ):  # 保密/匿名: another agent's desk never receives the caller's identity
        data = privacy.redact_caller(data)
        if isinstance(data.get("lost_values"), dict):
            lost = {k: v for k, v in data["lost_values"].items() if k not in CALLER_FIELDS}
            data["lost_values"] = lost
    if isinstance(data, dict) and isinstance(data.get("lost_values"), dict):
        data = {**data, "lost_values": own_ids_only(data["lost_values"], client_id)}
    return Change(seq=row["seq"], entity=Entity(row["entity"]), entity_id=row["entity_id"],
                  op=row["op"], data=data, server_time=row["server_time"])  # fmt: skip


_DESK_IDS = ("client_id", "mutation_id")


def own_ids_only(lost: dict[str, Any], client_id: str | None) -> dict[str, Any]:
    """Same-field conflicts as one desk may see them: the desk whose value was overwritten
    finds its own client and mutation id (that is how it recognises its loss); for every
    other desk those ids are removed (a client id is the key to a desk's sync: it is never
    shown to anyone else). Rows stored before this rule are filtered the same way."""
    shown: dict[str, Any] = {}
    for name, item in lost.items():
        if isinstance(item, dict) and (client_id is None or item.get("client_id") != client_id):
            item = {k: v for k, v in item.items() if k not in _DESK_IDS}
        shown[name] = item
    return shown
