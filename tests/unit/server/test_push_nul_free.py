"""A push whose body cannot hold a NUL character is not walked for one mutation by mutation.

JSON spells a NUL only as the escape ``\\u0000`` (a raw control character in a string is
refused by the parser), so ``RequestLimits``, which holds the body, tells the push when those
six bytes are absent and the per-mutation walk (``push.nul_path``) is skipped. Through the
app on SQLite; a NUL anywhere is still refused naming its field (here and, through the real
server on both databases, ``tests/integration/core/test_tickets_rest.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hotline.ids import uuid7
from hotline_server.sync import push as push_mod
from tests.support.mutations import create_ticket


def create(mid: int, address: str) -> dict[str, Any]:
    return create_ticket(mid, datetime.now(UTC), address=address)


def pushed(
    app: tuple[TestClient, str], addresses: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[dict[str, Any]], int]:
    """The push's answers and how many mutations were walked for a NUL."""
    client, token = app
    walked = 0
    walk = push_mod.nul_path

    def counted(value: Any, path: str = "") -> str | None:
        nonlocal walked
        walked += 1
        return walk(value, path)

    monkeypatch.setattr(push_mod, "nul_path", counted)
    mutations = [create(i + 1, address) for i, address in enumerate(addresses)]
    r = client.post("/api/v1/sync/push", json={"client_id": str(uuid7()), "mutations": mutations},
                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()["results"], walked


def test_a_body_without_a_nul_escape_is_not_walked_for_one(
    amy_app: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results, walked = pushed(amy_app, ["漕溪北路1号", "人民路2号", "中山路3号"], monkeypatch)
    assert [r["outcome"] for r in results] == ["applied"] * 3
    assert all(r["ticket_number"] for r in results)
    assert walked == 0


def test_a_nul_is_still_refused_naming_its_field(
    amy_app: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results, walked = pushed(amy_app, ["漕溪北路1号", "人民\x00路2号", "中山路3号"], monkeypatch)
    assert [r["outcome"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["field"] == "args.address"
    assert "NUL" in results[1]["reason"]
    assert walked == 3


def test_the_text_of_an_escape_is_no_nul(
    amy_app: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An address holding the six characters ``\\u0000`` (a backslash, not a NUL): the body
    holds the bytes of the escape, so the push walks as before, and finds nothing."""
    results, walked = pushed(amy_app, ["漕溪北路\\u0000号", "人民路2号"], monkeypatch)
    assert [r["outcome"] for r in results] == ["applied", "applied"]
    assert walked == 2
