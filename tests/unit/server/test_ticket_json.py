"""A new ticket's change-log entry is built without the ``Ticket`` model
(``hotline_server.ticket_json``). It must be exactly what the model gives (the same keys in
the same order, the same text for times), and any row the model would change (strip,
convert, refuse) must take the model's way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hotline.model import Kind, Ticket
from hotline_server.ticket_json import plain_ticket_data, plain_ticket_rows
from hotline_server.tickets import ticket_data

SHANGHAI = timezone(timedelta(hours=8))
AT = datetime(2026, 12, 7, 0, 5, 9, 120000, tzinfo=UTC)


def row(**changes: Any) -> dict[str, Any]:
    """A row as a push stores it (every column, times in UTC)."""
    base: dict[str, Any] = {
        "id": "01938a5e-0000-7000-8000-000000000001", "number": "20261207-000001",
        "revision": 1, "status": "accepted", "disposition": "pending", "escalation_level": 0,
        "caller_name": "市民1", "phone": "13812345678", "id_card": None,
        "address": "上海市黄浦区人民路1号", "district": "huangpu", "community": None,
        "kind": "help", "category": "water", "urgent_subcategory": None, "urgency": "normal",
        "account": "停水两天。\n请尽快处理", "answer": None, "handling_unit": None,
        "promise": None, "channel": "phone", "extra": {}, "street": None,
        "caller_number": None, "reply_needed": None, "reply_method": None, "respondent": None,
        "topic": None, "privacy": "normal", "call_started_at": AT - timedelta(minutes=3),
        "created_at": AT, "created_by": "amy", "team": "east", "assignee": "amy",
        "merged_into": None, "first_response_at": None, "dispatched_at": None,
        "closed_at": None, "overdue": False, "satisfaction": None, "callback_at": None,
        "received_at": AT, "updated_at": AT, "field_revisions": {},
    }  # fmt: skip
    base.update(changes)
    return base


TAKEN = [  # rows the fast way must take (and give the model's answer for)
    row(),
    row(
        status="closed",
        disposition="on_spot",
        answer="已答复。",
        closed_at=AT,
        first_response_at=AT,
    ),
    row(status="dispatched", disposition="dispatch", dispatched_at=AT, first_response_at=AT),
    row(
        extra={"楼层": "3", "n": 2, "ok": True, "none": None},
        reply_needed=False,
        reply_method="sms",
        urgency="red",
        urgent_subcategory="fever",
        topic="water_drainage",
        privacy="anonymous",
        team=None,
        escalation_level=2,
        overdue=True,
    ),
    row(created_at=AT.replace(microsecond=0), call_started_at=AT.replace(microsecond=7)),
    {k: v for k, v in row().items() if k not in ("community", "extra", "kind", "overdue")},
]
REFUSED = [  # rows the model would change or refuse: the fast way answers None
    row(caller_name=" 市民 "),
    row(account="x\u3000"),
    row(phone="1" * 21),
    row(kind=Kind.HELP),  # an enum object, not its value
    row(kind="nonsense"),
    row(escalation_level=True),
    row(revision="1"),
    row(overdue=1),
    row(extra={" a": "b"}),
    row(extra={"f": 1.5}),
    row(extra={"list": [1]}),
    row(created_at=AT.replace(tzinfo=None)),
    row(first_response_at="2026-12-07T00:00:00Z"),
    row(satisfaction="satisfied"),
    {k: v for k, v in row().items() if k != "created_at"},
]


@pytest.mark.parametrize("r", TAKEN)
def test_the_fast_way_gives_what_the_model_gives(r: dict[str, Any]) -> None:
    fast = plain_ticket_data(r)
    assert fast is not None
    assert list(fast.items()) == list(ticket_data(r).items())  # same order too


@pytest.mark.parametrize("r", REFUSED)
def test_a_row_the_model_would_change_takes_the_models_way(r: dict[str, Any]) -> None:
    assert plain_ticket_data(r) is None


def test_times_shared_by_a_batch_are_formatted_once_and_the_same() -> None:
    times: dict[int, str] = {}
    first, second = row(), row(id="01938a5e-0000-7000-8000-000000000002")
    a, b = plain_ticket_data(first, times), plain_ticket_data(second, times)
    assert a is not None and b is not None
    assert a["updated_at"] == b["updated_at"] == ticket_data(second)["updated_at"]
    assert a["received_at"] == b["received_at"] == ticket_data(second)["received_at"]
    assert a["received_at"] != a["updated_at"]  # the same time object, each in its own form
    # AT as the model writes it (created, updated) and as received_at is written, once
    # each; each row's own call_started_at
    assert len(times) == 4
    third = row(id="01938a5e-0000-7000-8000-000000000003", received_at=AT + timedelta(1))
    c = plain_ticket_data(third, times)  # another object: its own text, not a remembered one
    assert c is not None and c["received_at"] == ticket_data(third)["received_at"]
    assert c["received_at"] != a["received_at"]


def test_every_ticket_field_is_read_the_fast_way() -> None:
    """A field added to ``Ticket`` of a kind this module cannot read turns it off whole:
    then every entry takes the model (still right, only slower): this says so."""
    assert set(plain_ticket_data(row()) or {}) >= set(Ticket.model_fields)


def test_a_batch_made_a_column_at_a_time_is_what_each_row_gives() -> None:
    """``plain_ticket_rows`` (a push's new tickets together) against the model, row by row:
    the same keys in the same order and the same values, a time shared by the rows
    formatted once."""
    batch = [{**r, "id": f"01938a5e-0000-7000-8000-00000000010{i}"} for i, r in enumerate(TAKEN)]
    batch = [r for r in batch if set(r) == set(row())]  # as a push makes them: every column
    times: dict[int, str] = {}
    made = plain_ticket_rows(batch, times)
    assert len(made) == len(batch) >= 5
    for r, data in zip(batch, made, strict=True):
        assert data is not None
        assert list(data.items()) == list(ticket_data(r).items())
    assert len(times) == 1  # received_at, one time object for the batch: its text made once


@pytest.mark.parametrize("bad", [*REFUSED, {k: v for k, v in row().items() if k != "community"}])
def test_a_batch_with_a_row_the_fast_way_turns_down_answers_as_row_by_row(
    bad: dict[str, Any],
) -> None:
    """One row the fast way would turn down (or take only row by row: a column left out)
    among good ones: each row gets exactly what :func:`plain_ticket_data` gives it."""
    batch = [row(), bad, row(id="01938a5e-0000-7000-8000-000000000009", team=None)]
    made = plain_ticket_rows(batch)
    assert made == [plain_ticket_data(r) for r in batch]
    assert made[0] is not None and made[2] is not None
    assert list(made[0].items()) == list(ticket_data(batch[0]).items())
