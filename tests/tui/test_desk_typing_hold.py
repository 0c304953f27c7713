"""While the agent types, sync rounds that only pull wait for the keys to pause (issue 14).

Another agent pushing pokes this desk several times a second; each round it started (a pull,
pulled pages applied, a checkpoint, state reports the bar redraws for) landed between the
agent's keys. The desk now holds such a round until the keys pause (``typing_quiet``), at
most ``typing_hold`` seconds, and never holds a local save's push; the app's once-a-second
status read skips at most ``TICK_HOLD_TICKS`` ticks while the keys go on. The tests count and order
(what is in the desk's cache while the keys go on, and after), with the two durations set
so that only the rule under test can release a round: no wall-clock threshold is asserted.

All on the real server (another agent's tickets through its REST API) and Pilot's keys.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from agent_tui.app import DeskApp, build_app
from agent_tui.config import Settings
from agent_tui.screens.intake import IntakeScreen
from agent_tui.services import DeskServices
from hotline.model import TicketFields
from tests.support.child import run_python
from tests.support.server import RunningServer
from tests.tui.conftest import USERS, run_in_thread, sign_in, until, until_focused
from tests.tui.test_desk_offline import post_ticket

KEYS = "abcdefghij"
MAX_KEYS = 600  # every typing loop below is bounded in keys as well as time


def typing_app(
    server_url: str,
    quiet: float,
    hold: float,
    breath: float | None = None,
    hold_max: float | None = None,
) -> Any:
    """``breath``, ``hold_max``: past ``hold`` a pause of the keys this long releases a held
    round, and at ``hold_max`` it goes regardless (default: as long as the pause, and
    ``hold``: the bound alone releases it, between two keys)."""
    settings = Settings(server=server_url)
    desk = DeskServices(
        settings,
        sync_options={
            "pull_interval": 0.5,
            "backoff_cap": 0.5,
            "typing_quiet": quiet,
            "typing_hold": hold,
            "typing_breath": quiet if breath is None else breath,
            "typing_hold_max": hold if hold_max is None else hold_max,
        },
    )
    return build_app(settings, desk=desk)


async def ready_to_type(pilot: Any, app: Any) -> None:
    """Signed in, the first round done (online), the caller's name field focused."""
    await sign_in(pilot)
    await until(pilot, lambda: app.status.link == "online", "online")
    screen = app.screen
    assert isinstance(screen, IntakeScreen)
    await until(pilot, lambda: screen.query("#f-caller_name"), "the caller's name field")
    screen.query_one("#f-caller_name").focus()
    await until_focused(pilot, "f-caller_name")


async def posted_while_typing(pilot: Any, server: RunningServer, title: str) -> list[str]:
    """Another agent posts three tickets while this one types on (the posts can take
    longer than a breath of the keys on a loaded machine: the keys go on meanwhile)."""
    posting = asyncio.ensure_future(
        run_in_thread(
            lambda: [post_ticket(server, "agent2", f"{title} {i}")["id"] for i in range(3)]
        )
    )
    for n in range(MAX_KEYS):
        if posting.done():
            break
        await pilot.press(KEYS[n % len(KEYS)])
    made: list[str] = await posting
    return made


async def in_cache(app: Any, ids: list[str]) -> list[str]:
    """Which of ``ids`` the desk's cache holds now."""
    store = app.desk.store
    return await run_in_thread(lambda: [i for i in ids if store.get_ticket(i) is not None])


async def type_on(pilot: Any, app: Any, made: list[str], keys: int = 40) -> list[str]:
    """``keys`` more keys, the cache read after every fifth: which of ``made`` arrived while
    the keys went on (more than a round's worth of pokes and periodic pulls)."""
    seen: list[str] = []
    for n in range(keys):
        await pilot.press(KEYS[n % len(KEYS)])
        if n % 5 == 4:
            seen += await in_cache(app, made)
    return seen


async def all_arrive_at_the_pause(pilot: Any, app: Any, made: list[str]) -> None:
    """The keys stop: every one of ``made`` reaches the cache (bounded: 400 x 0.1 s)."""
    for _ in range(400):
        if len(await in_cache(app, made)) == len(made):
            break
        await pilot.pause(0.1)
    assert await in_cache(app, made) == made


