"""Times on the wire (hotline.times): calendar-safe everywhere, not far ahead on the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from hotline.protocol import AddNoteArgs, Mutation
from hotline.times import MAX_AHEAD, reference_now

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def note(created_at: str | datetime) -> dict[str, object]:
    return {"ticket_id": "0" * 32, "note_id": "1" * 32, "body": "回访", "created_at": created_at}


@pytest.mark.parametrize(
    "when", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00+14:00", "9999-12-31T00:00Z"]
)
def test_a_time_outside_the_utc_calendar_names_its_field(when: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AddNoteArgs.model_validate(note(when))
    err = caught.value.errors()[0]
    assert err["loc"] == ("created_at",)
    assert "outside the calendar" in err["msg"]


def test_the_edges_of_the_calendar_are_kept() -> None:
    for when in ("0001-01-02T00:00Z", "9999-12-30T09:59:59-14:00"):
        AddNoteArgs.model_validate(note(when))


def test_a_far_future_client_time_is_refused_only_against_a_reference_clock() -> None:
    far = NOW + MAX_AHEAD + timedelta(seconds=1)
    raw = {"mutation_id": 1, "name": "add_note", "args": {}, "client_time": far}
    Mutation.model_validate(raw)  # a desk reads its own outbox back whatever its clock said
    with reference_now(NOW):
        Mutation.model_validate({**raw, "client_time": NOW + MAX_AHEAD})
        with pytest.raises(ValidationError) as caught:
            Mutation.model_validate(raw)
    assert caught.value.errors()[0]["loc"] == ("client_time",)
    assert "more than 7 days after" in caught.value.errors()[0]["msg"]
    Mutation.model_validate(raw)  # the reference ends with its block
