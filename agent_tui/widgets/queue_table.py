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
from textual.geometry import Region, Size
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


def row_body(row: TicketRow, width: int) -> str:
    """The line for ``row`` at ``width`` cells up to its countdown (which moves every second):
    a mark column, the fixed columns and the address, each followed by its gap."""
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
    ]
    return fit(mark, 2) + " ".join(cols) + " "


def row_text(row: TicketRow, width: int, now: datetime) -> str:
    """The line for ``row`` at ``width`` cells: a mark column then fixed and flexible columns."""
    return row_body(row, width) + fit_right(countdown(row.deadline_at, now), widths()["due"])


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
        # index -> (the row, width, language, its line up to the countdown, whether that and
        # the countdown fill the width exactly): a line drawn again (a scroll, the clock's
        # tick, the cursor) reuses the cut and padded columns (CJK cell widths) while it is
        # the same row object at the same width and language.
        self._bodies: dict[int, tuple[TicketRow, int, str, str, bool]] = {}
        self._pending: tuple[int, int] | None = None
        self._short: tuple[int, int] | None = None  # a page that came back short (_arrived)
        self._generation = 0
        self._down = True  # the last scroll went down (or none yet): fetch ahead below
        self._pass: dict[object, Style] | None = None  # styles of one render pass

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
        self._bodies.clear()
        self._pending = None
        self._short = None
        for offset, row in enumerate(rows or []):
            self._rows[start + offset] = row
        if top:  # before the new total: a shorter list would first clamp the old scroll
            # position to its end and fetch the rows there, for a view about to leave it
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
        self.total = total
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
        """A new count of rows changes the scrollbar, not where anything is on the screen:
        no screen layout (``virtual_size`` is a layout reactive) unless the scrollbar appears
        or goes (``show_vertical_scrollbar``, set by ``_scroll_update``, asks for one then)."""
        size = Size(self.line_width, total)
        if size == self.virtual_size:
            return
        self.set_reactive(QueueTable.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.line_width, self.total)
        self._ensure_rows()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._down = new >= old
        self._ensure_rows()

    def watch_now(self) -> None:
        self.refresh()

    def _visible(self) -> tuple[int, int]:
        top = int(self.scroll_offset.y)
        return top, min(self.total, top + self.size.height + 1)

    def _window(self) -> tuple[int, int]:
        """(offset, limit) of the page to fetch: the rows in view and a view's worth ahead
        in the direction of the last scroll (so the next PageDown, or PageUp, finds its rows
        here and shows no placeholder), the rest of the page further ahead, a margin behind.
        A terminal taller than half a page gets a longer page."""
        top, bottom = self._visible()
        margin = PAGE // 10
        limit = max(PAGE, 2 * (bottom - top) + 2 * margin)
        if self._down:
            return max(0, top - margin), limit
        return max(0, bottom + margin - limit), limit

    def _ahead(self) -> range:
        """The rows in view and the view's worth ahead of them (see ``_window``)."""
        top, bottom = self._visible()
        if self._down:
            return range(top, min(self.total, bottom + (bottom - top)))
        return range(max(0, top - (bottom - top)), bottom)

    def _ensure_rows(self) -> None:
        if self.fetch is None or self.total == 0:
            return
        if all(i in self._rows for i in self._ahead()):
            return
        start, limit = self._window()
        if self._pending == (start, limit) or self._short == (start, limit):
            return
        self._pending = (start, limit)
        fetch, generation = self.fetch, self._generation

        def load() -> None:
            rows = fetch(start, limit)
            if not get_current_worker().is_cancelled:
                self.app.call_from_thread(self._arrived, generation, start, limit, rows)

        self.run_worker(load, thread=True, exclusive=True, group="queue-rows", exit_on_error=False)

    def _arrived(self, generation: int, start: int, limit: int, rows: list[TicketRow]) -> None:
        if generation != self._generation:
            return
        self._pending = None
        # Fewer rows than asked, short of the total: the cache lost rows since it counted
        # them (its reload is on the way). Not asked again, else this would loop.
        short = len(rows) < limit and start + len(rows) < self.total
        self._short = (start, limit) if short else None
        if len(self._rows) > PAGE * 10:  # keep memory flat while scrolling far
            self._rows.clear()
            self._bodies.clear()
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

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual asks for the lines of a frame here; the styles they share are worked out
        once for all of them (``rich_style`` walks the ancestors' styles on each call)."""
        self._pass = {}
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def _style(self, overdue: bool, red: bool, attention: bool, cursor: int) -> Style:
        """The style of a line: the widget's, then each class that applies (``cursor``: 0 not
        the cursor's line, 1 the cursor's with focus, 2 without)."""
        key = (overdue, red, attention, cursor)
        styles = self._pass
        if styles is not None and key in styles:
            return styles[key]
        style: Style = self.rich_style
        if overdue:
            style += self.get_component_rich_style("queue--overdue")
        if red:
            style += self.get_component_rich_style("queue--red")
        if attention:
            style += self.get_component_rich_style("queue--attention")
        if cursor == 1:
            style += self.get_component_rich_style("queue--cursor")
        elif cursor == 2:
            style += Style(reverse=True)
        if styles is not None:
            styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.line_width
        if index >= self.total:
            return Strip.blank(width, self._style(False, False, False, 0))
        row = self._rows.get(index)
        if row is None:
            style = self._style(False, False, False, 0)
            style += self.get_component_rich_style("queue--pending")
            return Strip([Segment(fit("  …", width), style)], width)
        now = self.now or datetime.now().astimezone()
        lang = language()
        known = self._bodies.get(index)
        due = widths()["due"]
        if known is not None and known[0] is row and known[1] == width and known[2] == lang:
            body, exact = known[3], known[4]
        else:
            body = row_body(row, width)
            exact = cell_len(body) + due == width
            self._bodies[index] = (row, width, lang, body, exact)
        text = body + fit_right(countdown(row.deadline_at, now), due)
        if not exact:  # narrower than the columns: cut
            text = fit(text, width)
        cursor = 0 if index != self.cursor else (1 if self.has_focus else 2)
        overdue = row.overdue or (row.deadline_at is not None and row.deadline_at < now)
        style = self._style(overdue, row.urgency == "red", bool(row.attention), cursor)
        return Strip([Segment(text, style)], width)

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
