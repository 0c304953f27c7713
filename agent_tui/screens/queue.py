"""The queue: views (mine, team, red, overdue, needs attention, all), sort, search, countdowns.

The screen only holds the query (view, sort, text); the cache answers it page by page and the
``QueueTable`` draws what is visible. A new query costs one worker round trip: the total and
the rows in view come back together from one store call; an answer to an older query is
dropped. The search box applies its text once the agent stops typing (SEARCH_SETTLE_SECONDS),
so a word typed key by key is looked up once, not once per key.
"""

from __future__ import annotations

import gc
from dataclasses import replace
from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Label

from agent_tui.i18n import t
from agent_tui.screens.base import DeskScreen
from agent_tui.widgets.queue_table import PAGE, QueueTable, header_line
from offline_cache.records import Page, QueueQuery, QueueSort, QueueView

VIEWS = {
    "mine": QueueView.MINE,
    "team": QueueView.TEAM,
    "red": QueueView.RED,
    "overdue": QueueView.OVERDUE,
    "attention": QueueView.NEEDS_ATTENTION,
    "all": QueueView.ALL,
}
# 按紧急 is by time left (the clocks' deadline), so a separate deadline sort would repeat it.
SORTS = (QueueSort.URGENCY, QueueSort.TIME)
SEARCH_SETTLE_SECONDS = 0.2  # the search text is applied this long after the last key


