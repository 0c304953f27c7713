"""Whether teams are configured is read in the push's own transaction, and only when an
applier asks (one that reads a ticket it did not make): a push of creates never reads it.

Before, the push route read it on a pooled connection of its own before every push (on
PostgreSQL: a checkout, its pre-ping, BEGIN, the read, ROLLBACK). Counted here through the
app on SQLite (SQLAlchemy's ``before_cursor_execute``); the rule itself (another team's
ticket is refused, every ticket is visible while no user has a team) is checked through the
real server in ``tests/integration/core/test_teams.py`` and ``test_sync_server.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hotline.ids import uuid7
from hotline_server.app import create_app
from hotline_server.db.migrate import upgrade
from hotline_server.settings import Settings
from hotline_server.users import add_user

PASSWORD = "correct horse battery"
TEAMS_READ = "users.team IS NOT NULL"  # the statement of sync.pull.teams_configured


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    upgrade(url)
    add_user(url, "amy", PASSWORD, "agent", team="north")
    add_user(url, "sam", PASSWORD, "agent", team="south")
    with TestClient(create_app(Settings.from_env(url), live=False)) as client:
        tokens = {
            name: client.post(
                "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
            ).json()["access_token"]
            for name in ("amy", "sam")
        }
        yield client, tokens


def create(mid: int, ticket_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    args = {"id": ticket_id, "call_started_at": (now - timedelta(minutes=3)).isoformat(),
            "created_at": now.isoformat(), "phone": "13800138000", "district": "徐汇区",
            "account": "来电咨询。"}  # fmt: skip
    return {"mutation_id": mid, "name": "create_ticket", "args": args,
            "client_time": now.isoformat()}  # fmt: skip


def update(mid: int, ticket_id: str, address: str) -> dict[str, Any]:
    args = {"ticket_id": ticket_id, "base_revision": 1, "changes": {"address": address}}
    return {"mutation_id": mid, "name": "update_ticket", "args": args,
            "client_time": datetime.now(UTC).isoformat()}  # fmt: skip


def pushed(
    app: tuple[TestClient, dict[str, str]], user: str, mutations: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """The push's answers and how many times the teams read ran during it."""
    client, tokens = app
    engine: sa.Engine = client.app.state.engine  # type: ignore[attr-defined]
    reads = 0

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal reads
        reads += TEAMS_READ in statement

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        r = client.post("/api/v1/sync/push", json={"client_id": str(uuid7()),
                                                   "mutations": mutations},
                        headers={"Authorization": f"Bearer {tokens[user]}"})  # fmt: skip
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.text
    return r.json()["results"], reads


def test_a_push_of_creates_never_reads_whether_teams_are_configured(
    app: tuple[TestClient, dict[str, str]],
) -> None:
    results, reads = pushed(app, "amy", [create(i, str(uuid7())) for i in (1, 2, 3)])
    assert [x["outcome"] for x in results] == ["applied"] * 3
    assert reads == 0  # the old route read it before every push: 1


def test_updates_read_it_once_per_push_and_the_team_rule_holds(
    app: tuple[TestClient, dict[str, str]],
) -> None:
    north, south = str(uuid7()), str(uuid7())
    assert pushed(app, "amy", [create(1, north)])[0][0]["outcome"] == "applied"
    assert pushed(app, "sam", [create(1, south)])[0][0]["outcome"] == "applied"
    results, reads = pushed(app, "amy", [update(1, north, "漕溪北路1号"),
                                         update(2, south, "漕溪北路2号"),
                                         update(3, south, "漕溪北路3号")])  # fmt: skip
    assert reads == 1  # in the push's transaction, kept for the rest of the batch
    assert results[0]["outcome"] == "applied"
    # teams are configured: amy may not touch the south team's ticket (as before)
    assert [x["outcome"] for x in results[1:]] == ["rejected", "rejected"]
    assert all(x["field"] == "args.ticket_id" for x in results[1:])
