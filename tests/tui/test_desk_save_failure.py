"""Issue 4: a disk that refuses the save (full, read-only) gives a clear message and the
form keeps its content; once the disk takes writes again, the same submit saves once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, run_in_thread, sign_in, until
from tests.tui.test_desk_intake import server_get, type_into

TYPED = {
    "phone": "13612340000",
    "caller_name": "李雷",
    "address": "浦东新区世纪大道88号",
    "account": "楼下工地夜里施工噪音很大",
    "answer": "已告知夜间施工许可的查询方式",
}


def set_read_only(store: Any, on: bool) -> None:
    """The cache's own connection refuses every write (what a read-only disk does to it)."""
    with store._lock:
        store._conn.execute(f"PRAGMA query_only={1 if on else 0}")


async def test_a_refused_save_says_why_keeps_the_form_and_the_retry_saves_once(
    server: RunningServer,
) -> None:
    from offline_cache.errors import SaveFailed

    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "agent2")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        for field, text in TYPED.items():
            await type_into(pilot, field, text)
        await until(pilot, lambda: screen.draft_id is not None, "the autosave")
        ticket_id = screen.ticket_id

        await run_in_thread(lambda: set_read_only(app.desk.store, True))
        with pytest.raises(SaveFailed) as refused:  # the store itself refuses every write
            await run_in_thread(lambda: app.desk.store.delete_draft("no-such-draft"))
        assert refused.value.reason == "read_only"
        await pilot.press("ctrl+s")  # intake.on_spot
        await until(pilot, lambda: screen.last_error, "the save failure")
        assert "Could not save" in screen.last_error and "read-only" in screen.last_error
        assert "the form keeps its content" in screen.last_error
        assert "read-only" in str(screen.query_one("#intake-last").render())
        assert screen.last_saved == ""
        values = screen.values()
        assert {k: values[k] for k in TYPED} == TYPED
        assert screen.ticket_id == ticket_id
        assert await run_in_thread(lambda: app.desk.ticket(ticket_id)) is None

        await run_in_thread(lambda: set_read_only(app.desk.store, False))
        await pilot.press("ctrl+s")  # the same submit, the disk writable again
        await until(pilot, lambda: screen.last_saved, "the save")
        assert screen.last_error == ""
        rows = await run_in_thread(lambda: app.desk.recent_for_phone(TYPED["phone"]))
        assert [r.id for r in rows] == [ticket_id]
        await until(pilot, lambda: app.status.outbox == 0, "the sync")
    found = await run_in_thread(
        lambda: server_get(server, f"/api/v1/tickets?text={TYPED['phone']}", "agent2")
    )
    assert [t["id"] for t in found["tickets"]] == [ticket_id]


NEXT = {"caller_name": "韩梅梅", "phone": "13712340000"}


async def test_a_refused_save_after_the_next_ticket_was_started_keeps_both(
    server: RunningServer,
) -> None:
    """The save fails only after the agent has started the next caller's ticket (the form
    clears on the submit key): the refused ticket comes back into the form, and the started
    one is set aside, in memory while the disk refuses it, one key away in the drafts."""
    from agent_tui.screens.dialogs import ChoiceDialog

    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "agent2")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        for field, text in TYPED.items():
            await type_into(pilot, field, text)
        ticket_id = screen.ticket_id
        await run_in_thread(lambda: set_read_only(app.desk.store, True))
        # the save runs in a thread: hold it until the next ticket is being typed
        gate = threading.Lock()
        gate.acquire()
        real_create = app.desk.create_ticket

        def gated_create(*args: Any, **kwargs: Any) -> Any:
            with gate:
                return real_create(*args, **kwargs)

        app.desk.create_ticket = gated_create  # type: ignore[method-assign]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.ticket_id != ticket_id, "the form cleared")
        for field, text in NEXT.items():
            await type_into(pilot, field, text)
        gate.release()
        await until(pilot, lambda: screen.last_error, "the save failure")
        assert screen.ticket_id == ticket_id
        values = screen.values()
        assert {k: values[k] for k in TYPED} == TYPED

        await run_in_thread(lambda: set_read_only(app.desk.store, False))
        await pilot.press("ctrl+s")  # the refused ticket, saved now
        await until(pilot, lambda: screen.last_saved, "the save")
        await pilot.press("alt+d")  # intake.drafts: the set-aside ticket is listed
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "the drafts list")
        await pilot.press("1")
        await until(
            pilot, lambda: screen.values().get("caller_name") == NEXT["caller_name"], "it back"
        )
        assert screen.values()["phone"] == NEXT["phone"]
        saved = await run_in_thread(lambda: app.desk.ticket(ticket_id))
        assert saved is not None and saved.data["account"] == TYPED["account"]
