"""The shift-lead panel on a fixed morning: layout in both languages, in-place rows, sort and
filter, one-key actions, export, link loss and alerts. (Figures against a real server:
test_lead_live.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from agent_tui.i18n import set_language
from agent_tui.lead import LEAD_BINDING_IDS, LeadPanelScreen, LinkDown
from agent_tui.lead.alerts import AlertSettings, compute_alerts
from agent_tui.lead.widgets import KeyedTable
from tests.tui.lead.frozen import NOW, FrozenSource

SIZE = (160, 48)


class PanelApp(App[None]):
    def __init__(self, screen: LeadPanelScreen) -> None:
        super().__init__()
        self.panel = screen

    def on_mount(self) -> None:
        self.push_screen(self.panel)


@pytest.fixture(autouse=True)
def _zh_after() -> Iterator[None]:
    yield
    set_language("zh")


async def until_loaded(pilot: Pilot[Any], count: int = 1) -> None:
    screen = pilot.app.screen
    for _ in range(200):
        if isinstance(screen, LeadPanelScreen) and screen.refresh_count >= count:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def panel_app(source: Any = None, **kw: Any) -> PanelApp:
    return PanelApp(LeadPanelScreen(source or FrozenSource(), clock=lambda: NOW, **kw))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_panel_snapshot(lang: str, snap_compare: Any) -> None:
    set_language(lang)
    assert snap_compare(panel_app(), terminal_size=SIZE, run_before=until_loaded)


def test_binding_ids_are_dotted_and_unique() -> None:
    assert all(b.startswith("lead.") for b in LEAD_BINDING_IDS)
    assert {"lead.window_next", "lead.export", "lead.escalate"} <= LEAD_BINDING_IDS.keys()
    panel_keys = [k for b, k in LEAD_BINDING_IDS.items() if not b.startswith("lead.dialog")]
    assert len(set(panel_keys)) == len(panel_keys)


async def test_window_switch_filter_sort_and_rows_in_place() -> None:
    source = FrozenSource()
    app = panel_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        screen = app.panel
        assert screen.query_one("#fig-offered").value == "62"
        seats = screen.query_one("#seats", KeyedTable)
        rows_before = dict(seats.rows)
        await pilot.press("3")  # last 15 minutes
        await until_loaded(pilot, 2)
        assert screen.window == "15m"
        fifteen = source.summaries["15m"]["calls"]
        assert screen.query_one("#fig-offered").value == str(fifteen["offered"])
        # agent01 goes on a call: its cell changes, and no row is rebuilt
        source.summaries["15m"]["seats_table"][1].update(state="on_call", since=NOW.isoformat())
        screen.action_refresh_now()
        await until_loaded(pilot, 3)
        assert seats.get_cell("agent01", "state").text == "通话中"
        assert seats.rows.keys() == rows_before.keys()
        assert all(seats.rows[k] is row for k, row in rows_before.items())
        await pilot.press("1")  # back to today's figures
        await pilot.press("f")  # break > 15 min: only agent02 (22 minutes)
        assert [k.value for k in seats.rows] == ["agent02"]
        for _ in range(4):
            await pilot.press("f")
        assert screen.seat_filter == "all" and seats.row_count == 9
        await pilot.press("s", "s")  # sort by time in state
        assert seats.sort_column == "in_state"
        first = seats.coordinate_to_cell_key((0, 0)).row_key.value
        assert first == "agent01"  # 30 seconds in state
        await pilot.press("S")
        assert seats.coordinate_to_cell_key((0, 0)).row_key.value == "手语坐席"


async def test_escalate_asks_for_a_reason_and_says_it_was_sent() -> None:
    source = FrozenSource()
    app = panel_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        red = app.panel.query_one("#red", KeyedTable)
        red.focus()
        assert red.current_key() == "r1"  # sorted by deadline: the overdue ones first
        red.move_cursor(row=red.get_row_index("r2"))
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("enter")  # empty reason is refused
        assert source.escalated == []
        await pilot.press(*"no unit answered")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert source.escalated == [("r2", "no unit answered")]
        assert "20260315-000019" in app.panel.status_text


async def test_export_writes_the_csv_and_shows_the_path(tmp_path: Path) -> None:
    app = panel_app(export_dir=tmp_path / "exports")
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        await pilot.press("x")
        for _ in range(100):
            if app.panel.last_export is not None:
                break
            await pilot.pause(0.02)
        path = tmp_path / "exports" / "hotline-daily-2026-03-15.csv"
        assert app.panel.last_export == path and path.read_bytes() == b"date,queue\n"
        assert str(path) in app.panel.status_text


class DroppingSource(FrozenSource):
    """Answers once, then the link is gone."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def summary(self, window: str) -> dict[str, Any]:
        self.calls += 1
        if self.calls > 2:
            raise LinkDown("connection refused")
        return await super().summary(window)

    async def events(self) -> Any:
        raise LinkDown("connection refused")
        yield  # pragma: no cover


