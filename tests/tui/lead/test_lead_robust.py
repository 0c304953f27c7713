"""The panel draws what it can of malformed server data and says what it cannot, without
calling it "server refused" or a dropped link; actions on an uncomposed panel do nothing."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from agent_tui.i18n import set_language
from agent_tui.lead import LeadPanelScreen
from tests.tui.lead.frozen import NOW, FrozenSource
from tests.tui.lead.test_lead_panel import PanelApp, until_loaded


@pytest.fixture(autouse=True)
def _en() -> Iterator[None]:
    set_language("en")
    yield
    set_language("zh")


class MalformedSource(FrozenSource):
    """Today's summary with fields of the wrong type; a broken seat row; a red "ticket"
    that is a string; the 15-minute summary not an object at all."""

    def __init__(self) -> None:
        super().__init__()
        today = copy.deepcopy(self.summaries["today"])
        today["calls"] = {"offered": "many", "answer_rate": "high", "answered": [1]}
        today["queue_now"] = "nobody"
        today["seats_table"] = [*today["seats_table"][:2], "not a seat", {"since": 5}]
        today["series"] = [{"start": 3, "offered": "x"}]
        today["end"] = "not a time"
        self.summaries["today"] = today
        self.summaries["15m"] = ["not", "an", "object"]  # type: ignore[assignment]

    async def red_tickets(self) -> list[dict[str, Any]]:
        rows = await super().red_tickets()
        return [*rows, "junk"]  # type: ignore[list-item]


async def test_malformed_server_data_is_said_as_such_and_the_panel_keeps_working() -> None:
    screen = LeadPanelScreen(MalformedSource(), clock=lambda: NOW)
    app = PanelApp(screen)
    async with app.run_test(size=(160, 48)) as pilot:
        await until_loaded(pilot)
        assert screen.denied is None
        assert screen.link_up is True  # the server answered: no "link down"
        assert "refused" not in screen.status_text
        assert screen.status_text.startswith("The panel cannot show:"), screen.status_text
        assert screen.render_errors  # which parts, and why, for the log
        red = screen.query_one("#red")
        assert red.row_count == 4  # the four real tickets; the junk row left out
        for key in ("1", "2", "3", "s", "S", "f", "f", "b", "w"):
            await pilot.press(key)
            await pilot.pause()
        assert app.is_running and app.screen is screen
        assert "refused" not in screen.status_text


async def test_a_panel_not_composed_yet_takes_actions_and_redraws_quietly() -> None:
    screen = LeadPanelScreen(FrozenSource(), clock=lambda: NOW)
    screen._render_all()
    screen.action_sort()
    screen.action_sort_reverse()
    screen.action_filter()
    screen.action_window("60m")
    screen.action_window_next()
    screen.action_bell()
    screen._say("hello")
    assert screen.window == "15m" and screen.seat_filter == "break_15"
