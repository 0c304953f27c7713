"""The shift-lead panel (班长面板): headline figures, seats, red tickets, charts and alerts.

Live refresh follows Dolphie: one refresh worker at a time; when it finishes, ``set_timer``
schedules the next cycle, so refreshes never overlap and run at most once a second. The
event stream (a separate worker) only marks the data dirty; a quiet stream still gets a
fallback refresh every few seconds. Every figure is the server's; this screen formats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from agent_tui.i18n import language, t
from agent_tui.labels import category_label, queue_label, subcategory_label
from agent_tui.lead import fmt
from agent_tui.lead.alerts import Alert, AlertSettings, compute_alerts, deadline_of, ticket_label
from agent_tui.lead.dialogs import TextPrompt, TicketView
from agent_tui.lead.source import (
    AccessDenied,
    LeadDataSource,
    LeadSourceError,
    LinkDown,
    NotSignedIn,
    Refused,
)
from agent_tui.lead.widgets import Cell, Chart, CountBars, FigureTile, KeyedTable
from agent_tui.lead_keys import LEAD_BINDINGS
from agent_tui.neterrors import exception_text
from hotline.model import Kind

WINDOWS = ("today", "60m", "15m")
log = logging.getLogger("agent_tui.lead")

KIND_CODES = tuple(k.value for k in Kind)  # the breakdown's order: the domain's
SEAT_COLUMNS = ("agent", "state", "in_state", "call", "tickets", "link", "unsynced")
STATE_STYLE = {
    "on_call": "green",
    "after_call": "cyan",
    "break": "yellow",
    "link_down": "bold red",
    "signed_out": "dim",
}
SEAT_FILTERS = ("all", "break_15", "on_call", "offline", "unsynced")
LONG_BREAK = timedelta(minutes=15)
RED_COLUMNS = ("number", "category", "status", "level", "deadline", "owner")
TICKET_STATUS = {
    "accepted": ("受理", "accepted"),
    "dispatched": ("派单", "dispatched"),
    "handling": ("办理", "handling"),
    "replied": ("答复", "replied"),
    "supervised": ("督办", "supervised"),
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def default_export_dir() -> Path:
    """``exports`` in the user's agent-tui data dir (``agent-tui locate`` shows it)."""
    from offline_cache import locations

    return locations().data_dir / "exports"


@dataclass
class PanelData:
    """The last data the server sent; ``fetched_at`` is the panel's clock when it arrived."""

    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    red: list[dict[str, Any]] = field(default_factory=list)
    red_error: str | None = None
    fetched_at: datetime | None = None
    today_at: datetime | None = None  # when today's summary (the charts) was fetched


