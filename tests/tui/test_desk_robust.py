"""Worker answers that land on a screen that is gone or not composed; readable refusals in
the ticket view; the duplicate lookup by address; queue columns wide enough for English."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from agent_tui.i18n import set_language
from agent_tui.screens.kb import KnowledgeBaseScreen
from agent_tui.screens.signin import SignInScreen
from agent_tui.screens.ticket import TicketScreen, readable_error
from hotline.model import Status, TicketFields
from hotline.states import IllegalTransition
from offline_cache.errors import InvalidChange
from tests.support.server import free_port
from tests.tui.conftest import make_app, run_in_thread, until


@pytest.fixture(autouse=True)
def _lang() -> Iterator[None]:
    yield
    set_language("zh")


def test_worker_answers_on_a_screen_not_composed_do_nothing() -> None:
    from agent_tui.screens.intake import IntakeScreen

    ticket = TicketScreen("01900000-0000-7000-8000-000000000000")
    ticket._show(None, [], [], [])
    ticket._show_history([{"at": None, "what": "call"}])
    kb = KnowledgeBaseScreen()
    kb._show_hits([])
    kb._show_article({"title": "t", "body": "b"})
    intake = IntakeScreen()
    intake._show_lookup([], [])
    intake._forms_loaded({})
    intake._saved("1", "on the spot")
    intake._save_failed("disk full")
    assert intake.last_error == ""  # nothing drawn, nothing claimed


def test_refusals_name_the_field_in_words() -> None:
    set_language("en")

    class Callback(BaseModel):
        satisfaction: int = Field(ge=1, le=5)

    with pytest.raises(ValidationError) as raw:
        Callback(satisfaction=9)
    text = readable_error(raw.value)
    assert text.startswith("satisfaction is not valid") or "is not valid" in text
    assert "pydantic" not in text and "validation error" not in text.lower()
    assert "\n" not in text

    change = readable_error(InvalidChange("reason", "at most 500 characters"))
    assert "is not valid: at most 500 characters" in change
    moved = readable_error(IllegalTransition(Status.CLOSED, Status.DISPATCHED))
    assert moved == "A ticket cannot go from closed to dispatched"
    set_language("zh")
    assert readable_error(IllegalTransition(Status.CLOSED, Status.DISPATCHED)) == (
        "工单不能从「办结」改为「已派单」"
    )


def test_queue_columns_hold_every_english_status_and_kind_at_80_and_160() -> None:
    from agent_tui.widgets.queue_table import header_line, row_text
    from offline_cache.records import TicketRow

    set_language("en")
    now = datetime.now(UTC)
    fields = {f: "" for f in TicketRow.__dataclass_fields__}
    for status in ("accepted", "dispatched", "supervised", "evaluated"):
        row = TicketRow(
            **{
                **fields,
                "id": "x",
                "number": "20261202-000001",
                "display_number": "20261202-000001",
                "status": status,
                "urgency": "normal",
                "kind": "complaint",
                "caller_name": "Li",
                "phone": "13800000000",
                "address": "1 Nanjing Road West",
                "deadline_at": None,
                "attention": 0,
            }
        )
        for width in (80, 160):
            line = row_text(row, width, now)
            assert f" {status} " in line and " complaint " in line, line
            assert len(line) <= width
            assert len(header_line(width)) <= width


def seed_addresses(store: Any, now: datetime) -> str:
    """The exact address's open ticket is the oldest of 16 hits for its text."""
    address = "静安区南京西路1号"
    exact = TicketFields(phone="13800000001", address=address, account="路灯坏了")
    wanted = store.create_ticket(exact, call_started_at=now - timedelta(hours=3)).ticket_id
    closed = TicketFields(phone="13800000002", address=address, account="已解决")
    done = store.create_ticket(closed, call_started_at=now - timedelta(hours=2)).ticket_id
    store.change_status(done, "closed")
    for i in range(14):
        longer = TicketFields(
            phone=f"139000000{i:02d}", address=f"{address}{i}弄", account="别的事"
        )
        store.create_ticket(longer, call_started_at=now - timedelta(minutes=i))
    return str(wanted)


async def test_the_duplicate_lookup_finds_the_open_ticket_at_the_address_past_ten_hits() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        await pilot.press("escape")
        await until(pilot, lambda: app.desk.store is not None, "the cache")
        now = datetime.now(UTC)
        wanted = await run_in_thread(lambda: seed_addresses(app.desk.store, now))
        found = await run_in_thread(lambda: app.desk.open_for_address("静安区南京西路1号"))
        assert [r.id for r in found] == [wanted]  # the closed one at the same address: no