async def test_changes_pulled_while_typing_wait_for_the_pause_and_all_arrive(
    server: RunningServer,
) -> None:
    # the bound is far away: only the keys' pause can release the round
    app = typing_app(server.url, quiet=5.0, hold=600.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        # ten keys before the other agent's tickets exist: a round that started before the
        # first key (they start every 0.5 s while the desk is idle) has ended by then
        for ch in KEYS:
            await pilot.press(ch)
        made = [
            (await run_in_thread(lambda i=i: post_ticket(server, "agent2", f"打字时 {i}")))["id"]
            for i in range(3)
        ]
        # the server has them and pokes this desk; the agent types on for a while: more
        # than a round's worth of pokes and periodic pulls (every 0.5 s here)
        seen_while_typing = await type_on(pilot, app, made)
        assert seen_while_typing == [], "a pull was applied between the agent's keys"
        assert app.status.link == "online"  # the bar says nothing untrue meanwhile

        # the keys pause: the held round runs and brings every one of them
        await all_arrive_at_the_pause(pilot, app, made)
        await until(pilot, lambda: app.status.link == "online", "online after the round")
        screen = app.screen
        assert screen.query_one("#f-caller_name").value.endswith(KEYS[9])  # no key lost


async def test_past_the_bound_a_held_round_waits_for_a_breath_of_the_keys_not_between_two(
    server: RunningServer,
) -> None:
    # the bound comes at once (0.2 s) and the pause (600 s) and the last bound (600 s)
    # never: only a breath of the keys (2 s, longer than Pilot's keys are apart even on a
    # loaded machine) can release the round, so none is applied while a run of keys goes on
    app = typing_app(server.url, quiet=600.0, hold=0.2, breath=2.0, hold_max=600.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        for ch in KEYS:
            await pilot.press(ch)
        made = await posted_while_typing(pilot, server, "喘口气")
        # a run of keys well past the bound (and several pokes and periodic pulls)
        seen_while_typing = await type_on(pilot, app, made)
        assert seen_while_typing == [], "a round past the bound went between two keys"

        # the keys stop for a breath: the held round runs and brings every one of them
        await all_arrive_at_the_pause(pilot, app, made)
        await until(pilot, lambda: app.status.link == "online", "online after the round")


async def test_an_agent_who_never_pauses_still_gets_the_changes_within_the_bound(
    server: RunningServer,
) -> None:
    # the keys never pause long enough (60 s), not even for a breath (60 s): only the last
    # bound can release the round
    app = typing_app(server.url, quiet=60.0, hold=0.2, breath=60.0, hold_max=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        for ch in KEYS[:3]:
            await pilot.press(ch)
        made = [
            (await run_in_thread(lambda i=i: post_ticket(server, "agent2", f"一直打字 {i}")))["id"]
            for i in range(3)
        ]
        arrived: list[str] = []
        typed_after = 0
        for n in range(MAX_KEYS):
            await pilot.press(KEYS[n % len(KEYS)])
            typed_after += 1
            if n % 5 == 4:
                arrived = await in_cache(app, made)
                if arrived == made:
                    break
        assert arrived == made, f"{len(arrived)} of {len(made)} after {typed_after} keys"


def record_stream_events(app: Any) -> list[str]:
    """The events the desk's replicator takes off the event stream from now on, in order."""
    replicator = app.desk.replicator
    taken: list[str] = []
    dispatch = replicator._dispatch

    def recorded(sse: Any) -> None:
        taken.append(sse.event)
        dispatch(sse)

    replicator._dispatch = recorded
    return taken


async def test_the_event_stream_is_not_read_between_the_keys_and_all_its_pokes_come_after(
    server: RunningServer,
) -> None:
    # only a pause of the keys (2 s: longer than Pilot's keys are apart even on a loaded
    # machine) can let the stream be read again: the bounds are far away
    app = typing_app(server.url, quiet=2.0, hold=600.0, breath=2.0, hold_max=600.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        taken = record_stream_events(app)
        for ch in KEYS:
            await pilot.press(ch)
        made = await posted_while_typing(pilot, server, "不读流")  # three pokes on their way
        for n in range(40):
            await pilot.press(KEYS[n % len(KEYS)])
        # a read asked for before the keys began takes one event; then none until a breath
        assert len(taken) <= 1, taken
        for _ in range(400):
            if taken.count("poke") >= len(made):
                break
            await pilot.pause(0.1)
        assert taken.count("poke") >= len(made), taken  # every poke, at the breath
        await all_arrive_at_the_pause(pilot, app, made)  # the round they asked for


async def test_an_agent_who_never_pauses_still_gets_the_event_stream_within_the_bound(
    server: RunningServer,
) -> None:
    # no breath ever comes (600 s): only the bound (0.3 s) lets the stream be read
    app = typing_app(server.url, quiet=600.0, hold=0.3, breath=600.0, hold_max=600.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        taken = record_stream_events(app)
        for ch in KEYS[:3]:
            await pilot.press(ch)
        for i in range(3):
            await run_in_thread(lambda i=i: post_ticket(server, "agent2", f"一直打字的流 {i}"))
        typed_after = 0
        for n in range(MAX_KEYS):
            await pilot.press(KEYS[n % len(KEYS)])
            typed_after += 1
            if taken.count("poke") >= 3:
                break
        assert taken.count("poke") >= 3, f"{taken} after {typed_after} keys"


async def test_a_save_while_typing_is_pushed_without_waiting_for_the_pause(
    server: RunningServer,
) -> None:
    # neither the pause nor the bound comes while the test types: only the save's own
    # right of way can send it
    app = typing_app(server.url, quiet=600.0, hold=600.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        for ch in KEYS[:3]:
            await pilot.press(ch)
        now = datetime.now(UTC)
        saved = await run_in_thread(
            lambda: app.desk.store.create_ticket(
                TicketFields(phone="13800000000", caller_name="打字时保存", account="保存"),
                call_started_at=now,
                created_at=now,
            )
        )
        app.poke_sync()  # what the form's save does after the store's commit
        token = httpx.post(
            server.url + "/api/v1/auth/login",
            json={"username": "agent1", "password": USERS["agent1"][1]},
            timeout=10,
        ).json()["access_token"]

        def on_server() -> bool:
            answer = httpx.get(
                f"{server.url}/api/v1/tickets/{saved.ticket_id}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            return answer.status_code == 200

        pushed = False
        for n in range(MAX_KEYS):
            await pilot.press(KEYS[n % len(KEYS)])
            if n % 5 == 4 and await run_in_thread(on_server):
                pushed = True
                break
        assert pushed, "the saved ticket waited for the agent's keys to pause"


async def test_the_ticks_status_read_waits_while_typing_at_most_its_bound(
    server: RunningServer,
) -> None:
    """The once-a-second status read (ten a second here) skips ticks while the keys go on,
    never more than ``TICK_HOLD_TICKS`` in a row, and reads on every tick once they pause."""
    settings = Settings(server=server.url)
    desk = DeskServices(settings, sync_options={"pull_interval": 0.5, "backoff_cap": 0.5})
    app = build_app(settings, desk=desk, tick_seconds=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        await app.desk.stop_sync(wait=True)  # no round reports: the tick's reads only
        await until(pilot, lambda: app.status.outbox == 0, "nothing unsynced")
        log: list[str] = []
        screen = app.screen
        original_tick, original_status = screen.tick, app.desk.status

        def tick(now: datetime) -> None:
            log.append("tick")
            original_tick(now)

        def status(now: datetime) -> Any:
            log.append("read")
            return original_status(now)

        screen.tick = tick  # type: ignore[method-assign]
        app.desk.status = status  # type: ignore[method-assign]
        for n in range(60):
            await pilot.press(KEYS[n % len(KEYS)])
        typing = list(log)
        await pilot.pause(app.TYPING_QUIET_SECONDS + 0.3)  # the keys have paused
        paused = len(log)
        await until(pilot, lambda: log[paused:].count("read") >= 5, "reads after the pause")
        after = log[paused:]

    gaps, ticks = [], 0
    for entry in typing:
        if entry == "tick":
            ticks += 1
        else:
            gaps.append(ticks)
            ticks = 0
    assert typing.count("tick") >= 2 * (app.TICK_HOLD_TICKS + 1), typing  # it typed long enough
    assert typing.count("read") < typing.count("tick"), "no tick's read waited for the keys"
    # a read answers after its tick (in a thread), at worst after the next one as well
    assert max([*gaps, ticks]) <= app.TICK_HOLD_TICKS + 2, typing
    assert after.count("read") >= after.count("tick") - 1, after  # no key: every tick reads


def test_the_desk_and_the_replicator_read_one_typing_pause_and_the_desk_loads_no_httpx() -> None:
    """How long after a key the agent counts as typing is one setting
    (``offline_cache.typing_quiet``): the app's tick hold and the replicator's round hold both
    read it (set it before they are imported and both have the new value), and the desk
    reads it without importing the replicator or httpx."""
    code = (
        "import sys\n"
        "from offline_cache import typing_quiet\n"
        "typing_quiet.TYPING_QUIET_SECONDS = 1.25\n"
        "from agent_tui.app import DeskApp\n"
        "loaded = sorted(m for m in ('offline_cache.replicator', 'httpx') if m in sys.modules)\n"
        "import inspect\n"
        "from offline_cache.replicator import Replicator\n"
        "params = inspect.signature(Replicator).parameters\n"
        "print(loaded, DeskApp.TYPING_QUIET_SECONDS, params['typing_quiet'].default)\n"
    )
    out = run_python(code).strip()
    assert out == "[] 1.25 1.25", out


async def test_while_typing_the_tick_reads_only_when_no_other_status_read_came_within_its_bound(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With sync running, each round's report reads the status (``_flush_sync_state``), a
    few ticks apart while the keys go on: the tick's own read, held at most
    ``TICK_HOLD_TICKS`` ticks since the last read of any kind, is then never needed. Here a
    read of another kind comes after every second tick (as a round's report would): while
    the agent types, no tick reads; the bar still gets a read at least every
    ``TICK_HOLD_TICKS`` ticks; once the keys pause, every tick reads again."""
    asks: list[str] = []
    ticks = [0]
    original_tick = DeskApp._tick

    in_tick = [False]

    def tick(self: DeskApp) -> None:
        asks.append("tick")
        in_tick[0] = True
        try:
            original_tick(self)
        finally:
            in_tick[0] = False
        ticks[0] += 1
        if ticks[0] % 2 == 0:
            asks.append("other")
            self.refresh_status()  # what a round's report does

    monkeypatch.setattr(DeskApp, "_tick", tick)
    settings = Settings(server=server.url)
    desk = DeskServices(settings, sync_options={"pull_interval": 0.5, "backoff_cap": 0.5})
    app = build_app(settings, desk=desk, tick_seconds=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready_to_type(pilot, app)
        await app.desk.stop_sync(wait=True)  # no round reports: the reads counted are ours
        await until(pilot, lambda: app.status.outbox == 0, "nothing unsynced")
        original_refresh = app.refresh_status

        def refresh() -> None:
            if in_tick[0]:  # asked by the tick itself
                asks.append("tick read")
            original_refresh()

        app.refresh_status = refresh  # type: ignore[method-assign]
        await pilot.press(KEYS[0])
        asks.clear()  # from the first key on
        for n in range(1, 60):
            await pilot.press(KEYS[n % len(KEYS)])
        typing = list(asks)
        await pilot.pause(app.TYPING_QUIET_SECONDS + 0.3)  # the keys have paused
        paused = len(asks)
        await until(pilot, lambda: asks[paused:].count("tick read") >= 5, "reads after the pause")

    assert typing.count("tick") >= 2 * (app.TICK_HOLD_TICKS + 1), typing  # it typed long enough
    assert typing.count("tick read") == 0, typing  # the other reads were enough
    # the bar was read (by either) at least every TICK_HOLD_TICKS ticks
    since = 0
    for entry in typing:
        since = since + 1 if entry == "tick" else 0
        assert since <= app.TICK_HOLD_TICKS, typing
