"""The queue tells the truth: 按紧急 is by time left (overdue first), the overdue view holds
only overdue tickets, the team view shows the team's tickets on a site without teams, and the
time-left column is never cut or covered by the scrollbar.

Scripted tickets go straight into the desk's cache (no server: nothing re-owns them); their
expected order is worked out by hand from the hotline's clocks (a red ticket must be answered
within 30 minutes of the call; a dispatched normal ticket has working days, long gone after a
month; an accepted normal ticket has no clock yet)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rich.cells import cell_len

from agent_tui.screens.signin import SignInScreen
from agent_tui.widgets.queue_table import countdown
from hotline.ids import uuid7
from hotline.model import TicketFields
from hotline.protocol import Entity
from tests.support.server import free_port
from tests.tui.conftest import make_app, run_in_thread, screen_text, until
from tests.tui.test_desk_queue import FakeClock, queue_table
from tests.unit.cache.test_cache_store import page, server_ticket

FILLERS = 30  # accepted normal tickets without a clock: enough rows for a scrollbar


def seed(store: Any, now: datetime) -> None:
    """Names say what each ticket is; agent2's is on the same (team-less) site."""

    def make(user: str, name: str, urgency: str, ago: timedelta) -> str:
        store.set_identity(user, None, "agent")
        fields = TicketFields(phone="13800000000", caller_name=name, urgency=urgency)
        return store.create_ticket(
            fields, call_started_at=now - ago, created_at=now - ago
        ).ticket_id

    make("agent1", "红20分", "red", timedelta(minutes=10))  # 20 minutes left
    make("agent1", "红超15", "red", timedelta(minutes=45))  # 15 minutes past its 30
    make("agent1", "红剩5", "red", timedelta(minutes=25))  # 5 minutes left
    make("agent1", "新咨询", "normal", timedelta(minutes=1))  # accepted: no clock yet
    late = make("agent1", "普超月", "normal", timedelta(days=30))  # dispatched a month ago
    store.change_status(late, "dispatched")
    for i in range(FILLERS):
        make("agent1", f"填{i}", "normal", timedelta(minutes=2 + i))
    make("agent2", "同事单", "normal", timedelta(minutes=3))
    store.set_identity("agent1", None, "agent")

    # Two red tickets as the server sends them (its "overdue" is a stored flag that its
    # escalation job sets and never clears): answered late, 40 minutes after the call, so
    # no longer overdue until the 2-hour mark; and answered in time 3 hours ago, so overdue
    # since the 2-hour mark, before the job has flagged it.
    def pulled(name: str, ago: timedelta, answered: timedelta, flagged: bool) -> Any:
        tid = uuid7()
        call = (now - ago).isoformat()
        return (
            Entity.TICKET,
            tid,
            server_ticket(
                tid,
                caller_name=name,
                urgency="red",
                status="handling",
                call_started_at=call,
                created_at=call,
                first_response_at=(now - ago + answered).isoformat(),
                overdue=flagged,
                team=None,
                assignee="agent1",
                created_by="agent1",
            ),
        )

    store.apply_pull(
        page(
            [
                pulled("红已复", timedelta(minutes=40), timedelta(minutes=35), True),
                pulled("红迟3时", timedelta(hours=3), timedelta(minutes=10), False),
            ],
            cursor=1,
        )
    )


def names(table: Any, first: int) -> list[str]:
    return [table.row_at(i).caller_name for i in range(first) if table.row_at(i)]


async def test_urgency_overdue_team_views_and_the_time_left_column() -> None:
    clock = FakeClock()
    app = make_app(f"http://127.0.0.1:{free_port()}")
    app.clock = clock
    async with app.run_test(size=(100, 20)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        await pilot.press("escape")  # work on the cache
        await until(pilot, lambda: app.desk.store is not None, "the cache")
        await run_in_thread(lambda: seed(app.desk.store, clock.now))
        await pilot.press("ctrl+o")  # app.queue
        table = await until(pilot, lambda: queue_table(app), "the queue")
        mine = FILLERS + 7

        # 按紧急 (the default): least time left first, the month-late normal ticket first of
        # all, the ticket without a clock after every ticket with one.
        urgent = ["普超月", "红迟3时", "红超15", "红剩5", "红20分"]
        await until(
            pilot,
            lambda: table.total == mine and table.loaded and names(table, 4) == urgent[:4],
            "the most urgent first",
        )
        ordered = await run_in_thread(
            lambda: [r.caller_name for r in app.desk.queue_page(app.screen.query_spec).rows]
        )
        assert ordered[:4] == urgent[:4]
        assert ordered[4] == "红20分" and ordered[5] == "红已复"  # its 2-hour mark is next
        assert set(ordered[6:]) == {"新咨询", *(f"填{i}" for i in range(FILLERS))}

        # The countdown column: whole, right of the address, left of the scrollbar.
        await pilot.pause(0.3)
        text = screen_text(app).splitlines()
        header = next(line for line in text if "剩余" in line)
        due_end = cell_len(header[: header.index("剩余") + 2])  # in cells: CJK is two wide
        assert due_end <= table.scrollable_content_region.width  # left of the scrollbar
        for index in range(4):
            row = table.row_at(index)
            shown = countdown(row.deadline_at, clock.now)
            line = next(line for line in text if row.caller_name in line)
            assert shown and shown in line, (shown, line)
            assert cell_len(line[: line.rindex(shown) + len(shown)]) == due_end, line
        assert countdown(table.row_at(0).deadline_at, clock.now).endswith("d")  # days late

        await pilot.press("4")  # queue.view.overdue: only what the clocks call overdue
        await until(
            pilot,
            lambda: (
                table.loaded
                and sorted(names(table, table.total)) == sorted(["普超月", "红迟3时", "红超15"])
            ),
            "the overdue view",
        )

        await pilot.press("2")  # queue.view.team: no teams here, so every ticket is the team's
        await until(pilot, lambda: table.loaded and table.total == mine + 1, "the team's tickets")
        await pilot.press("end")
        await until(
            pilot,
            lambda: (
                "同事单"
                in [table.row_at(i).caller_name for i in range(table.total) if table.row_at(i)]
            ),
            "the team-mate's ticket",
        )
