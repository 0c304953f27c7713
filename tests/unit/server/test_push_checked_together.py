"""A push's mutations are checked together (one pydantic call for the batch's mutations, one
per name for their args) and, when anything in the batch would be refused, each on its own
as before: the refused one is answered naming its field, the others are stored, and a
replay answers the same. Through the app on SQLite (the route tells the push its body holds
no NUL, as every desk's does); the real server on both databases:
``tests/integration/core/test_sync_server.py`` and ``test_push_batch.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.ids import uuid7
from hotline_server.sync import push as push_mod
from tests.support.mutations import create_ticket


def create(mid: int, **changes: Any) -> dict[str, Any]:
    return create_ticket(mid, datetime.now(UTC), **{"address": f"漕溪北路{mid}号", **changes})


def pushed(app: tuple[TestClient, str], cid: str, batch: list[dict[str, Any]]) -> list[Any]:
    """The push's answers."""
    client, token = app
    r = client.post("/api/v1/sync/push", json={"client_id": cid, "mutations": batch},
                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


@pytest.fixture
def alone(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The mutation ids ``push._checked`` (the one-by-one check) was asked about."""
    seen: list[int] = []
    checked = push_mod._checked

    def counted(ctx: Any, envelope: Any) -> Any:
        seen.append(envelope.mutation_id)
        return checked(ctx, envelope)

    monkeypatch.setattr(push_mod, "_checked", counted)
    return seen


def test_a_well_formed_batch_is_checked_together(
    amy_app: tuple[TestClient, str], alone: list[int]
) -> None:
    results = pushed(amy_app, str(uuid7()), [create(i) for i in (1, 2, 3)])
    assert [r["outcome"] for r in results] == ["applied"] * 3
    assert alone == []  # no mutation was checked on its own


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"kind": "nonsense"}, "args.kind"),  # refused by the args model
        ({"caller_name": "名" * 500}, "args.caller_name"),  # over its length
        ({"created_at": "2026-12-01T08:00:00"}, "args.created_at"),  # a time without a zone
        ({"colour": "red"}, "args.colour"),  # a field no ticket has
    ],
)
def test_a_refused_args_field_is_named_and_the_rest_are_stored(
    amy_app: tuple[TestClient, str], alone: list[int], bad: dict[str, Any], field: str
) -> None:
    cid = str(uuid7())
    batch = [create(1), create(2, **bad), create(3)]
    results = pushed(amy_app, cid, batch)
    assert [r["outcome"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["field"] == field
    assert results[1]["reason"].startswith(field + ":"), results[1]
    assert alone == [1, 2, 3]  # the batch was checked again, each mutation on its own
    replay = pushed(amy_app, cid, batch)
    assert [r["outcome"] for r in replay] == ["duplicate"] * 3
    assert [(r["field"], r["reason"]) for r in replay] == [
        (r["field"], r["reason"]) for r in results
    ]
    assert [r["ticket_number"] for r in replay] == [r["ticket_number"] for r in results]
