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

from hotline_server.live.broker import Broker, Subscriber
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
        )


Clock = Callable[[], datetime]
TOUCH_BATCH_SECONDS = 1.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def _visible_to(rows: set[tuple[str | None, str | None]]) -> Callable[[Subscriber], bool]:
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

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._poke_wanted = asyncio.Event()
        self._touch_wake = asyncio.Event()
        await self.notifier.start()
        self._tasks.append(asyncio.create_task(self._poker(), name="live-poker"))
        self._tasks.append(asyncio.create_task(self._toucher(), name="live-seat-touches"))
        self._tasks.append(asyncio.create_task(self._panel(), name="live-panel"))
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="live-heartbeats"))
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
            self._target_seq = max(self._target_seq, int(msg.get("seq", 0)))
            self._panel_dirty = True
            self._poke_wanted.set()
        elif kind == "offer":
            agent, call_id = str(msg.get("agent", "")), str(msg.get("call", ""))
            if agent in self.broker.users():
                asyncio.get_running_loop().create_task(self._send_offer(agent, call_id))
            self._panel_dirty = True
        elif kind == "dirty":
            self._panel_dirty = True

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
            rows: list[tuple[str | None, str | None]] | None = None
            if self.visibility_reader is not None:
                try:
                    rows = await asyncio.to_thread(self.visibility_reader, self._seen_seq, target)
                except Exception:
                    log.exception("reading change visibility failed; poking everyone")
            self._seen_seq = target
            if rows is None:
                self.broker.poke(target)
            else:
                self.broker.poke(target, _visible_to(set(rows)))
            await asyncio.sleep(0.02)  # coalesce bursts of commits into one read

    async def _heartbeats(self) -> None:
        """One timer for every stream's heartbeat: a stream idle for a heartbeat interval
        gets one within a quarter of an interval (at most a second) more."""
        beat = self.settings.heartbeat_seconds
        tick = min(1.0, beat / 4)
        while True:
            await asyncio.sleep(tick)
            self.broker.heartbeats(beat)

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

    def mark_dirty(self) -> None:
        self._panel_dirty = True

    @property
    def link_timeout(self) -> timedelta:
        return timedelta(seconds=self.settings.link_down_seconds)
