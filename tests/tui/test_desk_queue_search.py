"""The queue's search as an agent uses it: a word half the cache matches says "1000+" (the
cache stops counting a search there), and a ticket number read out by a caller, whole or
its first digits, finds the ticket."""

from __future__ import annotations

from typing import Any

from agent_tui.screens.queue import QueueScreen
from hotline.protocol import Entity
from tests.support.server import free_port
from tests.tui.conftest import make_app, screen_text, until
from tests.tui.test_desk_queue import open_seeded_queue
from tests.unit.cache.test_cache_store import page, server_ticket

TICKETS = 1_005


def seed(store: Any) -> None:
    rows = []
    for i in range(1, TICKETS + 1):
        tid = f"0190b4a0-0000-7000-8000-{i:012d}"
        rows.append(
            (
                Entity.TICKET,
                tid,
                server_ticket(
                    tid,
                    number=f"20261124-{i:06d}",
                    caller_name=f"市民{i}",
                    address=f"上海市黄浦区人民路{i}号",
                ),
            )
        )
    store.apply_pull(page(rows, cursor=TICKETS))


async def search(pilot: Any, screen: QueueScreen, text: str) -> None:
    """Type the word into the search box and press Enter, as an agent does."""
    screen.action_focus_search()
    await pilot.pause()
    box = screen.query_one("#queue-search")
    box.value = ""  # type: ignore[attr-defined]
    for char in text:
        await pilot.press(char)
    await pilot.press("enter")


async def test_a_common_word_says_1000_plus_and_a_number_finds_its_ticket() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen, table = await open_seeded_queue(pilot, app, seed, TICKETS)

        await search(pilot, screen, "人民路")
        await until(pilot, lambda: table.total == 1000 and table.loaded, "the capped count")
        await until(pilot, lambda: "共 1000+ 件" in screen_text(app), "the summary's 1000+")

        await search(pilot, screen, "20261124-000007")
        await until(pilot, lambda: table.total == 1 and table.loaded, "the whole number's row")
        row = table.row_at(0)
        assert row is not None and row.number == "20261124-000007"
        await until(pilot, lambda: "共 1 件" in screen_text(app), "the summary's count")

        await search(pilot, screen, "20261124-00100")  # its first digits: 001000-001005
        await until(pilot, lambda: table.total == 6 and table.loaded, "the numbers' rows")
        assert {table.row_at(i).number for i in range(6)} == {  # type: ignore[union-attr]
            f"20261124-{i:06d}" for i in range(1000, 1006)
        }
