"""Typing stays on the UI loop, everything slow stays off it (issue 14).

Keystroke latency is measured in benchmarks/bench_keystroke.py; these tests pin the cause of a
slow key instead: while an agent types into the intake form, the thread that runs Textual's
event loop never reads the cache (SQLCipher: a page read is a decrypt, a commit an fsync) nor
the keyring (a password-protected keyring spends ~0.6 s of Argon2 per read), and does none of
the replicator's network work (HTTP requests, the event stream's parsing, validating pulled
pages) while another agent's pushes keep it busy. The lookups the form makes (caller
history, open duplicates, address) run in debounced thread workers; the replicator on a
thread of its own.

And the queue's search: a word typed key by key costs one worker round trip, for the word
the agent settled on, and the rows shown are that word's.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import keyring
import pytest

import offline_cache.replicator as replicator_module
from agent_tui.screens import queue as queue_screen
from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.queue import QueueScreen
from agent_tui.widgets.queue_table import QueueTable
from hotline.model import TicketFields
from tests.support.server import RunningServer
from tests.tui.conftest import USERS, make_app, run_in_thread, sign_in, until

PHONE = "13812345678"
ADDRESS = "徐汇区漕溪北路100号B座3单元502室门口的路灯坏了两个星期晚上很黑老人出门不便"
TYPED = 50


class ThreadLedger:
    """Which thread made each cache or keyring call, by what was called."""

    def __init__(self) -> None:
        self.loop_thread = threading.get_ident()  # Pilot runs the app's loop in this thread
        self.on_loop: Counter[str] = Counter()
        self.elsewhere: Counter[str] = Counter()
        self.recording = False

    def anywhere(self, what: str) -> int:
        return self.on_loop[what] + self.elsewhere[what]

    def note(self, what: str) -> None:
        if not self.recording:
            return
        if threading.get_ident() == self.loop_thread:
            self.on_loop[what] += 1
        else:
            self.elsewhere[what] += 1


def watch_store(store: Any, ledger: ThreadLedger) -> None:
    """Every store method reads or writes through ``_read``/``_write``: note their thread."""
    for name in ("_read", "_write"):
        original = getattr(store, name)

        @contextmanager
        def wrapped(_original: Any = original, _name: str = name) -> Iterator[Any]:
            ledger.note(f"cache.{_name}")
            with _original() as conn:
                yield conn

        setattr(store, name, wrapped)


def watch_keyring(monkeypatch: pytest.MonkeyPatch, ledger: ThreadLedger) -> None:
    backend = keyring.get_keyring()
    for name in ("get_password", "set_password", "delete_password"):
        original = getattr(backend, name)

        def wrapped(*args: Any, _original: Any = original, _name: str = name) -> Any:
            ledger.note(f"keyring.{_name}")
            return _original(*args)

        monkeypatch.setattr(backend, name, wrapped)


def watch_sync(monkeypatch: pytest.MonkeyPatch, ledger: ThreadLedger) -> None:
    """The replicator's network work: every request it sends (httpx's async client: the desk
    itself sends none while the agent types), every event of the stream it parsed, every
    pulled page it validated before applying it."""
    send = httpx.AsyncClient.send

    async def sending(client: httpx.AsyncClient, *args: Any, **kwargs: Any) -> Any:
        ledger.note("sync.request")
        return await send(client, *args, **kwargs)

    dispatch = replicator_module.Replicator._dispatch

    def dispatching(replicator: Any, sse: Any) -> None:
        ledger.note(f"sync.event.{sse.event}")
        dispatch(replicator, sse)

    page = replicator_module.PullResponse

    class NotedPage:
        @staticmethod
        def model_validate(raw: Any) -> Any:
            ledger.note("sync.pull_page")
            return page.model_validate(raw)

    monkeypatch.setattr(httpx.AsyncClient, "send", sending)
    monkeypatch.setattr(replicator_module.Replicator, "_dispatch", dispatching)
    monkeypatch.setattr(replicator_module, "PullResponse", NotedPage)


class SecondAgent:
    """Another agent of the same server pushing a new ticket every 0.2 s from a thread of
    its own (bounded: at most 200 tickets), so the desk's replicator is poked and pulls
    while the first agent types."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.pushed = 0
        self.thread = threading.Thread(target=self._push, name="second-agent", daemon=True)

    def __enter__(self) -> SecondAgent:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)

    def _push(self) -> None:
        import uuid

        login = {"username": "agent2", "password": USERS["agent2"][1]}
        with httpx.Client(base_url=self.url, timeout=10) as client:
            token = client.post("/api/v1/auth/login", json=login).json()["access_token"]
            client_id = str(uuid.uuid4())
            for i in range(1, 201):
                if self.stop.is_set():
                    return
                at = datetime.now(UTC).isoformat()
                mutation = {
                    "mutation_id": i,
                    "name": "create_ticket",
                    "args": {
                        "id": str(uuid.uuid4()),
                        "caller_name": "李四",
                        "phone": f"1391234{i:04d}",
                        "address": f"人民路{i}号",
                        "account": f"第二位坐席的工单 {i}",
                        "call_started_at": at,
                        "created_at": at,
                        "disposition": "pending",
                    },
                    "client_time": at,
                }
                answer = client.post(
                    "/api/v1/sync/push",
                    json={"client_id": client_id, "mutations": [mutation]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                if answer.status_code == 200:
                    self.pushed += 1
                self.stop.wait(0.2)


async def test_typing_fifty_characters_reads_no_cache_or_keyring_on_the_ui_loop(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = ThreadLedger()
    watch_keyring(monkeypatch, ledger)
    watch_sync(monkeypatch, ledger)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await until(pilot, lambda: screen.query("#f-phone"), "the phone field")
        watch_store(app.desk.store, ledger)
        await until(pilot, lambda: app.desk.replicator is not None, "sync running")

        await until(pilot, lambda: app.status.link == "online", "online")

        with SecondAgent(server.url) as second:
            await until(pilot, lambda: second.pushed >= 1, "the second agent's first ticket")
            ledger.recording = True
            typed = 0
            for field, text in (("phone", PHONE), ("address", ADDRESS)):
                screen.query_one(f"#f-{field}").focus()
                await pilot.pause()
                for char in text[: TYPED - typed]:
                    await pilot.press(char)
                    typed += 1
            # the form's own lookups and the autosave run once the keys stop: let them
            await until(pilot, lambda: screen.draft_id is not None, "the autosaved draft")
            await until(
                pilot, lambda: screen._phone_looked_up.startswith(PHONE), "the caller lookup"
            )
            # ... and the replicator: the second agent's tickets reach this desk
            await until(pilot, lambda: ledger.anywhere("sync.pull_page") >= 2, "pulls")
            await pilot.pause(0.3)
            ledger.recording = False

        assert typed == TYPED
        assert screen.values()["phone"] == PHONE
        assert screen.values()["address"] == ADDRESS[: TYPED - len(PHONE)]
        # nothing on the loop thread: not the form, not the status bar, not the sync
        assert ledger.on_loop == Counter(), ledger.on_loop
        # ... and the work did happen, in workers (the test would pass vacuously otherwise)
        assert ledger.elsewhere["cache._write"] >= 1, ledger.elsewhere  # the draft, pulls
        assert ledger.elsewhere["cache._read"] >= 2, ledger.elsewhere  # lookups, status
        assert ledger.elsewhere["sync.request"] >= 2, ledger.elsewhere  # pulls (and pushes)
        assert ledger.elsewhere["sync.event.poke"] >= 1, ledger.elsewhere  # the stream
        draft = await run_in_thread(app.desk.latest_draft)
        assert draft is not None and draft.values["phone"] == PHONE


async def test_a_filter_typed_key_by_key_is_one_round_trip_showing_its_rows(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A settle time no loaded test machine can exceed between two of Pilot's key presses,
    # so "the filter settled once" is what the test checks, not how fast keys were sent.
    monkeypatch.setattr(queue_screen, "SEARCH_SETTLE_SECONDS", 3.0)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        for i, address in enumerate(("人民路123号", "人民路45号", "南京西路123号")):
            await run_in_thread(lambda a=address, n=i: _save(app, a, n))
        app.action_open_queue()
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await until(pilot, lambda: screen.query(QueueTable), "the queue's list")
        table = screen.query_one(QueueTable)
        screen.action_view("all")
        await until(pilot, lambda: table.total == 3 and table.loaded, "the three tickets")
        # synced (the server's numbers shown): no pull will reload the list while we type
        await until(pilot, lambda: app.status.outbox == 0, "the tickets pushed")
        await until(
            pilot,
            lambda: table.loaded and all(table.row_at(i).number for i in range(3)),  # type: ignore[union-attr]
            "the server's numbers",
        )
        # No sync round may reload the list while we type: stop the replicator, then let the
        # last state it reported reach the screen (the bar shows it after a settle time).
        await app.desk.stop_sync(wait=True)
        await until(pilot, lambda: app._sync_flush is None, "the last sync state shown")
        await until(pilot, lambda: table.loaded, "the reload it caused")
        await pilot.pause(0.5)

        asked: list[str] = []
        original = app.desk.queue_page

        def counted(query: Any) -> Any:
            asked.append(query.text)
            return original(query)

        monkeypatch.setattr(app.desk, "queue_page", counted)
        screen.action_focus_search()
        await pilot.pause()
        for char in "人民路123":
            await pilot.press(char)
        assert asked == []  # nothing asked while the keys come
        await until(pilot, lambda: table.total == 1 and table.loaded, "the filtered rows")
        await pilot.pause(0.3)
        assert asked == ["人民路123"]  # one round trip, for the settled word
        row = table.row_at(0)
        assert row is not None and row.address == "人民路123号"
        assert table.row_at(1) is None


def _save(app: Any, address: str, n: int) -> None:
    fields = TicketFields(
        phone=f"1381234{n:04d}", address=address, caller_name="张三", account="路灯不亮"
    )
    app.desk.store.create_ticket(fields, call_started_at=datetime.now(UTC))
