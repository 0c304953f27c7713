"""What the queue redraws, and that it still shows the truth: a search changes only the
table, the summary and the scrollbar (no screen repaint, no layout unless a width changes);
a line drawn again shows the row now at its place, never the one before it; an answer to an
older search is dropped; the rows ahead of a PageDown or PageUp are fetched with the page
in view, and a terminal taller than a page still fills."""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import replace
from typing import Any

from rich.cells import cell_len

from agent_tui.screens.queue import QueueScreen
from agent_tui.widgets.queue_table import QueueTable
from hotline.protocol import Entity
from tests.support.server import free_port
from tests.tui.conftest import make_app, run_in_thread, screen_text, until
from tests.tui.test_desk_queue import open_seeded_queue
from tests.unit.cache.test_cache_store import page, server_ticket

TICKETS = 300


def street(i: int) -> str:
    """Three tickets on 东湖路, three on 西湖路, 44 on 南湖路, the rest on 北京路."""
    if i <= 3:
        return "东湖路"
    if i <= 6:
        return "西湖路"
    return "南湖路" if i <= 50 else "北京路"


def ticket(i: int, **fields: Any) -> tuple[Entity, str, dict[str, Any]]:
    tid = f"0190b4a0-0000-7000-8000-{i:012d}"
    data = server_ticket(
        tid,
        number=f"20261124-{i:06d}",
        caller_name=f"市民{i}号",
        address=f"上海市{street(i)}{i}号",
    )
    data.update(fields)
    return (Entity.TICKET, tid, data)


def seed(store: Any) -> None:
    store.apply_pull(page([ticket(i) for i in range(1, TICKETS + 1)], cursor=TICKETS))


async def open_all(pilot: Any, app: Any) -> tuple[QueueScreen, QueueTable]:
    return await open_seeded_queue(pilot, app, seed, TICKETS)


def search(screen: QueueScreen, text: str) -> None:
    """The search applied, as the settled search box or Enter applies it."""
    screen.query_spec = replace(screen.query_spec, text=text)


def names_shown(app: Any) -> set[int]:
    """The tickets whose caller's name the terminal shows (whole up to 市民99号: the
    column is 8 cells wide)."""
    text = screen_text(app)
    return {i for i in range(1, TICKETS + 1) if f"市民{i}号" in text}


def due_end(app: Any) -> int:
    """Cells up to the end of the time-left column's title (rows end where it ends)."""
    header = next(line for line in screen_text(app).splitlines() if "剩余" in line)
    return cell_len(header[: header.index("剩余") + 2])


class RefreshSpy:
    """Records each refresh the screen, its labels and the table ask for."""

    def __init__(self, screen: QueueScreen) -> None:
        self.calls: list[tuple[str, bool]] = []  # (widget id, layout)
        for widget in (
            screen,
            screen.query_one("#queue-summary"),
            screen.query_one("#queue-header"),
            screen.query_one(QueueTable),
        ):
            self._wrap(widget)

    def _wrap(self, widget: Any) -> None:
        original = widget.refresh
        name = widget.id or type(widget).__name__

        def refresh(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, bool(kwargs.get("layout"))))
            return original(*args, **kwargs)

        widget.refresh = refresh

    def layouts(self) -> list[str]:
        return [name for name, layout in self.calls if layout]

    def of(self, name: str) -> list[tuple[str, bool]]:
        return [call for call in self.calls if call[0] == name]