def _age(seconds: float) -> str:
    n = max(0, int(seconds))
    if n < 120:
        return t("lead.age.seconds", n=n)
    if n < 7200:
        return t("lead.age.minutes", n=n // 60)
    return t("lead.age.hours", n=n // 3600)


def _site_zone(summary: dict[str, Any] | None) -> tzinfo:
    """The site's offset, read from the today window's start (local midnight)."""
    start = fmt.parse_time((summary or {}).get("start"))
    return start.tzinfo if start is not None and start.tzinfo is not None else UTC


class LeadPanelScreen(Screen[None]):
    """The shift lead's live panel. ``LeadPanelScreen(source)``; see ``agent_tui.lead``."""

    CSS_PATH = "lead.tcss"
    # Classes for small terminals (lead.tcss): 80x24 keeps the seats and the red tickets.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (120, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (40, "-tall")]
    BINDINGS: ClassVar[list[Any]] = [
        Binding(key, action, description, show=show, id=binding_id)
        for binding_id, key, action, description, show in LEAD_BINDINGS
    ]

    def __init__(
        self,
        source: LeadDataSource | None = None,
        *,
        alert_settings: AlertSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        export_dir: Path | None = None,
        bell: bool = False,
        refresh_seconds: float = 1.0,
        fallback_seconds: float = 10.0,
        live: bool = True,
        owns_source: bool = False,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        # Footer texts in the language chosen at start (class-level texts would be frozen
        # at import); ids and keys stay, so keymaps still apply.
        self._bindings = BindingsMap(
            [
                Binding(key, action, t(text), show=show, id=binding_id)
                for binding_id, key, action, text, show in LEAD_BINDINGS
            ]
        )
        self.source: LeadDataSource = source  # type: ignore[assignment]  # None: on_mount
        self.alert_settings = alert_settings or AlertSettings()
        self.clock = clock
        self.export_dir = export_dir
        self.bell_on = bell
        self.refresh_seconds = max(1.0, refresh_seconds)  # never more than once a second
        self.fallback_seconds = fallback_seconds
        self.live = live
        self.owns_source = owns_source
        self.window = "today"
        self.data = PanelData()
        self.seat_filter = "all"
        self.alerts: list[Alert] = []
        self.link_up: bool | None = None
        self.denied: str | None = None
        self.status_text = ""
        self.last_export: Path | None = None
        self.render_errors: dict[str, str] = {}  # part of the panel -> why it could not draw
        self.refresh_count = 0
        self._dirty = True
        self._retry_at: datetime | None = None
        self._fetch_failures = 0
        self._skew = timedelta(0)
        self._known_alerts: set[str] = set()

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The panel's keys in the desk's command palette, found by title or binding id."""
        keys = getattr(self.app, "keymap", None)
        remapped: dict[str, str] = getattr(keys, "keys", None) or {}
        for binding_id, key, action, text, _show in LEAD_BINDINGS:
            yield SystemCommand(
                t(text),
                f"{binding_id} · {remapped.get(binding_id, key)}",
                partial(self.app.call_later, self.run_action, action),
            )

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="head"):
            yield Static(t("lead.title"), id="title")
            yield Static("", id="window")
            yield Static(t("lead.link.connecting"), id="link")
        yield Static("", id="denied")
        with Vertical(id="body"):
            yield Static(t("lead.alerts.none"), id="alerts")
            with Horizontal(id="figures"):
                for key, label in (
                    ("waiting", "lead.fig.waiting"),
                    ("offered", "lead.fig.offered"),
                    ("answered", "lead.fig.answered"),
                    ("abandoned", "lead.fig.abandoned"),
                    ("answer_rate", "lead.fig.answer_rate"),
                    ("service_level", "lead.fig.service_level"),
                    ("asa", "lead.fig.asa"),
                    ("aht", "lead.fig.aht"),
                    ("on_spot", "lead.fig.on_spot"),
                    ("red", "lead.fig.red"),
                ):
                    yield FigureTile(t(label), id=f"fig-{key}")
            yield Static("", id="queues")
            yield Static("", id="outcomes")
            with Horizontal(id="middle"):
                with Vertical(id="seats-box"):
                    yield Static("", id="seat-counts")
                    yield KeyedTable(
                        [
                            ("agent", t("lead.col.agent"), 12),
                            ("state", t("lead.col.state"), 10),
                            ("in_state", t("lead.col.in_state"), 8),
                            ("call", t("lead.col.call"), 8),
                            ("tickets", t("lead.col.tickets"), 8),
                            ("link", t("lead.col.link"), 14),
                            ("unsynced", t("lead.col.unsynced"), 7),
                        ],
                        sort_column="agent",
                        id="seats",
                    )
                    yield Static("", id="seat-view")
                with Vertical(id="red-box"):
                    yield Static(t("lead.red.title"), id="red-title")
                    yield KeyedTable(
                        [
                            ("number", t("lead.col.number"), 15),
                            ("category", t("lead.col.category"), 10),
                            ("status", t("lead.col.status"), 10),
                            ("level", t("lead.col.level"), 5),
                            ("deadline", t("lead.col.deadline"), 12),
                            ("owner", t("lead.col.owner"), 8),
                        ],
                        sort_column="deadline",
                        id="red",
                    )
                    yield Static("", id="red-note")
            with Horizontal(id="charts"):
                yield Chart(id="chart-volume")
                yield Chart(id="chart-rate")
                yield CountBars(id="chart-categories")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        volume = self.query_one("#chart-volume")
        volume.border_title = t("lead.chart.volume")
        # The legend in the border: plotext counts a Chinese character as one cell.
        volume.border_subtitle = (
            f"[blue]━━[/] {t('lead.chart.offered')}  [green]━━[/] {t('lead.chart.answered')}"
        )
        self.query_one("#chart-rate").border_title = t("lead.chart.rate")
        self.query_one("#chart-categories").border_title = t("lead.chart.categories")
        self._render_window()
        self._render_status()
        if self.source is None:
            # Built without a source (``add_mode("lead", LeadPanelScreen)``): ask the app for
            # one through its ``lead_source()`` hook, the documented fallback.
            factory = getattr(self.app, "lead_source", None)
            self.source = factory() if callable(factory) else None
            self.owns_source = self.owns_source or self.source is not None
        if self.source is None:
            self._deny(t("lead.no_source"))
            return
        if self.live:
            self._stream()
        self._cycle()

    async def on_unmount(self) -> None:
        if self.owns_source and self.source is not None:
            with contextlib.suppress(Exception):
                await self.source.aclose()

    # ------------------------------------------------------------ the refresh cycle

    def _cycle(self) -> None:
        """One tick: fetch if the stream said something changed (or the fallback is due),
        otherwise redraw the clocks. The next tick is scheduled when this one is done."""
        if self.denied is not None or not self.is_attached:
            return
        now = self.clock()
        stale = self.data.fetched_at is None or (
            (now - self.data.fetched_at).total_seconds() >= self.fallback_seconds
        )
        backing_off = self._retry_at is not None and now < self._retry_at
        if (self._dirty or stale) and not backing_off:
            self._dirty = False
            self._fetch()
            return
        self._render_all()
        self.set_timer(self.refresh_seconds, self._cycle)

    @work(exclusive=True, group="lead-refresh", exit_on_error=False)
    async def _fetch(self) -> None:
        fetched = False
        try:
            fetched = await self._fetch_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the source failed in a way it does not name: a link fault
            log.warning("lead fetch failed", exc_info=exc)
            self._say(t("lead.fetch_failed", message=exception_text(exc)))
            self._link_lost(LeadSourceError(str(exc)))
        finally:
            if self.denied is None and self.is_attached:
                self.set_timer(self.refresh_seconds, self._cycle)
        if fetched:
            self._render_all()  # guarded part by part: a drawing fault is said as one

    async def _fetch_once(self) -> bool:
        """Fetch the window on screen and the last 15 minutes (for the alerts) every time;
        today's summary (charts) when it is on screen or older than ``fallback_seconds``:
        it is the heaviest question a panel asks the server."""
        started = self.clock()
        today_at = self.data.today_at
        want_today = (
            self.window == "today"
            or today_at is None
            or (started - today_at).total_seconds() >= self.fallback_seconds
        )
        windows = list(dict.fromkeys([self.window, "15m", *(["today"] if want_today else [])]))
        try:
            results = await asyncio.gather(*(self.source.summary(w) for w in windows))
        except AccessDenied as exc:
            self._deny(t("lead.denied", message=exc.message))
            return False
        except NotSignedIn as exc:
            self._deny(t("lead.unauthorized", message=exc.message))
            return False
        except LeadSourceError as exc:
            if isinstance(exc, Refused):
                self._say(t("lead.refused", message=exc.message))
            self._link_lost(exc)
            return False
        red_error: str | None = None
        try:
            red = await self.source.red_tickets()
        except (AccessDenied, NotSignedIn, LinkDown):
            red, red_error = self.data.red, None
        except LeadSourceError as exc:
            red, red_error = [], exc.message
        # What the server sent is data: a summary that is not an object, or red "tickets"
        # that are not, are left out (and said) rather than trusted.
        malformed = [w for w, v in zip(windows, results, strict=True) if not isinstance(v, dict)]
        fresh = {w: v for w, v in zip(windows, results, strict=True) if isinstance(v, dict)}
        if not isinstance(red, list):
            red, red_error = [], t("lead.bad_data", what="red")
        red = [x for x in red if isinstance(x, dict)]
        if malformed:
            self._say(t("lead.bad_data", what=", ".join(malformed)))
        # Keep today's (charts) between its fetches; never keep another window's old figures.
        summaries = {w: v for w, v in self.data.summaries.items() if w == "today"} | fresh
        fetched = self.clock()
        self.data = PanelData(
            summaries=summaries,
            red=red,
            red_error=red_error,
            fetched_at=fetched,
            today_at=fetched if want_today else today_at,
        )
        # windows[0] is the window on screen when the fetch began (the lead may have moved on)
        server_end = fmt.parse_time(fresh.get(windows[0], {}).get("end"))
        if server_end is not None and server_end.tzinfo is not None:
            self._skew = server_end - fetched
        self.link_up = True  # the server answered: the data is fresh
        self._retry_at = None
        self._fetch_failures = 0
        self.refresh_count += 1
        return True

    @work(exclusive=True, group="lead-stream", exit_on_error=False)
    async def _stream(self) -> None:
        """Listen to the event stream; reconnect with backoff (1, 2, 4 ... 30 s)."""
        delay = 1.0
        while self.denied is None and self.is_attached:
            try:
                async for kind, _data in self.source.events():
                    if self.link_up is not True:
                        self.link_up = True
                        self._retry_at = None
                        self._dirty = True
                        self._safe("link", self._render_link)
                    delay = 1.0
                    if kind != "heartbeat":
                        self._dirty = True
            except AccessDenied as exc:
                self._deny(t("lead.denied", message=exc.message))
                return
            except NotSignedIn as exc:
                self._deny(t("lead.unauthorized", message=exc.message))
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # any failure of the link: say so, retry later
                pass
            stream_retry = self.clock() + timedelta(seconds=delay)
            self._retry_at = max(self._retry_at or stream_retry, stream_retry)
            self.link_up = False
            self._safe("link", self._render_link)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    def _link_lost(self, exc: LeadSourceError) -> None:
        """The server did not answer: keep the last data on screen, say how old it is, and
        try again after 1, 2, 4 ... 30 seconds."""
        self.link_up = False
        self._fetch_failures += 1
        delay = min(2.0 ** (self._fetch_failures - 1), 30.0)
        self._retry_at = self.clock() + timedelta(seconds=delay)
        self._dirty = True
        self._safe("link", self._render_link)

    def _deny(self, message: str) -> None:
        self.denied = message
        self.add_class("-denied")
        self.workers.cancel_group(self, "lead-stream")
        with contextlib.suppress(NoMatches):
            self.query_one("#denied", Static).update(message)

    # ------------------------------------------------------------ rendering

    def _summary(self, window: str | None = None) -> dict[str, Any]:
        found = self.data.summaries.get(window or self.window)
        return found if isinstance(found, dict) else {}

    def _composed(self) -> bool:
        """Mounted with its widgets (not before compose, not while it is being torn down)."""
        return self.is_attached and self.is_mounted and bool(self.query("#status"))

    def _safe(self, part: str, draw: Callable[[], None]) -> bool:
        """Draw one part of the panel. A fault in it (the server sent something this panel
        cannot draw, or a bug here) is said as a display problem, never as the server
        refusing or the link dropping; the other parts still draw."""
        try:
            draw()
        except NoMatches:  # the screen is going away, or not composed yet
            return False
        except Exception as exc:
            log.exception("lead panel: cannot draw %s", part)
            self.render_errors[part] = f"{type(exc).__name__}: {exc}"
            return False
        self.render_errors.pop(part, None)
        return True

    def _render_all(self) -> None:
        if self.denied is not None or not self._composed():
            return
        try:
            now = self.server_now()
        except Exception:  # a skew from a malformed time
            self._skew = timedelta(0)
            now = self.clock()
        with self.app.batch_update():
            self._safe("window", self._render_window)
            self._safe("link", self._render_link)
            self._safe("alerts", lambda: self._render_alerts(now))
            self._safe("figures", lambda: self._render_figures(now))
            self._safe("queues", self._render_queues)
            self._safe("outcomes", self._render_outcomes)
            self._safe("seats", lambda: self._render_seats(now))
            self._safe("red", lambda: self._render_red(now))
            self._safe("charts", self._render_charts)
            shown = self.status_text
            if self.render_errors:
                parts = ", ".join(sorted(self.render_errors))
                self.status_text = t("lead.render_failed", parts=parts)
            elif self.status_text.startswith(t("lead.render_failed", parts="")):
                self.status_text = ""
            if self.status_text != shown:
                self._safe("status", self._render_status)

    def _render_window(self) -> None:
        names = "  ".join(
            f"[reverse] {t('lead.window.' + w)} [/]" if w == self.window else t("lead.window." + w)
            for w in WINDOWS
        )
        self.query_one("#window", Static).update(names)

    def _render_link(self) -> None:
        now = self.clock()
        zone = _site_zone(self._summary("today"))
        fetched = self.data.fetched_at
        at = fetched.astimezone(zone).strftime("%H:%M:%S") if fetched else t("lead.link.no_data")
        age = _age((now - fetched).total_seconds()) if fetched else "—"
        widget = self.query_one("#link", Static)
        if self.link_up is False:
            retry = 0
            if self._retry_at is not None:
                retry = max(0, int((self._retry_at - now).total_seconds() + 0.999))
            widget.update(t("lead.link.down", at=at, age=age, retry=retry))
            widget.set_class(True, "-down")
            self.set_class(True, "-stale")  # the figures stay, greyed: they are getting old
        elif fetched is None:
            widget.update(t("lead.link.connecting"))
            widget.set_class(False, "-down")
            self.set_class(False, "-stale")
        else:
            widget.update(t("lead.link.up", at=at, age=age))
            widget.set_class(False, "-down")
            self.set_class(False, "-stale")

    def _render_alerts(self, now: datetime) -> None:
        self.alerts = compute_alerts(
            self.data.summaries.get("15m"),
            self.data.red,
            now,
            self.alert_settings,
            _site_zone(self._summary("today")),
        )
        widget = self.query_one("#alerts", Static)
        if self.alerts:
            widget.update("\n".join(t(a.key, **a.params) for a in self.alerts))
        else:
            widget.update(t("lead.alerts.none"))
        widget.set_class(bool(self.alerts), "-active")
        idents = {a.ident for a in self.alerts}
        if self.bell_on and idents - self._known_alerts:
            self.app.bell()
        self._known_alerts = idents

    def _tile(self, key: str) -> FigureTile:
        return self.query_one(f"#fig-{key}", FigureTile)

    def _render_figures(self, now: datetime) -> None:
        summary = self._summary()
        calls = summary.get("calls") or {}
        queue = summary.get("queue_now") or {}
        tickets = summary.get("tickets") or {}
        urgent = summary.get("urgent") or {}
        target = self.alert_settings.answer_rate_target
        rate = calls.get("answer_rate")
        sl_seconds = calls.get("service_level_seconds") or summary.get("service_level_seconds")
        waiting = int(queue.get("calls_waiting") or 0)
        self._tile("waiting").show(
            fmt.count(queue.get("calls_waiting")),
            t("lead.fig.longest", value=fmt.duration(queue.get("longest_wait"))),
            alarm=waiting > self.alert_settings.waiting_threshold,
        )
        self._tile("offered").show(fmt.count(calls.get("offered")))
        self._tile("answered").show(fmt.count(calls.get("answered")))
        self._tile("abandoned").show(
            fmt.count(calls.get("abandoned")),
            t("lead.fig.short_abandoned", value=fmt.count(calls.get("short_abandoned"))),
        )
        self._tile("answer_rate").show(
            fmt.pct(rate),
            t("lead.fig.target", value=fmt.pct(target, 0)),
            alarm=rate is not None and rate < target,
        )
        self._tile("service_level").show(
            fmt.pct(calls.get("service_level")),
            t("lead.fig.sl_sub", seconds=fmt.count(sl_seconds)),
        )
        self._tile("asa").show(fmt.duration(calls.get("average_speed_of_answer")))
        self._tile("aht").show(
            fmt.duration(calls.get("average_handle_time")),
            t("lead.fig.handled", value=fmt.count(calls.get("handled"))),
        )
        self._tile("on_spot").show(
            fmt.pct(tickets.get("on_spot_rate")),
            t("lead.fig.tickets", value=fmt.count(tickets.get("created"))),
        )
        red_open, red_overdue = self._red_counts(now, urgent)
        self._tile("red").show(
            f"{fmt.count(red_open)} / {fmt.count(red_overdue)}",
            t("lead.fig.red_sub"),
            alarm=bool(red_overdue),
        )

    def _red_counts(self, now: datetime, urgent: dict[str, Any]) -> tuple[Any, Any]:
        """Open / overdue red tickets as the list beside the figure shows them: the same
        fetch, the same "now" and the same deadline rule, so the two never disagree (the
        server's ``urgent`` counts its stored overdue flag, which the escalation job sets
        later). The server's figure stands in only while the list is unavailable."""
        if self.data.red_error is not None or self.data.fetched_at is None:
            return urgent.get("open"), urgent.get("overdue")
        zone = _site_zone(self._summary("today"))
        red = [x for x in self.data.red if x.get("urgency") == "red"]
        overdue = sum(1 for x in red if _red_clock(x, now, zone)[1])
        return len(red), overdue

    def _render_queues(self) -> None:
        per_queue = self._summary().get("per_queue") or {}
        items = [
            t(
                "lead.queue.item",
                queue=queue_label(name),
                offered=fmt.count(q.get("offered")),
                rate=fmt.pct(q.get("answer_rate")),
                waiting=fmt.count(q.get("calls_waiting")),
            )
            for name, q in sorted(per_queue.items())
        ]
        text = t("lead.queue.title") + "  ·  " + "   |   ".join(items) if items else ""
        callbacks = self._summary().get("callbacks")  # 漏接回拨, today's whatever the window
        if callbacks is not None:
            due = t("lead.callbacks", due=fmt.count(callbacks.get("open_now")),
                    done=fmt.count(callbacks.get("done")))  # fmt: skip
            text = f"{text}   ‖   {due}" if text else due
        self.query_one("#queues", Static).update(text)

    def _render_outcomes(self) -> None:
        """满意率, the red tickets' first response and the tickets by kind, in the window."""
        tickets = self._summary().get("tickets") or {}
        kinds = tickets.get("by_kind") or {}
        by_kind = " ".join(
            f"{t('kind.' + k)} {fmt.count((kinds.get(k) or {}).get('created') or 0)}"
            for k in KIND_CODES
        )
        text = t(
            "lead.outcomes",
            satisfaction=fmt.pct(tickets.get("satisfaction_rate")),
            evaluated=fmt.count(tickets.get("evaluated") or 0),
            red_avg=fmt.duration(tickets.get("red_average_response")),
            red_30=fmt.pct(tickets.get("red_within_30m_rate")),
            within=fmt.count(tickets.get("red_within_30m") or 0),
            judged=fmt.count(tickets.get("red_judged") or 0),
            kinds=by_kind,
        )
        self.query_one("#outcomes", Static).update(text)

    def server_fetched_at(self) -> datetime:
        assert self.data.fetched_at is not None
        return self.data.fetched_at + self._skew

    def server_now(self) -> datetime:
        """The server's "now" as of this moment: the panel's clock corrected by the offset
        seen at the last fetch, so a home laptop's wrong clock does not skew durations."""
        return self.clock() + self._skew

    # seats

    def _seat_rows(self, now: datetime) -> tuple[dict[str, list[Cell]], int]:
        seats = self._seats_summary().get("seats_table") or []
        rows: dict[str, list[Cell]] = {}
        for seat in seats:
            if not self._seat_matches(seat, now):
                continue
            state = str(seat.get("state") or "signed_out")
            in_state = fmt.seconds_since(seat.get("since"), now)
            call = seat.get("current_call_seconds")
            if call is not None and self.data.fetched_at is not None:
                call += max(0.0, (now - self.server_fetched_at()).total_seconds())
            offline = fmt.seconds_since(seat.get("offline_since"), now)
            unsynced = seat.get("unsynced")
            if state == "link_down" or offline is not None:
                link = t("lead.link_cell.offline", age=fmt.duration(offline))
            elif state == "signed_out":
                link = ""
            else:
                link = t("lead.link_cell.online")
            agent = str(seat.get("agent"))
            rows[agent] = [
                Cell(agent, agent),
                Cell(t(f"lead.state.{state}"), state, STATE_STYLE.get(state, "")),
                Cell(fmt.duration(in_state), in_state),
                Cell(fmt.duration(call), call),
                Cell(fmt.count(seat.get("tickets_today")), seat.get("tickets_today")),
                Cell(link, offline if offline is not None else -1.0),
                Cell(fmt.count(unsynced) if unsynced else "", unsynced or 0),
            ]
        return rows, len(seats)

    def _seat_matches(self, seat: dict[str, Any], now: datetime) -> bool:
        f = self.seat_filter
        state = seat.get("state")
        if f == "break_15":
            since = fmt.seconds_since(seat.get("since"), now)
            return state == "break" and since is not None and since > LONG_BREAK.total_seconds()
        if f == "on_call":
            return state == "on_call"
        if f == "offline":
            return state == "link_down"
        if f == "unsynced":
            return bool(seat.get("unsynced"))
        return True

    def _seats_summary(self) -> dict[str, Any]:
        """Seats are the same in every window: the freshest summary that has them."""
        return self._summary() or self._summary("15m") or self._summary("today")

    def _render_seats(self, now: datetime) -> None:
        summary = self._seats_summary()
        counts = summary.get("seats") or {}
        self.query_one("#seat-counts", Static).update(
            t("lead.seats.title")
            + " · "
            + t(
                "lead.seats.counts",
                signed_in=counts.get("signed_in", 0),
                ready=counts.get("ready", 0),
                on_call=counts.get("on_call", 0),
                after_call=counts.get("after_call", 0),
                brk=counts.get("break", 0),
                offline=counts.get("offline", 0),
            )
        )
        table = self.query_one("#seats", KeyedTable)
        rows, total = self._seat_rows(now)
        table.sync_rows(rows)
        column = table.sort_column or "agent"
        self.query_one("#seat-view", Static).update(
            t(
                "lead.sort.label",
                column=t(f"lead.col.{column}"),
                arrow=" ↓" if table.sort_reverse else " ↑",
            )
            + "   "
            + t(
                "lead.filter.label",
                filter=t(f"lead.filter.{self.seat_filter}"),
                shown=len(rows),
                total=total,
            )
        )

    # red tickets

    def _render_red(self, now: datetime) -> None:
        rows: dict[str, list[Cell]] = {}
        lang_index = 0 if language() == "zh" else 1
        zone = _site_zone(self._summary("today"))
        for ticket in self.data.red:
            due, overdue = _red_clock(ticket, now, zone)
            if overdue:
                # most late first; overdue without a known deadline on top
                late = (due - now).total_seconds() if due is not None else -1e9
                deadline = Cell(t("lead.red.overdue"), min(late, -1.0), "bold red")
            elif due is not None:
                left = (due - now).total_seconds()
                deadline = Cell(t("lead.red.left", value=fmt.duration(left)), left)
            else:
                deadline = Cell(fmt.DASH, None)
            status = str(ticket.get("status") or "")
            rows[str(ticket.get("id"))] = [
                Cell(
                    ticket_label(ticket),
                    ticket_label(ticket),
                    "bold red" if ticket.get("urgency") == "red" else "",
                ),
                Cell(_category_label(ticket)),
                Cell(TICKET_STATUS.get(status, (status, status))[lang_index], status),
                Cell(str(ticket.get("escalation_level", 0)), ticket.get("escalation_level")),
                deadline,
                Cell(str(ticket.get("assignee") or ticket.get("created_by") or "")),
            ]
        self.query_one("#red", KeyedTable).sync_rows(rows)
        note = self.query_one("#red-note", Static)
        if self.data.red_error:
            note.update(t("lead.red.unavailable", message=self.data.red_error))
        else:
            note.update("" if rows else t("lead.red.none"))

    # charts

    def _render_charts(self) -> None:
        today = self._summary("today")
        series = today.get("series") or []
        volume = (
            tuple(fmt.clock(b.get("start")) for b in series),
            tuple(int(b.get("offered") or 0) for b in series),
            tuple(int(b.get("answered") or 0) for b in series),
        )
        self.query_one("#chart-volume", Chart).draw(volume, _paint_volume)
        rates = tuple(
            (i, round(float(b["answer_rate"]) * 100, 1))
            for i, b in enumerate(series)
            if b.get("answer_rate") is not None
        )
        target = round(self.alert_settings.answer_rate_target * 100, 1)
        self.query_one("#chart-rate", Chart).draw((volume[0], rates, target), _paint_rate)
        by_category = (today.get("tickets") or {}).get("by_category") or {}
        cats = sorted(
            ((category_label(name), int(v.get("created") or 0)) for name, v in by_category.items()),
            key=lambda kv: (-kv[1], kv[0]),
        )[:8]
        self.query_one("#chart-categories", CountBars).draw(tuple(cats))

    def _render_status(self) -> None:
        bell = t("lead.bell.on") if self.bell_on else t("lead.bell.off")
        text = bell if not self.status_text else f"{self.status_text}   ·   {bell}"
        self.query_one("#status", Static).update(text)

    def _say(self, text: str) -> None:
        self.status_text = text
        if self._composed():
            self._safe("status", self._render_status)

    # ------------------------------------------------------------ actions

    def action_window_next(self) -> None:
        self.action_window(WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)])

    def action_window(self, window: str) -> None:
        if window not in WINDOWS or window == self.window:
            return
        self.window = window
        self._dirty = True
        self._render_all()  # cached figures at once, dashes until the window's first answer

    def _seats_table(self) -> KeyedTable | None:
        found = self.query("#seats").results(KeyedTable) if self._composed() else iter(())
        return next(iter(found), None)

    def action_sort(self) -> None:
        table = self._seats_table()
        if table is None:
            return
        current = table.sort_column if table.sort_column in SEAT_COLUMNS else "agent"
        nxt = SEAT_COLUMNS[(SEAT_COLUMNS.index(current) + 1) % len(SEAT_COLUMNS)]
        table.set_sort(nxt, table.sort_reverse)
        self._redraw_seats()

    def action_sort_reverse(self) -> None:
        table = self._seats_table()
        if table is None:
            return
        table.set_sort(table.sort_column or "agent", not table.sort_reverse)
        self._redraw_seats()

    def action_filter(self) -> None:
        self.seat_filter = SEAT_FILTERS[(SEAT_FILTERS.index(self.seat_filter) + 1) % 5]
        if self._composed():
            with self.app.batch_update():
                self._redraw_seats()

    def _redraw_seats(self) -> None:
        if self._composed():
            self._safe("seats", lambda: self._render_seats(self.server_now()))

    def action_bell(self) -> None:
        self.bell_on = not self.bell_on
        if self._composed():
            self._render_status()

    def action_refresh_now(self) -> None:
        self._dirty = True

    def _selected_ticket(self) -> dict[str, Any] | None:
        key = self.query_one("#red", KeyedTable).current_key()
        for ticket in self.data.red:
            if str(ticket.get("id")) == key:
                return ticket
        self._say(t("lead.action.no_ticket"))
        return None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "red":
            event.stop()
            self.action_open_ticket()

    def action_open_ticket(self) -> None:
        ticket = self._selected_ticket()
        if ticket is not None:
            self._open_ticket(ticket)

    @work(group="lead-action", exit_on_error=False)
    async def _open_ticket(self, ticket: dict[str, Any]) -> None:
        full = ticket
        with contextlib.suppress(LeadSourceError):
            full = {**ticket, **await self.source.ticket(str(ticket["id"]))}
        await self.app.push_screen_wait(TicketView(full, ticket_label(ticket)))

    def action_escalate(self) -> None:
        ticket = self._selected_ticket()
        if ticket is not None:
            self._escalate(ticket)

    @work(group="lead-action", exit_on_error=False)
    async def _escalate(self, ticket: dict[str, Any]) -> None:
        label = ticket_label(ticket)
        reason = await self.app.push_screen_wait(
            TextPrompt(t("lead.escalate.title", ticket=label), t("lead.escalate.prompt"))
        )
        if reason is None:
            return
        what = t("lead.key.escalate")
        try:
            result = await self.source.escalate(str(ticket["id"]), reason)
        except LeadSourceError as exc:
            self._say(t("lead.action.failed", what=what, message=exc.message))
            return
        if result.ok:
            self._say(t("lead.action.done", what=what, ticket=label))
            self._dirty = True
        else:
            self._say(t("lead.action.failed", what=what, message=result.message))

    def action_reassign(self) -> None:
        ticket = self._selected_ticket()
        if ticket is not None:
            self._reassign(ticket)

    @work(group="lead-action", exit_on_error=False)
    async def _reassign(self, ticket: dict[str, Any]) -> None:
        label = ticket_label(ticket)
        assignee = await self.app.push_screen_wait(
            TextPrompt(t("lead.reassign.title", ticket=label), t("lead.reassign.prompt"))
        )
        if assignee is None:
            return
        what = t("lead.key.reassign")
        try:
            result = await self.source.reassign(
                str(ticket["id"]), assignee, int(ticket.get("revision") or 0)
            )
        except LeadSourceError as exc:
            self._say(t("lead.action.failed", what=what, message=exc.message))
            return
        if result.ok:
            self._say(t("lead.action.done", what=what, ticket=label))
            self._dirty = True
        else:
            self._say(t("lead.action.failed", what=what, message=result.message))

    def action_export(self, which: str) -> None:
        self._export(which)

    @work(exclusive=True, group="lead-export", exit_on_error=False)
    async def _export(self, which: str) -> None:
        day: date | None = None
        if which == "today":
            start = fmt.parse_time(self._summary("today").get("start"))
            day = start.date() if start is not None else self.clock().date()
        try:
            name, content = await self.source.daily_report_csv(day)
            folder = self.export_dir or default_export_dir()
            path = folder / Path(name).name
            await asyncio.to_thread(_write_file, path, content, own_folder=self.export_dir is None)
        except (LeadSourceError, OSError) as exc:
            message = exc.message if isinstance(exc, LeadSourceError) else str(exc)
            self._say(t("lead.export.failed", message=message))
            return
        self.last_export = path
        self._say(t("lead.export.done", path=str(path)))


def _red_clock(ticket: dict[str, Any], now: datetime, zone: tzinfo) -> tuple[datetime | None, bool]:
    """The ticket's next deadline and whether it is overdue at ``now``: the one rule both
    the red list and the headline count use."""
    due = deadline_of(ticket, now, zone)
    return due, bool(ticket.get("overdue")) or (due is not None and due <= now)


def _category_label(ticket: dict[str, Any]) -> str:
    sub = ticket.get("urgent_subcategory")
    return subcategory_label(sub) if sub else category_label(ticket.get("category"))


def _write_file(path: Path, content: bytes, *, own_folder: bool) -> None:
    """Write whole-or-nothing (a half-written report must never look like a finished one) and
    user-only: the report lists citizens' tickets. The default exports folder is the app's
    own and is made 0700; a folder the lead chose is created 0700 if missing, else left as
    it is."""
    from hotline.private_files import private_dir, write_private

    if own_folder:
        private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(path, content)


def _paint_volume(plt: Any, data: Any) -> None:
    labels, offered, answered = data
    if not labels:
        return
    xs = list(range(len(labels)))
    plt.plot(xs, list(offered), color="blue")  # the legend is the border's subtitle
    plt.plot(xs, list(answered), color="green")
    _hour_ticks(plt, labels)
    _count_axis(plt, max([*offered, *answered, 0]), "y")


def _paint_rate(plt: Any, data: Any) -> None:
    labels, rates, target = data
    plt.ylim(0, 100)
    plt.yticks(list(range(0, 101, 20)), [f"{y}%" for y in range(0, 101, 20)])
    if labels:
        plt.xlim(0, max(1, len(labels) - 1))
        _hour_ticks(plt, labels)
    plt.hline(target, color="red")
    if rates:
        plt.plot([x for x, _ in rates], [y for _, y in rates], color="green", marker="dot")


def count_ticks(top: int, most: int = 5) -> list[int]:
    """Whole-number ticks from 0 up to at least ``top`` (at most ``most`` of them), in steps
    of 1, 2, 5, 10, 20, 50 ...: a count of calls has no 2.5 and no -1."""
    top = max(1, int(top))
    step = 1
    while -(-top // step) > most - 1:
        step = _next_step(step)
    last = -(-top // step) * step
    return list(range(0, last + 1, step))


def _next_step(step: int) -> int:
    return step * 5 // 2 if str(step)[0] == "2" else step * 2


def _count_axis(plt: Any, top: int, axis: str) -> None:
    ticks = count_ticks(top)
    if axis == "y":
        plt.ylim(0, ticks[-1])
        plt.yticks(ticks, [str(x) for x in ticks])
    else:
        plt.xlim(0, ticks[-1])
        plt.xticks(ticks, [str(x) for x in ticks])


def _hour_ticks(plt: Any, labels: tuple[str, ...]) -> None:
    step = max(1, len(labels) // 6)
    xs = list(range(0, len(labels), step))
    plt.xticks(xs, [labels[x] for x in xs])


def lead_mode(server_url: str, token: str, **kwargs: Any) -> Callable[[], LeadPanelScreen]:
    """A screen factory for ``App.add_mode("lead", lead_mode(url, token))``: the screen gets
    its own :class:`HttpLeadSource` and closes it when it goes away."""
    from agent_tui.lead.source import HttpLeadSource

    def make() -> LeadPanelScreen:
        source = HttpLeadSource(server_url, token)
        return LeadPanelScreen(source, owns_source=True, **kwargs)

    return make
