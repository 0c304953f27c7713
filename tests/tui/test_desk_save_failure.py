"""Issue 4: a disk that refuses the save (full, read-only) gives a clear message and the
form keeps its content; once the disk takes writes again, the same submit saves once."""

from __future__ import annotations

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
