"""What a sync round posts to the UI (issue 14), without losing an update.

A round reports two states or more (syncing, then online), several a second while another
agent pushes; each was a status read and a redraw between the agent's keys. The app now shows
the newest state once per ``STATUS_SETTLE_SECONDS``, reads the status one read at a time (a
read asked during one runs again after it), and a screen that was off screen when the cache
changed (the queue while the agent types in intake) reloads when it comes back.

The desk's own replicator is stopped where a test posts the replicator's reports itself, so
that nothing else reports meanwhile; the reports are the app's real messages.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from agent_tui.app import build_app
from agent_tui.config import Settings
from agent_tui.messages import SyncStateChanged
from agent_tui.screens.intake import IntakeScreen
from agent_tui.services import DeskServices
from agent_tui.widgets.status_bar import StatusBar
from hotline.model import TicketFields
from offline_cache.replicator import LinkState, SyncSnapshot
from tests.support.server import RunningServer
from tests.tui.conftest import run_in_thread, sign_in, until
from tests.tui.test_desk_offline import post_ticket
from tests.tui.test_desk_queue import queue_table


def quiet_app(server_url: str) -> Any:
    """The desk as the tests build it, without the once-a-second status read (the tests
    count status reads)."""
    settings = Settings(server=server_url)
    desk = DeskServices(settings, sync_options={"pull_interval": 0.5, "backoff_cap": 0.5})
    return build_app(settings, desk=desk, tick_seconds=3600)


def count_reloads(screen: Any) -> list[int]:
    """Each time the app tells ``screen`` that the cache changed."""
    reloads: list[int] = []
    original = screen.cache_changed

    def cache_changed() -> None:
        reloads.append(1)
        original()

    screen.cache_changed = cache_changed
    return reloads


def count_status_reads(app: Any) -> list[int]:
    reads: list[int] = []
    original = app.desk.status

    def status(now: datetime) -> Any:
        reads.append(1)
        return original(now)

    app.desk.status = status
    return reads


async def sign_in_online(pilot: Any, app: Any) -> None:
    """Signed in and the first sync round done: the bar says online."""
    await sign_in(pilot)
    await until(pilot, lambda: app.status.link == "online", "online")


def snapshot(cursor: int, state: LinkState = LinkState.ONLINE) -> SyncSnapshot:
    return SyncSnapshot(state, 0, None, 0, None, datetime.now(UTC), cursor)


async def test_a_burst_of_sync_states_is_one_status_read_and_the_newest_is_kept(
    server: RunningServer,
) -> None:
    app = quiet_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in_online(pilot, app)
        await app.desk.stop_sync(wait=True)
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)
        reloads = count_reloads(app.screen)
        reads = count_status_reads(app)
        session, cursor = app._sync_session, app._cursor

        # five rounds' states in a burst, the cursor moving in each: one read, one reload,
        # and the cursor the app knows is the last one's
        for i in range(1, 6):
            state = LinkState.SYNCING if i % 2 else LinkState.ONLINE
            app.post_message(SyncStateChanged(session, snapshot(cursor + i, state)))
        await until(pilot, lambda: reads and app._sync_pending is None, "the burst shown")
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)
        assert (len(reads), len(reloads), app._cursor) == (1, 1, cursor + 5)

        # a state after the burst was shown is shown too (its own flush)
        app.post_message(SyncStateChanged(session, snapshot(cursor + 6)))
        await until(pilot, lambda: app._cursor == cursor + 6, "the next round's cursor")
        await until(pilot, lambda: len(reads) == 2 and len(reloads) == 2, "its read and reload")

        # a replicator of an earlier session (stopped at sign-out) is not shown
        app.post_message(SyncStateChanged(session - 1, snapshot(cursor + 7)))
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 3)
        assert (len(reads), len(reloads), app._cursor) == (2, 2, cursor + 6)


async def test_a_rounds_end_is_shown_at_once_and_only_syncing_waits_for_the_settle_time(
    server: RunningServer,
) -> None:
    """A round the replicator ran in a pause of the keys is shown in that pause: its end
    (online, offline, ...) is read as soon as the messages queued before it are handled,
    not a settle time later (that put the read into the next keys); "syncing" alone still
    waits the settle time, so a short round never flashes it."""
    app = quiet_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in_online(pilot, app)
        await app.desk.stop_sync(wait=True)
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)
        app.STATUS_SETTLE_SECONDS = 600.0  # only a round's end can be shown in this test
        reloads = count_reloads(app.screen)
        reads = count_status_reads(app)
        session, cursor = app._sync_session, app._cursor

        app.post_message(SyncStateChanged(session, snapshot(cursor, LinkState.SYNCING)))
        await until(pilot, lambda: app._sync_pending is not None, "the syncing state taken")
        for _ in range(5):
            await pilot.pause(0.05)
        assert (reads, app._sync_pending[1].state) == ([], LinkState.SYNCING)

        # the round ends (a page pulled): one read, one reload, the new cursor
        app.post_message(SyncStateChanged(session, snapshot(cursor + 1)))
        await until(pilot, lambda: reads and app._sync_pending is None, "the round's end shown")
        for _ in range(5):
            await pilot.pause(0.05)
        assert (len(reads), len(reloads), app._cursor) == (1, 1, cursor + 1)

        # a round ended offline is shown at once too
        app.post_message(SyncStateChanged(session, snapshot(cursor + 1, LinkState.OFFLINE)))
        await until(pilot, lambda: len(reads) == 2, "the offline round's end shown")
        assert app._sync_pending is None and len(reloads) == 1  # the cursor did not move


async def test_a_status_read_asked_during_one_is_read_again_after_it(
    server: RunningServer,
) -> None:
    """The first read answers after a save made while it ran (it saw no outbox): the bar
    must end on the second read's figures, not on the late answer of the first."""
    app = quiet_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in_online(pilot, app)
        await app.desk.stop_sync(wait=True)
        await until(pilot, lambda: app.status.outbox == 0, "an empty outbox")
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)

        original = app.desk.status
        first_read = threading.Event()
        release = threading.Event()
        calls: list[int] = []

        def status(now: datetime) -> Any:
            calls.append(1)
            answer = original(now)
            if len(calls) == 1:
                first_read.set()
                release.wait(20)  # bounded; the test sets it below
            return answer

        app.desk.status = status
        app.refresh_status()
        assert await run_in_thread(lambda: first_read.wait(20))
        await run_in_thread(
            lambda: app.desk.store.create_ticket(
                TicketFields(phone="13800000000", caller_name="读两次"),
                call_started_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
            )
        )
        app.refresh_status()  # as a save does (poke_sync)
        await pilot.pause(0.2)
        release.set()
        await until(pilot, lambda: len(calls) == 2, "the second read")
        await until(pilot, lambda: app.status.outbox == 1, "the save counted")
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)
        assert app.status.outbox == 1
        bar = str(app.screen.query_one(StatusBar).render())
        assert "待上传 1" in bar