async def test_a_search_redraws_the_table_and_lays_out_only_when_a_width_changes() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 20)) as pilot:
        screen, table = await open_all(pilot, app)
        assert table.show_vertical_scrollbar  # 300 rows in 14 lines
        assert due_end(app) == table.scrollable_content_region.width  # left of the scrollbar

        search(screen, "东湖路")
        await until(pilot, lambda: names_shown(app) == {1, 2, 3}, "东湖路's three rows")
        await until(pilot, lambda: not table.show_vertical_scrollbar, "no scrollbar")
        # the rows and the column titles take the scrollbar's cells
        await until(pilot, lambda: due_end(app) == table.size.width, "full-width rows")
        await until(pilot, lambda: "共 3 件" in screen_text(app), "the summary")

        spy = RefreshSpy(screen)
        search(screen, "西湖路")  # three rows again: the same widths everywhere
        assert spy.of(screen.id or "QueueScreen") == []  # a new query repaints nothing
        await until(pilot, lambda: names_shown(app) == {4, 5, 6}, "西湖路's rows, no others")
        await pilot.pause(0.2)
        assert names_shown(app) == {4, 5, 6}
        assert "共 3 件" in screen_text(app)
        assert spy.layouts() == [], spy.calls
        assert spy.of("queue"), "the table was not redrawn"
        assert due_end(app) == table.size.width

        spy.calls.clear()
        search(screen, "南湖路")  # 44 rows: the scrollbar comes back, the summary widens
        await until(pilot, lambda: table.total == 44 and table.loaded, "南湖路's rows")
        await until(pilot, lambda: "共 44 件" in screen_text(app), "the wider summary")
        assert "queue" in spy.layouts()  # the scrollbar appears: the table is laid out
        assert "queue-summary" in spy.layouts()  # two digits: the summary is wider
        await until(pilot, lambda: table.show_vertical_scrollbar, "the scrollbar")
        await until(
            pilot,
            lambda: due_end(app) == table.scrollable_content_region.width < table.size.width,
            "rows left of the scrollbar again",
        )
        assert names_shown(app) <= set(range(7, 51)) and names_shown(app)


async def test_a_line_drawn_again_shows_the_row_now_at_its_place() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 20)) as pilot:
        screen, table = await open_all(pilot, app)
        search(screen, "东湖路")
        await until(pilot, lambda: names_shown(app) == {1, 2, 3}, "东湖路's rows")
        second = table.row_at(1)
        assert second is not None
        index = next(i for i in range(1, 4) if f"市民{i}号" in second.caller_name)

        # the ticket at the same place changes in the cache (a pull): its line shows the new
        # name, not the one drawn before
        changed = ticket(index, caller_name="改过名字", revision=2)
        await run_in_thread(lambda: app.desk.store.apply_pull(page([changed], cursor=TICKETS + 1)))
        screen.cache_changed()
        await until(pilot, lambda: "改过名字" in screen_text(app), "the new name")
        assert index not in names_shown(app)
        row = table.row_at(1)
        assert row is not None and row.caller_name == "改过名字"

        # the clock's tick draws every line again: the same rows, from the lines kept
        table.now = app.clock()  # type: ignore[attr-defined]
        await pilot.pause(0.1)
        assert "改过名字" in screen_text(app)
        assert names_shown(app) == {1, 2, 3} - {index}


async def test_an_answer_to_an_older_search_is_dropped() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 20)) as pilot:
        screen, table = await open_all(pilot, app)
        release = threading.Event()
        answered = threading.Event()
        asked = app.desk.queue_page

        def slow_for_the_first_word(query: Any) -> Any:
            result = asked(query)
            if query.text == "东湖路":
                release.wait(10)  # bounded: the test releases it below
                answered.set()
            return result

        app.desk.queue_page = slow_for_the_first_word
        try:
            search(screen, "东湖路")  # still being answered when the next word comes
            await pilot.pause(0.1)
            search(screen, "西湖路")
            await until(pilot, lambda: names_shown(app) == {4, 5, 6}, "the last search's rows")
            release.set()
            await until(pilot, answered.is_set, "the first search's late answer")
            await pilot.pause(0.3)
            assert names_shown(app) == {4, 5, 6}
            assert table.total == 3
            assert {table.row_at(i).caller_name for i in range(3)} == {  # type: ignore[union-attr]
                "市民4号",
                "市民5号",
                "市民6号",
            }
        finally:
            release.set()
            app.desk.queue_page = asked


def rows_held(table: QueueTable, first: int, last: int) -> bool:
    return all(table.row_at(i) is not None for i in range(max(0, first), min(table.total, last)))


