"""Queue views mine and team, the sort key, and search by caller name and by address, on a
desk working from its cache (no server: nothing re-owns the tickets seeded here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent_tui.screens.signin import SignInScreen
from hotline.model import TicketFields
from tests.support.server import free_port
from tests.tui.conftest import make_app, run_in_thread, until
from tests.tui.test_desk_queue import queue_table

NOW = datetime.now(UTC)


def seed(store: Any) -> None:
    """Four tickets: two are agent1's, one a team-mate's, one from another team."""
    made = [
        ("agent1", "徐汇一组", "王一", "徐汇区漕溪北路100号", "normal", 10),
        ("agent1", "徐汇一组", "钱二", "徐汇区天钥桥路5号", "red", 5),
        ("agent2", "徐汇一组", "孙三", "徐汇区宜山路7号", "normal", 20),
        ("agent3", "静安二组", "李四", "静安区南京西路1号", "normal", 1),
    ]
    for user, team, name, address, urgency, minutes in made:
        store.set_identity(user, team, "agent")
        fields = TicketFields(
            phone="13800000000", caller_name=name, address=address, account="咨询", urgency=urgency
        )
        store.create_ticket(fields, call_started_at=NOW - timedelta(minutes=minutes))
    store.set_identity("agent1", "徐汇一组", "agent")


def names(table: Any) -> list[str]:
    return [table.row_at(i).caller_name for i in range(table.total) if table.row_at(i)]


async def test_views_mine_and_team_sort_and_search_by_name_and_address() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        await pilot.press("escape")  # work on the cache
        await until(pilot, lambda: app.desk.store is not None, "the cache")
        await run_in_thread(lambda: seed(app.desk.store))
        await pilot.press("ctrl+o")  # app.queue
        table = await until(pilot, lambda: queue_table(app), "the queue")
        screen = app.screen

        def shows(expected: list[str]) -> bool:
            return table.loaded and table.total == len(expected) and names(table) == expected

        # mine, sorted by urgency (the default): the red one first
        await until(pilot, lambda: shows(["钱二", "王一"]), "my tickets")
        await pilot.press("2")  # queue.view.team
        await until(pilot, lambda: shows(["钱二", "孙三", "王一"]), "my team's tickets")
        await pilot.press("6")  # queue.view.all
        await until(pilot, lambda: shows(["钱二", "孙三", "王一", "李四"]), "every ticket")
        await pilot.press("s")  # queue.sort: urgency (time left) -> time (newest first)
        await until(pilot, lambda: shows(["李四", "钱二", "王一", "孙三"]), "by time")
        assert screen.query_spec.sort.value == "time"
        summary = str(screen.query_one("#queue-summary").render())
        assert "4" in summary

        await pilot.press("slash", *"孙三", "enter")  # queue.search by caller name
        await until(pilot, lambda: shows(["孙三"]), "the name search")
        await pilot.press("slash", "backspace", "backspace", *"南京西路", "enter")  # address
        await until(pilot, lambda: shows(["李四"]), "the address search")
        await pilot.press("1")  # mine, the search still on: not mine
        await until(pilot, lambda: table.loaded and table.total == 0, "nothing of mine there")
