"""A ticket list that stays smooth with 100,000 tickets in the cache.

It never builds a row per ticket. It knows only how many rows there are (``total``) and keeps
the few pages around the viewport, fetched from the cache's paged query in a thread worker
(the query is sqlite, a blocking call). ``render_line`` draws one terminal line from those
rows; a row not fetched yet draws as a dim placeholder until its page arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from agent_tui.cells import fit, fit_right
from agent_tui.i18n import language, t
from hotline.model import Kind, Status
from offline_cache.records import TicketRow

# (offset, limit) -> rows; blocking (sqlite), so it runs in a thread worker.
Fetch = Callable[[int, int], list[TicketRow]]

PAGE = 100
# "due" holds the longest countdown: "-99:59:59" (nine cells); days ("12d", "-130d") are shorter.
WIDTHS = {"number": 17, "status": 6, "kind": 4, "caller": 8, "phone": 12, "due": 9}
STATUSES = tuple(s.value for s in Status)
KINDS = tuple(k.value for k in Kind)


@cache
def _widths(lang: str) -> dict[str, int]:
    """The fixed columns, wide enough for every status and kind word of the UI language
    ("accepted", "dispatched" and "complaint" are longer than their two Chinese characters)."""
    widths = dict(WIDTHS)
    widths["status"] = max(
        widths["status"], *(cell_len(t(f"status.{s}", lang=lang)) for s in STATUSES)
    )
    widths["kind"] = max(widths["kind"], *(cell_len(t(f"kind.{k}", lang=lang)) for k in KINDS))
    widths["due"] = max(widths["due"], cell_len(t("queue.col.due", lang=lang)))
    return widths


def widths() -> dict[str, int]:
    return _widths(language())


def countdown(deadline: datetime | None, now: datetime) -> str:
    """``1:05:09`` left, or ``-0:03:00`` past; blank without a deadline."""
    if deadline is None:
        return ""
    seconds = int((deadline - now).total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    if hours >= 100:
        return f"{sign}{hours // 24}d"
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def header_line(width: int) -> str:
    w = widths()
    address = max(4, width - sum(w.values()) - len(w) - 2)
    cols = [
        fit(t("queue.col.number"), w["number"]),
        fit(t("queue.col.status"), w["status"]),
        fit(t("queue.col.kind"), w["kind"]),
        fit(t("queue.col.caller"), w["caller"]),
        fit(t("queue.col.phone"), w["phone"]),
        fit(t("queue.col.address"), address),
        fit_right(t("queue.col.due"), w["due"]),
    ]
    return "  " + " ".join(cols)


def row_text(row: TicketRow, width: int, now: datetime) -> str:
    """The line for ``row`` at ``width`` cells: a mark column then fixed and flexible columns."""
    w = widths()
    address = max(4, width - sum(w.values()) - len(w) - 2)
    mark = "!" if row.attention else ("●" if row.urgency == "red" else " ")
    number = row.display_number + ("*" if row.number is None else "")
    cols = [
        fit(number, w["number"]),
        fit(t(f"status.{row.status}"), w["status"]),
        fit(t(f"kind.{row.kind}"), w["kind"]),
        fit(row.caller_name, w["caller"]),
        fit(row.phone, w["phone"]),
        fit(row.address, address),
        fit_right(countdown(row.deadline_at, now), w["due"]),
    ]
    return fit(mark, 2) + " ".join(cols)


class QueueTable(ScrollView, can_focus=True):
    """Virtual list of queue rows; the screen sets ``fetch`` and ``total`` (attributes down)."""

    DEFAULT_CSS = """
    QueueTable { height: 1fr; overflow-x: hidden; }
    QueueTable > .queue--cursor { background: $accent; color: $text; text-style: bold; }
    QueueTable > .queue--red { color: $error; text-style: bold; }
    QueueTable > .queue--overdue { background: $error 30%; text-style: bold; }
    QueueTable > .queue--attention { color: $warning; text-style: bold; }
    QueueTable > .queue--pending { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue--cursor",
        "queue--red",
        "queue--overdue",
        "queue--attention",
        "queue--pending",
    }
    # Cursor movement is the list's own, like DataTable's; the desk's actions carry ids.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", show=False),
        Binding("down", "cursor(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "jump(0)", show=False),
        Binding("end", "jump(-1)", show=False),
    ]

    total: reactive[int] = reactive(0)
    cursor: reactive[int] = reactive(0)
    now: reactive[datetime | None] = reactive(None)

    class Opened(Message):
        """The agent chose a row (Enter)."""

        def __init__(self, ticket_id: str) -> None:
            self.ticket_id = ticket_id
            super().__init__()

    def __init__(self, fetch: Fetch | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.fetch: Fetch | None = fetch
        self._rows: dict[int, TicketRow] = {}
        self._pending: tuple[int, int] | None = None
        self._generation = 0

    # ------------------------------------------------------------------ data

    def reload(
        self, total: int, start: int = 0, rows: list[TicketRow] | None = None, *, top: bool = False
    ) -> None:
        """The query changed (view, filter, sort) or the cache did: drop the rows held and
        take ``rows`` (the page from ``start``, fetched with ``total`` in the same worker) so
        the view needs no second round trip; rows still missing are fetched. ``top``: back to
        the first row (a new filter or view), else the cursor stays where it was."""
        self._generation += 1
        self._rows.clear()
        self._pending = None
        for offset, row in enumerate(rows or []):
            self._rows[start + offset] = row
        self.total = total
        if top:
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        self.cursor = min(self.cursor, max(0, total - 1))
        self._ensure_rows()
        self.refresh()

    def window_start(self) -> int:
        """The first row of the page a reload should bring to keep the view filled."""
        top, _ = self._visible()
        return max(0, top - PAGE // 2)

    @property
    def line_width(self) -> int:
        """Cells a row may use: the width left of the vertical scrollbar (a row drawn the
        widget's full width would lose its last cells, the countdown, under the scrollbar)."""
        return self.scrollable_content_region.width

    def watch_total(self, total: int) -> None:
        self.virtual_size = Size(self.line_width, total)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.line_width, self.total)
        self._ensure_rows()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._ensure_rows()

    def watch_now(self) -> None:
        self.refresh()

    def _visible(self) -> tuple[int, int]:
        top = int(self.scroll_offset.y)
        return top, min(self.total, top + self.size.height + 1)

    def _ensure_rows(self) -> None:
        if self.fetch is None or self.total == 0:
            return
        top, bottom = self._visible()
        if all(i in self._rows for i in range(top, bottom)):
            return
        start = max(0, top - PAGE // 2)
        if self._pending == (start, PAGE):
            return
        self._pending = (start, PAGE)
        fetch, generation = self.fetch, self._generation

        def load() -> None:
            rows = fetch(start, PAGE)
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._arrived, generation, start, rows)

        self.run_worker(load, thread=True, exclusive=True, group="queue-rows", exit_on_error=False)

    def _arrived(self, generation: int, start: int, rows: list[TicketRow]) -> None:
        if generation != self._generation:
            return
        self._pending = None
        if len(self._rows) > PAGE * 10:  # keep memory flat while scrolling far
            self._rows.clear()
        for offset, row in enumerate(rows):
            self._rows[start + offset] = row
        self.refresh()
        self._ensure_rows()

    def row_at(self, index: int) -> TicketRow | None:
        return self._rows.get(index)

    @property
    def loaded(self) -> bool:
        top, bottom = self._visible()
        return all(i in self._rows for i in range(top, bottom))

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.line_width
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        row = self._rows.get(index)
        base = self.rich_style
        if row is None:
            style = base + self.get_component_rich_style("queue--pending")
            return Strip([Segment(fit("  …", width), style)], width)
        now = self.now or datetime.now().astimezone()
        style: Style = base
        if row.overdue or (row.deadline_at is not None and row.deadline_at < now):
            style += self.get_component_rich_style("queue--overdue")
        if row.urgency == "red":
            style += self.get_component_rich_style("queue--red")
        if row.attention:
            style += self.get_component_rich_style("queue--attention")
        if index == self.cursor and self.has_focus:
            style += self.get_component_rich_style("queue--cursor")
        elif index == self.cursor:
            style += Style(reverse=True)
        return Strip([Segment(fit(row_text(row, width, now), width), style)], width)

    # ------------------------------------------------------------------ keys

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh()
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + self.size.height:
            self.scroll_to(y=new - self.size.height + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        if self.total:
            self.cursor = 0 if where == 0 else self.total - 1

    def open_current(self) -> None:
        row = self._rows.get(self.cursor)
        if row is not None:
            self.post_message(self.Opened(row.id))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
