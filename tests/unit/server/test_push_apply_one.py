"""One mutation whose applier fails unexpectedly is a rejection, never a failed batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from hotline.ids import uuid7
from hotline.model import Role
from hotline.protocol import MutationName, MutationOutcome, PushRequest
from hotline_server.auth import User
from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import upgrade
from hotline_server.sync import registry
from hotline_server.sync.appliers import register_core
from hotline_server.sync.push import push
from tests.support.mutations import create_ticket

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
AMY = User("amy", Role.AGENT, None, None)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'server.db'}")
    upgrade(engine)
    register_core()
    try:
        yield engine
    finally:
        engine.dispose()


def buggy(ctx: registry.ApplyContext, args: Any) -> registry.Applied:
    raise RuntimeError("a bug in an applier")


def ticket(mid: int, phone: str = "13800138000") -> dict[str, Any]:
    return create_ticket(mid, NOW, phone)


def test_an_applier_bug_rejects_its_mutation_and_the_rest_apply(engine: Engine) -> None:
    escalate = {"mutation_id": 2, "name": "escalate", "client_time": NOW.isoformat(),
                "args": {"ticket_id": uuid7(), "reason": "市民再次来电"}}  # fmt: skip
    request = PushRequest.model_validate(
        {"client_id": uuid7(), "mutations": [ticket(1), escalate, ticket(3)]}
    )
    original = registry.applier_for(MutationName.ESCALATE)
    assert original is not None
    registry.register(MutationName.ESCALATE, buggy)
    try:
        outcome = push(engine, AMY, request, NOW, timezone="Asia/Shanghai",
                       teams_configured=False)  # fmt: skip
    finally:
        registry.register(MutationName.ESCALATE, original)
    answer = outcome.response
    assert answer.last_mutation_id == 3
    assert [r.outcome for r in answer.results] == [
        MutationOutcome.APPLIED, MutationOutcome.REJECTED, MutationOutcome.APPLIED]  # fmt: skip
    assert "RuntimeError" in (answer.results[1].reason or "")
