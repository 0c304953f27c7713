"""The panel as a new lead meets it (issue 11): the red figure agrees with the red list
beside it, count charts count in whole numbers from 0, an 80x24 terminal still shows the
seats and the red tickets, and the answer-rate alert waits for enough calls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from agent_tui.i18n import set_language
from agent_tui.lead import LeadPanelScreen
from agent_tui.lead.alerts import AlertSettings, compute_alerts
from agent_tui.lead.screen import count_ticks
from agent_tui.lead.widgets import CountBars, KeyedTable
from tests.tui.conftest import screen_text
from tests.tui.lead.frozen import NOW, RED_TICKETS, FrozenSource
from tests.tui.lead.test_lead_panel import PanelApp, until_loaded


@pytest.fixture(autouse=True)
def _zh() -> Iterator[None]:
    set_language("zh")
    yield
    set_language("zh")


def panel(source: Any = None, **kw: Any) -> PanelApp:
    return PanelApp(LeadPanelScreen(source or FrozenSource(), clock=lambda: NOW, **kw))


class LateFlagSource(FrozenSource):
    """r2's deadline passed a minute ago; the server's escalation job has not flagged it yet
    (its ``urgent`` figure still counts only r1's stored flag)."""

    async def red_tickets(self) -> list[dict[str, Any]]:
        rows = [dict(t) for t in RED_TICKETS]
        for row in rows:
            if row["id"] == "r2":
                row["deadline"] = (NOW - timedelta(minutes=1)).isoformat()
        return rows


def red_rows(screen: LeadPanelScreen) -> list[tuple[str, str]]:
    """(ticket number, deadline cell) of each red-urgency row the list shows."""
    table = screen.query_one("#red", KeyedTable)
    out = []
    for key in table.rows:
        number = table.get_cell(key, "number")
        if "red" in number.style:
            out.append((number.text, table.get_cell(key, "deadline").text))
    return out


@pytest.mark.parametrize("source", [FrozenSource, LateFlagSource])
async def test_the_red_figure_counts_the_red_list_beside_it(source: type[FrozenSource]) -> None:
    app = panel(source())
    async with app.run_test(size=(160, 48)) as pilot:
        await until_loaded(pilot)
        screen = app.panel
        rows = red_rows(screen)
        overdue = [r for r in rows if r[1] == "已超时"]
        assert len(rows) == 3
        assert len(overdue) == (1 if source is FrozenSource else 2)
        assert screen.query_one("#fig-red").value == f"{len(rows)} / {len(overdue)}"


def test_count_ticks_are_whole_numbers_from_zero() -> None:
    for top in (0, 1, 3, 7, 12, 37, 99, 100, 333, 4_321):
        ticks = count_ticks(top)
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 5
        assert all(isinstance(x, int) for x in ticks)
        assert len({b - a for a, b in pairwise(ticks)}) == 1


async def test_count_charts_show_whole_numbers_and_no_negative_axis() -> None:
    app = panel()
    async with app.run_test(size=(160, 48)) as pilot:
        await until_loaded(pilot)
        await pilot.pause(0.2)
        volume = app.panel.query_one("#chart-volume")
        lines = screen_text(app).splitlines()
        region = volume.region
        shown = [line[region.x : region.right] for line in lines[region.y : region.bottom]]
        ticks = [m.group(1) for line in shown for m in [re.search(r"([^\s│]+)┤", line)] if m]
        assert ticks, shown
        assert all(re.fullmatch(r"\d+", x) for x in ticks), ticks  # no 1.5, no -1
        assert "0" in ticks
        # the legend is in Chinese, in the chart's frame
        assert "呼入" in shown[-1] and "接通" in shown[-1]
        bars = app.panel.query_one("#chart-categories", CountBars)
        names = [name for name, _ in bars.bars]
        assert "疫情防控" in names and "epidemic" not in names
        assert all(isinstance(n, int) and n >= 0 for _, n in bars.bars)


async def test_80x24_keeps_the_seats_and_the_red_tickets() -> None:
    app = panel()
    async with app.run_test(size=(80, 24)) as pilot:
        await until_loaded(pilot)
        await pilot.pause(0.2)
        screen = app.panel
        text = screen_text(app)
        for widget_id in ("#seats", "#red"):
            table = screen.query_one(widget_id, KeyedTable)
            visible = table.region.intersection(screen.region)
            assert table.display and visible.height >= 4, (widget_id, table.region)
        assert "agent00" in text and "agent01" in text and "agent02" in text
        assert "20260315-000007" in text and "20260315-000019" in text
        assert "3 / 1" in text  # the red figure too


def test_the_answer_rate_alert_waits_for_enough_offered_calls() -> None:
    def alerts(offered: int, settings: AlertSettings) -> list[str]:
        summary = {"calls": {"offered": offered, "answer_rate": 0.5}, "queue_now": {}}
        return [a.key for a in compute_alerts(summary, [], NOW, settings)]

    default = AlertSettings()
    assert default.min_offered == 20
    assert alerts(19, default) == []  # 2 of 4 calls missed at night is not an alarm
    assert alerts(20, default) == ["lead.alert.answer_rate"]
    fewer = AlertSettings(min_offered=5)
    assert alerts(4, fewer) == []
    assert alerts(5, fewer) == ["lead.alert.answer_rate"]


async def test_queues_and_categories_are_named_in_the_panels_language() -> None:
    app = panel()
    async with app.run_test(size=(160, 48)) as pilot:
        await until_loaded(pilot)
        queues = str(app.panel.query_one("#queues").content)  # type: ignore[attr-defined]
        assert "综合：" in queues and "医疗：" in queues and "general" not in queues
        red = app.panel.query_one("#red", KeyedTable)
        assert red.get_cell("n1", "category").text == "住房"  # category code "housing"