async def test_link_drop_is_shown_with_the_age_of_the_data() -> None:
    clock = [NOW]
    source = DroppingSource()
    app = PanelApp(LeadPanelScreen(source, clock=lambda: clock[0], fallback_seconds=1))
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        clock[0] = NOW + timedelta(seconds=42)
        for _ in range(150):
            if app.panel.link_up is False and source.calls > 2:
                break
            await pilot.pause(0.02)
        app.panel._render_link()
        text = str(app.panel.query_one("#link").content)
        assert "连接中断" in text and "10:30:00" in text and "42 秒" in text
        assert app.panel.query_one("#fig-offered").value == "62"  # the last data stays
        assert app.panel.has_class("-stale")  # ... greyed out


def test_alerts_from_thresholds() -> None:
    settings = AlertSettings(waiting_threshold=3)
    low = {"calls": {"offered": 20, "answer_rate": 0.9}, "queue_now": {"calls_waiting": 4}}
    ok = {"calls": {"offered": 20, "answer_rate": 0.96}, "queue_now": {"calls_waiting": 3}}
    soon = {
        "id": "a",
        "number": "N1",
        "urgency": "red",
        "deadline": (NOW + timedelta(minutes=4)).isoformat(),
    }
    later = {
        "id": "b",
        "number": "N2",
        "urgency": "red",
        "deadline": (NOW + timedelta(minutes=6)).isoformat(),
    }
    normal = {"id": "c", "number": "N3", "urgency": "normal", "overdue": True,
              "deadline": (NOW - timedelta(minutes=6)).isoformat()}  # fmt: skip
    keys = [a.key for a in compute_alerts(low, [soon, later, normal], NOW, settings)]
    assert keys == ["lead.alert.answer_rate", "lead.alert.waiting", "lead.alert.red_due"]
    assert compute_alerts(ok, [later], NOW, settings) == []
    # no calls offered: no rate, no alert (a rate over nothing is not "under target")
    assert compute_alerts({"calls": {"offered": 0, "answer_rate": None}}, [], NOW, settings) == []
    assert datetime.fromisoformat(soon["deadline"]) > NOW


async def test_a_keymap_remaps_the_panel_by_binding_id() -> None:
    app = panel_app()
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        app.set_keymap({"lead.window_next": "n"})
        await pilot.press("n")
        assert app.panel.window == "60m"


class ModeApp(App[None]):
    """An app that installs the panel as a mode by class, like the desk does."""

    def __init__(self, source: Any) -> None:
        super().__init__()
        self.source = source
        self.closed = False

    def on_mount(self) -> None:
        self.add_mode("lead", LeadPanelScreen)
        self.switch_mode("lead")

    def lead_source(self) -> Any:
        return self.source


async def test_a_mode_built_from_the_class_asks_the_app_for_its_source() -> None:
    app = ModeApp(FrozenSource())
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        assert app.screen.query_one("#fig-offered").value == "62"

    class NoHook(ModeApp):
        lead_source = None  # type: ignore[assignment]

    bare = NoHook(None)
    async with bare.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(bare.screen, LeadPanelScreen)
        assert "未连接服务器" in (bare.screen.denied or "")


class SlowSource(FrozenSource):
    """Holds every answer until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def summary(self, window: str) -> dict[str, Any]:
        await self.gate.wait()
        return await super().summary(window)


async def test_keys_work_while_a_fetch_is_under_way() -> None:
    source = SlowSource()
    app = panel_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert app.panel.refresh_count == 0  # the first fetch is waiting on the server
        await pilot.press("2", "f")  # the panel still answers keys
        assert app.panel.window == "60m" and app.panel.seat_filter == "break_15"
        source.gate.set()
        await until_loaded(pilot, 2)  # the fetch begun for "today" lands, then one for "60m"
        assert app.panel.refresh_count >= 2
        assert app.panel.query_one("#fig-offered").value == str(
            source.summaries["60m"]["calls"]["offered"]
        )


async def test_the_bell_rings_once_for_each_new_alert() -> None:
    app = panel_app(bell=True, alert_settings=AlertSettings(min_offered=1))
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await until_loaded(pilot)
        assert len(app.panel.alerts) == 2 and rings == [1]
        app.panel.action_refresh_now()
        await until_loaded(pilot, 2)
        assert rings == [1]  # the same alerts: no second ring
        await pilot.press("b")
        assert app.panel.bell_on is False
