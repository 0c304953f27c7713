"""Snapshots of intake, queue and ticket screens, Chinese and English, 80x24 and 160x48.

Deterministic on purpose: a fixed clock (app and cache), fixed ticket ids, a cache seeded
before the desk starts, and no server (the agent chose "work offline" at sign-in), so the
pictures change only when the layout does. Flows against a real server are the Pilot tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tui.app import build_app
from agent_tui.config import Settings
from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.queue import QueueScreen
from agent_tui.screens.ticket import TicketScreen
from agent_tui.services import DeskServices
from agent_tui.widgets.form_factory import write_value
from agent_tui.widgets.queue_table import QueueTable
from hotline.model import TicketFields
from offline_cache import open_cache
from tests.tui.conftest import until

NOW = datetime(2026, 3, 15, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
DEAD_SERVER = "http://127.0.0.1:9"
IDS = [f"0195a0b0-0000-7000-8000-{i:012d}" for i in range(1, 9)]
INTAKE_ID = "0195a0b0-0000-7000-8000-000000000099"

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
LANGS = ["zh", "en"]


def fixed_clock() -> datetime:
    return NOW


def seed_cache() -> None:
    """What an agent's cache holds after a morning: red, overdue, dispatched, closed."""
    store = open_cache("default", clock=fixed_clock)
    try:
        store.set_identity("agent1", "east", "agent")
        tickets = [
            ("李红梅", "13811110000", "闵行区莘庄镇莘松路8号", "血透中断，需要安排透析", "red", 10),
            ("赵建国", "13811112222", "浦东新区张江路100弄", "孩子发烧三十九度求医", "red", 50),
            ("王小明", "13812345678", "徐汇区漕溪北路100号", "小区门口的垃圾三天没有清运", "normal", 90),  # noqa: E501
            ("陈静", "02162345678", "静安区南京西路1号", "路灯坏了晚上很黑", "normal", 120),
            ("Alice Smith", "13900001111", "黄浦区中山东一路", "咨询外籍人士核酸检测点", "normal", 200),  # noqa: E501
        ]  # fmt: skip
        for i, (name, phone, address, account, urgency, minutes) in enumerate(tickets):
            fields = TicketFields(
                caller_name=name,
                phone=phone,
                address=address,
                account=account,
                urgency=urgency,
                kind="help" if urgency == "red" else "complaint",
                district="xuhui",
            )
            store.create_ticket(
                fields,
                ticket_id=IDS[i],
                call_started_at=NOW - timedelta(minutes=minutes),
                created_at=NOW - timedelta(minutes=minutes - 1),
            )
        store.add_note(IDS[2], "已联系街道环卫所，答复今天下午清运", created_at=NOW)
    finally:
        store.close()


def make_desk(lang: str) -> Any:
    seed_cache()
    settings = Settings(server=DEAD_SERVER, lang=lang)
    desk = DeskServices(settings, cache_clock=fixed_clock, sync_options={"listen": False})
    return build_app(settings, desk=desk, clock=fixed_clock, tick_seconds=3600)


async def offline_on_the_cache(pilot: Any) -> None:
    app = pilot.app
    await until(pilot, lambda: app.screen.__class__.__name__ == "SignInScreen", "sign-in")
    await pilot.press("escape")  # signin.offline: work on the cache
    await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "intake")
    await until(pilot, lambda: app.status.link == "signed_out" and app.status.outbox, "status")
    await until(pilot, lambda: app.screen.form is not None, "the form")


async def settle(pilot: Any, focus: str | None = None) -> None:
    """No toasts, a fixed focus, no blinking cursor: the picture is the same every run."""
    app = pilot.app
    await pilot.pause(0.3)
    app.clear_notifications()
    if focus is not None:
        app.screen.query_one(focus).focus()
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    await pilot.pause(0.3)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_intake_snapshot(snap_compare: Any, lang: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await offline_on_the_cache(pilot)
        screen = pilot.app.screen
        screen.ticket_id = INTAKE_ID
        screen._show_title()
        for field, value in (
            ("caller_name", "王小明"),
            ("phone", "12345"),
            ("address", "徐汇区漕溪北路100号"),
            ("account", "小区门口的垃圾三天没有清运，气味很大"),
        ):
            widget = screen.query_one(f"#f-{field}")
            write_value(widget, value)
            screen._changed(widget)
        # the half-typed phone's message appears once the keys pause: wait for it, not for
        # a fixed time (a loaded machine runs the pause's timer late)
        await until(pilot, lambda: screen._settle is None, "the messages after the pause")
        await settle(pilot, "#f-kind")

    assert snap_compare(make_desk(lang), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_queue_snapshot(snap_compare: Any, lang: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await offline_on_the_cache(pilot)
        await pilot.press("ctrl+o")
        app = pilot.app
        table = await until(
            pilot,
            lambda: (
                isinstance(app.screen, QueueScreen)
                and next(iter(app.screen.query(QueueTable)), None)
            ),
            "the queue",
        )
        await until(pilot, lambda: table.total == 5 and table.loaded, "the rows")
        app.screen.tick(NOW)
        await settle(pilot, "#queue")

    assert snap_compare(make_desk(lang), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("size", SIZES)
def test_ticket_snapshot(snap_compare: Any, lang: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await offline_on_the_cache(pilot)
        app = pilot.app
        await app.push_screen(TicketScreen(IDS[2]))
        await until(pilot, lambda: app.screen.ticket is not None, "the ticket")
        await settle(pilot, "#note")

    assert snap_compare(make_desk(lang), terminal_size=size, run_before=run_before)
