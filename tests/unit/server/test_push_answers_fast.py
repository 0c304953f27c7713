"""The push's per-mutation shortcuts give what the plain ways give: an applied answer built
by the model's validator equals ``MutationResult(...)``; a stored answer read off the model
equals its ``model_dump``; a client time inside the calendar is taken as
``calendar_safe`` takes it, and one outside is refused with its words."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hotline.protocol import MutationOutcome, MutationResult
from hotline.times import calendar_safe, client_time
from hotline_server.sync import push as push_mod
from hotline_server.sync.registry import Applied

APPLIED = [
    Applied(ticket_id="0190a7e2-0000-7000-8000-000000000001", ticket_number="20261207-000001",
            revision=1),
    Applied(ticket_id="0190a7e2-0000-7000-8000-000000000002", ticket_number=None, revision=3,
            conflict={"phone": {"mine": "1", "theirs": "2"}}),
    Applied(),
]  # fmt: skip


@pytest.mark.parametrize("applied", APPLIED)
def test_an_applied_answer_is_the_models(applied: Applied) -> None:
    fast = push_mod._applied({"mutation_id": 7}, applied)
    plain = MutationResult(mutation_id=7, outcome=MutationOutcome.APPLIED,
                           ticket_id=applied.ticket_id, ticket_number=applied.ticket_number,
                           revision=applied.revision, conflict=applied.conflict)  # fmt: skip
    assert type(fast) is MutationResult
    assert fast == plain
    assert fast.model_fields_set == plain.model_fields_set
    assert fast.model_dump_json() == plain.model_dump_json()


RESULTS: list[dict[str, Any]] = [
    {"outcome": "applied", "ticket_id": "t", "ticket_number": "n", "revision": 2},
    {"outcome": "applied", "revision": 1, "conflict": {"a": {"mine": 1, "theirs": [2]}}},
    {"outcome": "rejected", "reason": "args.kind: nonsense", "field": "args.kind"},
    {"outcome": "duplicate", "reason": "说明", "revision": True},  # a bool is not plain here
    {"outcome": "applied", "conflict": {}},
]


@pytest.mark.parametrize("values", RESULTS)
def test_a_stored_answer_is_the_models_dump(values: dict[str, Any]) -> None:
    result = MutationResult(mutation_id=3, **values)
    stored = push_mod._stored_answer(result)
    expected = result.model_dump(mode="json", exclude={"mutation_id"})
    assert stored == expected
    assert list(stored) == list(expected)  # the same order: the same stored JSON text
    assert [type(v) for v in stored.values()] == [type(v) for v in expected.values()]


def outcome(check: Any, value: datetime) -> tuple[str, str]:
    try:
        return "taken", repr(check(value))
    except Exception as exc:
        return type(exc).__name__, str(exc)


def test_a_client_time_is_taken_or_refused_as_calendar_safe_has_it() -> None:
    """At the calendar's ends, in zones from -23:59 to +23:59 (no reference clock set)."""
    rng = random.Random(7)
    ends = [
        datetime.min,
        datetime(1, 1, 1, 23, 59),
        datetime(1, 1, 2),
        datetime(2026, 12, 7),
        datetime(9999, 12, 30, 23, 59, 59, 999999),
        datetime(9999, 12, 31),
        datetime.max,
    ]
    tried = 0
    for end in ends:
        for minutes in range(-24 * 60 + 1, 24 * 60, 11):
            for step in (0, 1, -1, rng.randint(-(10**11), 10**11)):
                try:
                    at = end + timedelta(microseconds=step)
                except OverflowError:
                    continue
                value = at.replace(tzinfo=timezone(timedelta(minutes=minutes)))
                assert outcome(client_time, value) == outcome(calendar_safe, value), value
                tried += 1
    assert tried > 5000