async def test_a_ticket_pulled_while_the_queue_is_off_screen_shows_when_it_opens(
    server: RunningServer,
) -> None:
    app = quiet_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in_online(pilot, app)
        app.action_open_queue()
        await until(pilot, lambda: (t := queue_table(app)) and t.loaded, "the queue")
        table = queue_table(app)
        assert table is not None
        before = table.total

        app.action_open_intake()
        await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "intake")
        ticket = await run_in_thread(lambda: post_ticket(server, "agent1", "队列不在屏幕上时拉下"))
        await until(pilot, lambda: app.desk.ticket(ticket["id"]) is not None, "the pull")
        # the pull's report shown (its reload asked for), the queue still off screen
        await until(pilot, lambda: app._sync_pending is None, "the pull shown")
        await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)
        assert table.total == before  # nothing loaded behind the agent's back

        app.action_open_queue()
        await until(pilot, lambda: queue_table(app) is table, "the same queue again")
        await until(pilot, lambda: table.total == before + 1, "the pulled ticket in the queue")


async def test_the_status_bar_ends_on_the_replicators_last_state(server: RunningServer) -> None:
    """With the replicator running and another client of the same agent saving: once the
    rounds settle, the bar says online with an empty outbox, as the cache does."""
    app = quiet_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in_online(pilot, app)
        for i in range(3):
            await run_in_thread(lambda i=i: post_ticket(server, "agent1", f"连续第{i}轮"))
        await until(
            pilot,
            lambda: app.desk.store.sync_meta().cursor == app._cursor,
            "the last round's cursor shown",
        )
        stats = await run_in_thread(app.desk.store.outbox_stats)
        await until(
            pilot,
            lambda: app.status.link == "online" and app.status.outbox == stats.size,
            "the bar on the last state",
        )
        bar = str(app.screen.query_one(StatusBar).render())
        assert "在线" in bar and f"待上传 {stats.size}" in bar
