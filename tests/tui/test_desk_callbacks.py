"""The missed-call callback list (漏接回拨) in the desk, against a real server process.

Abandoned calls go in through the telephony API; the agent opens the list with its key
(``app.callbacks``), reads who called and how long they waited in columns that line up with
Chinese text, takes a callback, records no-answer then reached; a second agent who tries to
take the same caller is told who has it, in the UI's language.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.cells import cell_len

from agent_tui.screens.callbacks import COLUMNS, CallbacksScreen, row_cells
from agent_tui.screens.dialogs import ChoiceDialog
from tests.support.server import RunningServer, start_server
from tests.tui.conftest import USERS, make_app, run_in_thread, screen_text, sign_in, until

TELEPHONY = "telephony-callbacks-token"
NUMBER = "13700001111"
OTHER = "13700002222"


@pytest.fixture
def cb_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(
        f"sqlite:///{tmp_path / 'cb.db'}",
        tmp_path,
        users=USERS,
        extra_env={"HOTLINE_TELEPHONY_TOKEN": TELEPHONY},
    )
    yield running
    running.stop()


def abandon(server: RunningServer, call_id: str, number: str, waited: int, ago: int) -> None:
    """A caller waited ``waited`` seconds and hung up ``ago`` seconds ago."""
    gone = datetime.now(UTC) - timedelta(seconds=ago)
    events = [
        {"event_id": f"{call_id}-o", "type": "offered", "call_id": call_id, "caller_number": number,
         "queue": "main", "at": (gone - timedelta(seconds=waited)).isoformat()},
        {"event_id": f"{call_id}-x", "type": "abandoned", "call_id": call_id,
         "at": gone.isoformat()},
    ]  # fmt: skip
    r = httpx.post(
        server.url + "/api/v1/telephony/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {TELEPHONY}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def claim_as(server: RunningServer, user: str, password: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        token = c.post("/api/v1/auth/login", json={"username": user, "password": password}).json()[
            "access_token"
        ]
        h = {"Authorization": f"Bearer {token}"}
        entry = next(
            e
            for e in c.get("/api/v1/callbacks", headers=h).json()["callbacks"]
            if e["caller_number"] == OTHER
        )
        assert c.post(f"/api/v1/callbacks/{entry['id']}/claim", headers=h).status_code == 200


def cb_screen(app: Any) -> CallbacksScreen | None:
    return app.screen if isinstance(app.screen, CallbacksScreen) else None


def status_of(screen: CallbacksScreen, number: str) -> dict[str, Any] | None:
    return next((e for e in screen.entries.values() if e["caller_number"] == number), None)


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_agent_takes_a_callback_and_records_it(cb_server: RunningServer, lang: str) -> None:
    abandon(cb_server, "m1", NUMBER, waited=40, ago=600)
    abandon(cb_server, "m2", NUMBER, waited=95, ago=120)  # the same caller again: one entry
    abandon(cb_server, "m3", OTHER, waited=12, ago=300)
    await run_in_thread(lambda: claim_as(cb_server, "agent2", "pw-agent2"))
    app = make_app(cb_server.url, lang=lang)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await until(pilot, lambda: app.status.link == "online", "online")
        await pilot.press("alt+b")  # app.callbacks
        screen = await until(pilot, lambda: cb_screen(app), "the callback list")
        await until(pilot, lambda: screen.loaded and len(screen.entries) == 2, "two entries")
        mine = status_of(screen, NUMBER)
        assert mine is not None and mine["missed_calls"] == 2
        assert mine["longest_wait_seconds"] == pytest.approx(95)
        # what the agent reads: the number, how long they waited, how often they called
        text = screen_text(app)
        waited = "1分35秒" if lang == "zh" else "1m35s"
        assert NUMBER in text and waited in text
        taken = "回拨中·agent2" if lang == "zh" else "calling·agent2"
        assert taken in text
        # the columns line up by terminal cells, Chinese included
        for entry in screen.entries.values():
            cells = row_cells(entry)
            assert [cell_len(c) for c in cells] == [w for _, _, w in COLUMNS]

        # the oldest miss first: NUMBER (10 minutes ago) before OTHER (5 minutes ago)
        assert screen.order[0] == mine["id"]
        await pilot.press("enter")  # callbacks.take
        dialog = await until(
            pilot, lambda: app.screen if isinstance(app.screen, ChoiceDialog) else None,
            "the outcome question",
        )  # fmt: skip
        assert NUMBER in screen_text(app)
        await pilot.press("2")  # no answer
        await until(pilot, lambda: not isinstance(app.screen, ChoiceDialog), "dialog closed")
        assert dialog is not app.screen
        await until(
            pilot,
            lambda: (status_of(screen, NUMBER) or {}).get("attempts") == 1,
            "the first attempt recorded",
        )
        assert status_of(screen, NUMBER)["status"] == "open"  # type: ignore[index]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog), "asked again")
        await pilot.press("1")  # reached
        await until(
            pilot,
            lambda: (status_of(screen, NUMBER) or {}).get("status") == "done",
            "the callback done",
        )
        done = "已完成·已接通" if lang == "zh" else "done·reached"
        await until(pilot, lambda: done in screen_text(app), "the done entry shown")

        # agent2 holds OTHER: taking it is refused, saying who has it
        table = screen.query_one("#cb-table")
        table.move_cursor(row=screen.order.index(status_of(screen, OTHER)["id"]))  # type: ignore[attr-defined,index]
        await pilot.press("enter")
        refusal = "agent2 正在回拨这个号码" if lang == "zh" else "agent2 is calling this number"
        await until(pilot, lambda: refusal in screen_text(app), "the refusal")
        assert not isinstance(app.screen, ChoiceDialog)
        await pilot.press("escape")  # callbacks.close
        await until(pilot, lambda: cb_screen(app) is None, "the list closed")

    with httpx.Client(base_url=cb_server.url, timeout=10) as c:
        token = c.post(
            "/api/v1/auth/login", json={"username": "lead1", "password": "pw-lead1"}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        done_list = c.get("/api/v1/callbacks", params={"state": "done"}, headers=h).json()
        entry = next(e for e in done_list["callbacks"] if e["caller_number"] == NUMBER)
        full = c.get(f"/api/v1/callbacks/{entry['id']}", headers=h).json()
    assert [(h["agent"], h["outcome"], h["call_id"]) for h in full["history"]] == [
        ("agent1", "no_answer", "m2"),
        ("agent1", "reached", "m2"),
    ]


async def test_offline_the_list_says_the_server_is_needed(tmp_path: Path) -> None:
    from tests.support.server import free_port

    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(100, 30)) as pilot:
        from agent_tui.screens.signin import SignInScreen

        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        await pilot.press("escape")  # signin.offline: work offline
        await until(pilot, lambda: not isinstance(app.screen, SignInScreen), "offline")
        await pilot.press("alt+b")
        screen = await until(pilot, lambda: cb_screen(app), "the callback list")
        await until(
            pilot,
            lambda: "回拨列表在服务器上" in screen_text(app) or "请先登录" in screen_text(app),
            "the offline message",
        )
        assert not screen.entries
