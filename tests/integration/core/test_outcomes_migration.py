"""0005_ticket_outcomes on a database from before it: the 1-5 scores become the three levels
of 评价 (5, 4 满意; 3 基本满意; 2, 1 不满意), on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from hotline_server import tickets as server_tickets
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import _config, upgrade
from hotline_server.db.schema import tickets

# the tickets table as 0004 left it: the score an integer
BEFORE = sa.Table(
    "tickets",
    sa.MetaData(),
    *(sa.Column(c.name, sa.Integer() if c.name == "satisfaction" else c.type)
      for c in tickets.columns),
)  # fmt: skip


def test_upgrade_reads_old_scores_as_the_three_levels(database_url: str) -> None:
    engine = make_engine(database_url)
    at = datetime.now(UTC)
    scores = {str(uuid.uuid4()): score for score in (5, 4, 3, 2, 1, None)}
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "0004_auth_limits")
            conn.execute(
                BEFORE.insert(),
                [
                    {"id": tid, "number": f"20260316-{i:06d}", "revision": 3,
                     "status": "evaluated" if score else "closed", "disposition": "on_spot",
                     "kind": "consultation", "category": "other", "urgency": "normal",
                     "channel": "phone", "extra": {}, "call_started_at": at, "created_at": at,
                     "created_by": "amy", "satisfaction": score, "received_at": at,
                     "updated_at": at, "field_revisions": {}}
                    for i, (tid, score) in enumerate(scores.items(), start=1)
                ],
            )  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            rows = {r["id"]: r for r in conn.execute(sa.select(tickets)).mappings()}
    finally:
        engine.dispose()
    got = {scores[tid]: row["satisfaction"] for tid, row in rows.items()}
    assert got == {5: "satisfied", 4: "satisfied", 3: "basically_satisfied",
                   2: "dissatisfied", 1: "dissatisfied", None: None}  # fmt: skip
    # and the server reads every row as a ticket
    levels = {server_tickets.to_ticket(row).satisfaction for row in rows.values()}
    assert levels == {"satisfied", "basically_satisfied", "dissatisfied", None}