class SearchBox(Input):
    """The queue's search field: Escape goes back to the list (the filter stays), as Enter
    does; without it Escape did nothing and the agent was stuck in the box."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", show=False)]

    def action_leave(self) -> None:
        for table in self.screen.query(QueueTable):
            table.focus()


class QueueScreen(DeskScreen):
    SCOPE = "queue"
    # The list has the focus (as on_mount gives it), not the search box first: Textual's
    # default (the first focusable widget) focused the box on the way, and the footer drew
    # the box's keys and then the list's again, two rebuilds and layouts per open.
    AUTO_FOCUS = "#queue"

    # Not a repaint: a new query changes nothing on screen until its rows arrive (a repaint
    # here drew the whole screen once more per search, and its frame made the one with the
    # rows wait for the next tick of the screen's update timer).
    query_spec: reactive[QueueQuery] = reactive(
        QueueQuery(view=QueueView.MINE, sort=QueueSort.URGENCY), init=False, repaint=False
    )

    def __init__(self) -> None:
        super().__init__()
        self._load_seq = 0  # the newest load asked for; older answers are dropped
        self._search_timer: Timer | None = None
        self._shown: dict[str, str] = {}  # label id -> the text it shows

    def compose(self) -> ComposeResult:
        yield from self.compose_bars()
        with Horizontal(id="queue-top"):
            yield Label("", id="queue-summary")
            yield SearchBox(placeholder=t("queue.search.placeholder"), id="queue-search")
        yield Label("", id="queue-header")
        yield QueueTable(fetch=self._fetch, id="queue")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        # What the desk made to get here (imports, the app, its screens, forms, caches) lives
        # as long as the process: out of the collector's full passes, which walked it all
        # (~115k objects) and took 40-200 ms on this VM, inside a search's frame when they
        # fell there. Objects made later are collected as before.
        gc.freeze()
        table = self.query_one(QueueTable)
        table.now = self.app.clock()  # type: ignore[attr-defined]
        table.focus()
        self.reload()

    def on_resize(self) -> None:
        self.call_after_refresh(self._header)

    def _header(self) -> None:
        """Column titles over the table's rows: as wide as a row (the scrollbar, when the
        rows need one, takes its cells from both)."""
        for table in self.query(QueueTable):
            self._show("queue-header", header_line(table.line_width))

    def _show(self, label_id: str, text: str) -> None:
        """Put ``text`` on a label, doing only what the change needs: nothing when it already
        shows it, and a screen layout only when its width in cells changes (the labels are
        one line; the summary's width is its text's, and the search box takes the rest)."""
        old = self._shown.get(label_id)
        if old == text:
            return
        for label in self.query(f"#{label_id}").results(Label):
            label.update(text, layout=old is None or cell_len(old) != cell_len(text))
            self._shown[label_id] = text

    # ------------------------------------------------------------------ data

    def _fetch(self, offset: int, limit: int):  # type: ignore[no-untyped-def]
        return self.app.desk.queue_page(replace(self.query_spec, offset=offset, limit=limit)).rows  # type: ignore[attr-defined]

    def watch_query_spec(self) -> None:
        self.reload(top=True)

    def reload(self, top: bool = False) -> None:
        """Load the query's total and the rows in view in one worker. ``top``: a new query
        (view, filter, sort) starts at its first row; a changed cache keeps the place."""
        self._load_seq += 1
        start = 0
        if not top:
            for table in self.query(QueueTable):
                start = table.window_start()
        self._load(self._load_seq, self.query_spec, start, top)

    @work(thread=True, exclusive=True, group="queue-load", exit_on_error=False)
    def _load(self, seq: int, query: QueueQuery, start: int, top: bool) -> None:
        if seq != self._load_seq:
            return  # a newer query was asked for before this worker started
        page = self.app.desk.queue_page(replace(query, offset=start, limit=PAGE))  # type: ignore[attr-defined]
        self.app.call_from_thread(self._loaded, seq, page, top)

    def _loaded(self, seq: int, page: Page, top: bool) -> None:
        if seq != self._load_seq:
            return  # the answer to an older query: the newer one is on its way
        # The answer comes back from a worker: the screen may be gone or not yet composed.
        for table in self.query(QueueTable):
            table.reload(page.total, page.offset, page.rows, top=top)
            self._summary(page.total, capped=page.total_capped)
        self.call_after_refresh(self._header)

    def _summary(self, total: int, *, capped: bool = False) -> None:
        """View, sort and total; a search that stopped counting says "1000+" (the cache
        counts a search's matches only up to its cap)."""
        q = self.query_spec
        text = t(
            "queue.summary",
            view=t(f"queue.view.{q.view.value}"),
            sort=t(f"queue.sort.{q.sort.value}"),
            total=f"{total}+" if capped else total,
        )
        if self.app.status.link != "online":  # type: ignore[attr-defined]
            text += " " + t("queue.stale")
        self._show("queue-summary", text)

    def cache_changed(self) -> None:
        self.reload(top=False)

    def tick(self, now: datetime) -> None:
        # The app's one-second timer may land before compose or during teardown.
        for table in self.query(QueueTable):
            table.now = now

    # ------------------------------------------------------------------ actions

    def action_view(self, name: str) -> None:
        self.query_spec = replace(self.query_spec, view=VIEWS[name])
        self.query_one(QueueTable).focus()

    def action_next_view(self) -> None:
        order = list(VIEWS.values())
        current = order.index(self.query_spec.view)
        self.query_spec = replace(self.query_spec, view=order[(current + 1) % len(order)])

    def action_next_sort(self) -> None:
        current = SORTS.index(self.query_spec.sort) if self.query_spec.sort in SORTS else -1
        self.query_spec = replace(self.query_spec, sort=SORTS[(current + 1) % len(SORTS)])

    def action_focus_search(self) -> None:
        self.query_one("#queue-search", Input).focus()

    @on(Input.Changed, "#queue-search")
    def _search_changed(self, event: Input.Changed) -> None:
        """Apply the text once the keys stop: a word typed key by key is one lookup."""
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_SETTLE_SECONDS, self._apply_search)

    def _apply_search(self) -> None:
        self._search_timer = None
        text = self.query_one("#queue-search", Input).value.strip()
        if text != self.query_spec.text:
            self.query_spec = replace(self.query_spec, text=text)

    @on(Input.Submitted, "#queue-search")
    def _search_done(self) -> None:
        if self._search_timer is not None:  # Enter: apply now, no wait
            self._search_timer.stop()
            self._apply_search()
        self.query_one(QueueTable).focus()

    def action_open_ticket(self) -> None:
        self.query_one(QueueTable).open_current()

    @on(QueueTable.Opened)
    def _opened(self, event: QueueTable.Opened) -> None:
        from agent_tui.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(event.ticket_id))
