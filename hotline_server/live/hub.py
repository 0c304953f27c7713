"""The live side's per-process state: broker, notifier and background tasks.

One :class:`LiveHub` lives at ``app.state.live``. Signals (from this process or, through
LISTEN/NOTIFY, from others) arrive in :meth:`LiveHub.on_signal`; the hub turns them into
events for its own subscribers:

- ``poke``: wake the poker, which reads the new change-log rows once and pokes each
  subscriber who may see at least one of them (coalesced: many commits, one read);
- ``offer``: a call rings at an agent's seat; if that agent is connected here, send the
  call offer with the caller's recent tickets;
- ``dirty``: calls or seats changed; the panel task sends leads a fresh panel at most once
  a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from hotline_server.live.broker import Broker, Subscriber, heartbeat_event
from hotline_server.live.notify import Notifier

log = logging.getLogger("hotline_server.live")


def _env_number(name: str, default: float, *, minimum: float, whole: bool = False) -> float:
    """``name`` from the environment, or ``default`` when unset or empty. A value that is not
    a number, or below ``minimum``, is a configuration error naming the variable: a typo in
    a deployment must stop the server with one line, not silently run on a default."""
    from hotline_server.settings import ConfigError

    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(int(raw)) if whole else float(raw)
    except ValueError:
        kind = "a whole number" if whole else "a number of seconds"
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


@dataclass
class LiveSettings:
    """Tunables, from environment variables (``HOTLINE_LIVE_*``) with safe defaults."""

    heartbeat_seconds: float = 15.0
    link_down_seconds: float = 90.0
    panel_interval_seconds: float = 1.0
    queue_size: int = 256
    escalation_interval_seconds: float = 30.0
    timezone: str = "Asia/Shanghai"
    service_level_seconds: int = 15
    # a waiting call with no event for this long is expired (hotline.callbacks)
    call_expiry_seconds: float = 3600.0
    # an event stream whose client takes no bytes for this long is ended (Broker.stalled)
    send_timeout_seconds: float = 30.0

    @classmethod
    def from_env(cls) -> LiveSettings:
        """Read the environment; raises ``hotline_server.settings.ConfigError`` naming the
        variable whose value cannot be used (``hotline-server serve`` prints it and exits)."""
        from hotline_server.settings import DEFAULT_TZ, _check_tz

        tz = os.environ.get("HOTLINE_TZ") or os.environ.get("HOTLINE_TIMEZONE") or DEFAULT_TZ
        return cls(
            heartbeat_seconds=_env_number("HOTLINE_LIVE_HEARTBEAT_SECONDS", 15.0, minimum=0.1),
            link_down_seconds=_env_number("HOTLINE_LIVE_LINK_DOWN_SECONDS", 90.0, minimum=1.0),
            panel_interval_seconds=_env_number("HOTLINE_LIVE_PANEL_SECONDS", 1.0, minimum=1.0),
            queue_size=int(_env_number("HOTLINE_LIVE_QUEUE_SIZE", 256, minimum=1, whole=True)),
            escalation_interval_seconds=_env_number(
                "HOTLINE_LIVE_ESCALATION_SECONDS", 30.0, minimum=0.1
            ),
            timezone=_check_tz(tz),  # the core's zone: figures and clocks agree with it
            service_level_seconds=int(
                _env_number("HOTLINE_SERVICE_LEVEL_SECONDS", 15, minimum=1, whole=True)
            ),
            call_expiry_seconds=_env_number(
                "HOTLINE_LIVE_CALL_EXPIRY_SECONDS", 3600.0, minimum=1.0
            ),
            send_timeout_seconds=_env_number(
                "HOTLINE_LIVE_SEND_TIMEOUT_SECONDS", 30.0, minimum=0.5
            ),
        )


Clock = Callable[[], datetime]
TOUCH_BATCH_SECONDS = 1.0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


Rows = set[tuple[str | None, str | None]]
EXIT_POLL_SECONDS = 0.5
KNOWN_RANGES = 4096  # remembered visibility of recent commits (see LiveHub.on_signal)


def _visible_to(rows: Rows) -> Callable[[Subscriber], bool] | None:
    """Who may see at least one of the change rows; None when everyone may (a row with
    neither team nor owner), so the poke skips the test per stream."""
    if (None, None) in rows:
        return None
    return lambda sub: any(sub.can_see(team, owner) for team, owner in rows)


class LiveHub:
    def __init__(
        self,
        engine: Engine,
        database_url: str,
        settings: LiveSettings | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings or LiveSettings.from_env()
        self.clock = clock
        self.broker = Broker(queue_size=self.settings.queue_size)
        self.notifier = Notifier(database_url, self.on_signal)
        self.notifier.on_reconnect = self._poke_everyone
        self._poke_wanted = asyncio.Event()
        self._panel_dirty = True
        self._seen_seq = 0
        self._target_seq = 0
        self._tasks: list[asyncio.Task[None]] = []
        # Set by the app module: compute the panel and the visibility of change rows.
        self.panel_builder: Callable[[], dict[str, Any]] | None = None
        self.visibility_reader: Callable[[int, int], list[tuple[str | None, str | None]]] | None
        self.visibility_reader = None
        self.offer_builder: Callable[[str, str], dict[str, Any] | None] | None = None
        self.periodic: list[tuple[float, Callable[[], Awaitable[None]]]] = []
        # Seat touches of open agent streams, written together (``touch_seat``).
        self.seat_toucher: Callable[[set[str]], None] | None = None
        self._touch_wanted: set[str] = set()
        self._touch_wake = asyncio.Event()
        # Visibility of committed change-log ranges told by the committer in its signal
        # ({"after": a, "seq": b, "vis": [[team, owner], ...]}: the rows (a, b]), keyed by
        # ``after``: when they chain from the last poked seq to the new one, the poker has
        # its answer without reading the database (no thread hop before the poke).
        self._known_ranges: dict[int, tuple[int, Rows]] = {}
        self.visibility_reads = 0
        self.exiting = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._poke_wanted = asyncio.Event()
        self._touch_wake = asyncio.Event()
        await self.notifier.start()
        self._tasks.append(asyncio.create_task(self._poker(), name="live-poker"))
        self._tasks.append(asyncio.create_task(self._toucher(), name="live-seat-touches"))
        self._tasks.append(asyncio.create_task(self._panel(), name="live-panel"))
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="live-heartbeats"))
        self._tasks.append(asyncio.create_task(self._exit_watch(), name="live-exit-watch"))
        for interval, job in self.periodic:
            self._tasks.append(asyncio.create_task(self._every(interval, job)))

    async def stop(self) -> None:
        self.broker.close_all()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.notifier.stop()

    async def _every(self, interval: float, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live background job failed; retrying next interval")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------ signals

    def signal(self, msg: dict[str, Any]) -> None:
        """Publish to every instance (thread-safe)."""
        self.notifier.publish(msg)

    def on_signal(self, msg: dict[str, Any]) -> None:
        kind = msg.get("k")
        if kind == "poke":
            seq = int(msg.get("seq", 0))
            self._target_seq = max(self._target_seq, seq)
            self._note_range(msg, seq)
            self._panel_dirty = True
            self._poke_wanted.set()
        elif kind == "offer":
            agent, call_id = str(msg.get("agent", "")), str(msg.get("call", ""))
            if agent in self.broker.users():
                asyncio.get_running_loop().create_task(self._send_offer(agent, call_id))
            self._panel_dirty = True
        elif kind == "dirty":
            self._panel_dirty = True

    def _note_range(self, msg: dict[str, Any], seq: int) -> None:
        vis, after = msg.get("vis"), msg.get("after")
        if not isinstance(vis, list) or not isinstance(after, int) or not after < seq:
            return
        try:
            rows = {(_text(team), _text(owner)) for team, owner in vis}
        except (TypeError, ValueError):
            return  # not a list of pairs: the poker reads the database instead
        if len(self._known_ranges) >= KNOWN_RANGES:
            self._known_ranges.clear()  # bounded; a miss only costs a read
        self._known_ranges[after] = (seq, rows)

    def _known_visibility(self, after: int, upto: int) -> Rows | None:
        """The rows (after, upto] from the signals' ranges, if they cover it all."""
        rows: Rows = set()
        at = after
        for _ in range(len(self._known_ranges)):
            if at >= upto:
                break
            known = self._known_ranges.get(at)
            if known is None:
                return None
            at, more = known
            rows |= more
        if at != upto:
            return None
        for key in [k for k in self._known_ranges if k < upto]:
            del self._known_ranges[key]
        return rows

    def _poke_everyone(self) -> None:
        self.broker.poke(self._target_seq)

    async def _send_offer(self, agent: str, call_id: str) -> None:
        if self.offer_builder is None:
            return
        data = await asyncio.to_thread(self.offer_builder, agent, call_id)
        if data is not None:
            self.broker.to_user(agent, "call_offer", data)

    async def _poker(self) -> None:
        while True:
            await self._poke_wanted.wait()
            self._poke_wanted.clear()
            target = self._target_seq
            if target <= self._seen_seq or not self.broker.has_audience():
                self._seen_seq = max(self._seen_seq, target)
                continue
            rows = self._known_visibility(self._seen_seq, target)
            if rows is None and self.visibility_reader is not None:
                self.visibility_reads += 1
                try:
                    read = await asyncio.to_thread(self.visibility_reader, self._seen_seq, target)
                    rows = set(read)
                except Exception:
                    log.exception("reading change visibility failed; poking everyone")
            self._seen_seq = target
            self.broker.poke(target, None if rows is None else _visible_to(rows))
            await asyncio.sleep(0.02)  # coalesce bursts of commits into one read

    async def _heartbeats(self) -> None:
        """One timer for every stream's heartbeat and send timeout: a stream idle for a
        heartbeat interval gets one within a quarter of an interval (at most a second) more
        (one event per tick, with the time, shared by every stream); a stream whose send
        has waited longer than the send timeout is ended (``Broker.stalled``)."""
        beat = self.settings.heartbeat_seconds
        tick = min(1.0, beat / 4)
        while True:
            await asyncio.sleep(tick)
            stalled = self.broker.stalled(self.settings.send_timeout_seconds)
            if stalled:
                log.warning("ended %d event stream(s) whose client stopped reading", len(stalled))
            self.broker.heartbeats(beat, beat=heartbeat_event(self.clock().isoformat()))

    async def _exit_watch(self) -> None:
        """End every stream once the server is asked to stop: uvicorn waits for open
        responses before it shuts down, and an event stream never ends by itself."""
        from hotline_server.live.stream import server_exiting

        while True:
            await asyncio.sleep(EXIT_POLL_SECONDS)
            if server_exiting():
                self.exiting = True
                self.broker.close_all()  # and again each poll: a stream opened meanwhile

    async def _panel(self) -> None:
        interval = self.settings.panel_interval_seconds
        while True:
            await asyncio.sleep(interval)
            if not self._panel_dirty or not self.broker.has_leads() or not self.panel_builder:
                continue
            self._panel_dirty = False
            try:
                panel = await asyncio.to_thread(self.panel_builder)
            except Exception:
                log.exception("building the lead panel failed")
                continue
            self.broker.to_leads("panel", panel)

    # ------------------------------------------------------------ seat touches

    def touch_seat(self, agent: str) -> None:
        """Note that ``agent``'s desk is alive (an open stream); written within a second,
        together with every other stream's touch, in one transaction."""
        self._touch_wanted.add(agent)
        self._touch_wake.set()

    async def _toucher(self) -> None:
        while True:
            await self._touch_wake.wait()
            self._touch_wake.clear()
            agents, self._touch_wanted = self._touch_wanted, set()
            if agents and self.seat_toucher is not None:
                try:
                    await asyncio.to_thread(self.seat_toucher, agents)
                except Exception:
                    log.warning("touching %d seat(s) failed; next touch retries", len(agents))
            await asyncio.sleep(TOUCH_BATCH_SECONDS)  # at most one write a second

    def committed(self, seq: int, after: int | None = None, rows: Rows | None = None) -> None:
        """Tell every instance the change log reaches ``seq``. A committer that knows the
        (team, owner) of every row in (``after``, ``seq``] passes them, so the poker need
        not read them back (at most 20 pairs: a signal must fit a NOTIFY)."""
        msg: dict[str, Any] = {"k": "poke", "seq": seq}
        if after is not None and rows is not None and len(rows) <= 20 and after < seq:
            msg["after"] = after
            msg["vis"] = [list(r) for r in sorted(rows, key=repr)]
        self.signal(msg)

    def mark_dirty(self) -> None:
        self._panel_dirty = True

    @property
    def link_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.link_down_seconds)