async def test_paging_finds_the_next_page_fetched_and_a_tall_view_fills() -> None:
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 30)) as pilot:
        _screen, table = await open_all(pilot, app)
        height = table.size.height
        fetched: list[int] = []
        fetch = table.fetch
        assert fetch is not None

        def counted(offset: int, limit: int) -> Any:
            fetched.append(offset)
            return fetch(offset, limit)

        table.fetch = counted
        for _ in range(10):
            await pilot.press("pagedown")
            await until(pilot, lambda: table.loaded and table._pending is None, "the page")
            top = int(table.scroll_offset.y)
            # the rows of the next PageDown came with this page's
            assert rows_held(table, top, top + 2 * height), top
        assert int(table.scroll_offset.y) > 0 and table.cursor > 9 * (height - 2)
        # a page fetched holds the rows of more than the next PageDown: ten presses of
        # ~23 rows fetch a page every other press, not on each one
        assert 1 <= len(fetched) <= 6, fetched
        table.fetch = fetch
        await pilot.press("end")
        await until(pilot, lambda: table.loaded and table._pending is None, "the last page")
        for _ in range(2):  # the first only moves the cursor to the top of the view
            await pilot.press("pageup")
            await until(pilot, lambda: table.loaded and table._pending is None, "a page up")
        top = int(table.scroll_offset.y)
        assert rows_held(table, top - height, top + height), top  # the one above came too

        # a terminal taller than half a page: the view still fills after a jump to the end
        await pilot.resize_terminal(100, 110)
        await pilot.press("home")
        await until(pilot, lambda: table.loaded, "the first rows, tall")
        await pilot.press("end")
        deadline = time.monotonic() + 15
        while not table.loaded and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert table.loaded, "the tall view never filled"
        assert table.size.height > 60
        row = table.row_at(table.total - 1)
        assert row is not None
        await until(pilot, lambda: row.display_number in screen_text(app), "the last row shown")


async def test_a_page_that_comes_back_short_is_not_asked_for_again_and_again() -> None:
    """The cache lost rows since it counted them (its reload is on the way): the table
    does not ask for the same page in a loop, and fills once the reload comes."""
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 20)) as pilot:
        screen, table = await open_all(pilot, app)
        fetch = table.fetch
        assert fetch is not None
        asked: list[int] = []

        def nothing_past_the_first_page(offset: int, limit: int) -> Any:
            asked.append(offset)
            return fetch(offset, limit) if offset == 0 else []

        table.fetch = nothing_past_the_first_page
        await pilot.press("end")
        await until(pilot, lambda: asked and table._pending is None, "the short page")
        await pilot.pause(0.5)
        assert len(asked) == 1, asked
        table.fetch = fetch
        screen.cache_changed()
        await until(pilot, lambda: table.loaded, "the rows after the reload")
        row = table.row_at(table.total - 1)
        assert row is not None


async def test_a_new_search_from_far_down_the_list_fetches_nothing_more() -> None:
    """A new query starts at its first row: the rows that came with its count are the ones
    shown. (Setting the shorter total first clamped the old scroll position to the new
    list's end and fetched the rows there, for a view about to leave them.)"""
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 20)) as pilot:
        screen, table = await open_all(pilot, app)
        await pilot.press("end")
        await until(pilot, lambda: table.loaded and table._pending is None, "the last page")
        assert int(table.scroll_offset.y) > 250
        fetch = table.fetch
        assert fetch is not None
        fetched: list[int] = []

        def counted(offset: int, limit: int) -> Any:
            fetched.append(offset)
            return fetch(offset, limit)

        table.fetch = counted
        search(screen, "北京路")  # 250 rows, fewer than the scroll position was
        await until(pilot, lambda: table.total == 250 and table.loaded, "北京路's first rows")
        await pilot.pause(0.3)
        assert fetched == []
        assert int(table.scroll_offset.y) == 0 and table.cursor == 0
        first = table.row_at(0)
        assert first is not None and "北京路" in first.address
        assert first.display_number in screen_text(app)


async def test_opening_the_queue_takes_what_the_desk_made_out_of_full_collections() -> None:
    """The objects made before the queue opens are frozen (``gc.freeze``): a full pass of
    the collector no longer walks them inside a search's frame."""
    gc.unfreeze()
    try:
        app = make_app(f"http://127.0.0.1:{free_port()}")
        async with app.run_test(size=(100, 20)) as pilot:
            await open_all(pilot, app)
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
