"""The in-process fan-out behind ``GET /api/v1/events`` (Server-Sent Events).

Each connected stream is a :class:`Subscriber` with its own *bounded* queue. Publishing never
waits: when a subscriber's queue is full it is dropped (its stream ends, the client reconnects
with ``Last-Event-ID``), so one slow client never slows the others.

Event ids are ``<instance>-<n>``: ``n`` grows per server process, and a short ring buffer of
recent events per user lets a reconnecting client resume after the last id it saw. An id from
another instance (or one older than the buffer) cannot be resumed exactly; the client then gets
a ``poke`` ("pull now"), which is all a lost event ever costs: pokes carry no data and call
offers are re-sent from the database on connect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

DEFAULT_QUEUE_SIZE = 256
DEFAULT_REPLAY_SIZE = 64


@dataclass(frozen=True)
class Event:
    id: str
    event: str  # poke | call_offer | call_update | panel | seat | heartbeat
    data: dict[str, Any]

    def encode(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"), default=str)

    @cached_property
    def frame(self) -> bytes:
        """The event as SSE bytes on the wire, encoded once however many streams send it."""
        from sse_starlette import ServerSentEvent

        return ServerSentEvent(data=self.encode(), event=self.event, id=self.id).encode()


# Put in a queue by :meth:`Broker.heartbeats` when a stream has sent nothing for a while: one
# timer for all streams, instead of a timeout per stream around every wait for an event.
HEARTBEAT = Event("", "heartbeat", {})


@dataclass(eq=False)
class Subscriber:
    """One open event stream of one signed-in user."""

    username: str
    role: str
    team: str | None
    queue: asyncio.Queue[Event | None]
    dropped: bool = False
    sent: int = 0
    last_sent: float = field(default_factory=time.monotonic)  # monotonic; the stream sets it

    @property
    def is_lead(self) -> bool:
        return self.role in ("lead", "admin")

    def can_see(self, team: str | None, owner: str | None) -> bool:
        """Whether a change-log row is news for this subscriber, by the rule pull applies
        (hotline_server.sync.pull): leads and admins see all; a row's owner sees it; rows with
        neither team nor owner are for everyone; team rows are for the team's members; and
        where no teams are configured (every subscriber's team is None) agents see each
        other's tickets. A spare poke only costs a pull; a missing one hides a change."""
        if self.is_lead or owner == self.username:
            return True
        if team is None and owner is None:
            return True
        if self.team is None:
            return team is None
        return team == self.team


@dataclass
class Broker:
    """Per-process subscriber registry and replay buffer."""

    queue_size: int = DEFAULT_QUEUE_SIZE
    replay_size: int = DEFAULT_REPLAY_SIZE
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    subscribers: set[Subscriber] = field(default_factory=set)
    dropped_total: int = 0
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _replay: dict[str, deque[Event]] = field(default_factory=dict)
    # The last stream of each user seen here: who they are (role, team), so events for them
    # are still remembered while they are disconnected, and a reconnect with Last-Event-ID
    # replays what was missed in between (not only what was sent while connected).
    _known: dict[str, Subscriber] = field(default_factory=dict)

    # ------------------------------------------------------------ subscribe

    def subscribe(self, username: str, role: str, team: str | None) -> Subscriber:
        sub = Subscriber(username, role, team, asyncio.Queue(maxsize=self.queue_size))
        self.subscribers.add(sub)
        self._known[username] = sub
        return sub

    def has_audience(self) -> bool:
        """Anyone connected now, or who was and may resume (events for them are kept)."""
        return bool(self.subscribers or self._known)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def users(self) -> set[str]:
        return {s.username for s in self.subscribers}

    def has_leads(self) -> bool:
        return any(s.is_lead for s in self.subscribers)

    # ------------------------------------------------------------ publish

    def next_id(self) -> str:
        return f"{self.instance}-{next(self._counter)}"

    def make(self, event: str, data: dict[str, Any]) -> Event:
        return Event(self.next_id(), event, data)

    def _deliver(self, sub: Subscriber, ev: Event) -> None:
        if sub.dropped:
            return
        try:
            sub.queue.put_nowait(ev)
        except asyncio.QueueFull:
            self._drop(sub)

    def _drop(self, sub: Subscriber) -> None:
        """Too slow: end its stream. The sentinel makes room by discarding what is queued."""
        sub.dropped = True
        self.dropped_total += 1
        self.subscribers.discard(sub)
        while not sub.queue.empty():
            sub.queue.get_nowait()
        sub.queue.put_nowait(None)

    def _remember(self, username: str, ev: Event) -> None:
        buf = self._replay.get(username)
        if buf is None:
            buf = self._replay[username] = deque(maxlen=self.replay_size)
        buf.append(ev)

    def to_user(self, username: str, event: str, data: dict[str, Any]) -> Event:
        """Send to every open stream of ``username`` (an agent may have two windows)."""
        ev = self.make(event, data)
        self._remember(username, ev)
        for sub in list(self.subscribers):
            if sub.username == username:
                self._deliver(sub, ev)
        return ev

    def to_matching(
        self, event: str, data: dict[str, Any], accept: Callable[[Subscriber], bool]
    ) -> int:
        """Send one event to every subscriber ``accept`` admits; return how many. One
        :class:`Event` (one id, encoded once) goes to every stream and replay buffer."""
        n = 0
        ev: Event | None = None
        users: set[str] = set()
        for sub in list(self.subscribers):
            if not accept(sub):
                continue
            if ev is None:
                ev = self.make(event, data)
            if sub.username not in users:
                users.add(sub.username)
                self._remember(sub.username, ev)
            self._deliver(sub, ev)
            n += 1
        for username, known in self._known.items():  # disconnected: keep it for the resume
            if username not in users and accept(known):
                if ev is None:
                    ev = self.make(event, data)
                self._remember(username, ev)
        return n

    def heartbeats(self, idle: float, now: float | None = None) -> int:
        """Ask every stream that has sent nothing for ``idle`` seconds to send a heartbeat
        (a stream with events waiting is busy, not idle). Returns how many were asked."""
        now = time.monotonic() if now is None else now
        n = 0
        for sub in self.subscribers:
            if now - sub.last_sent >= idle and sub.queue.empty() and not sub.dropped:
                sub.last_sent = now  # one heartbeat per idle interval
                sub.queue.put_nowait(HEARTBEAT)
                n += 1
        return n

    def poke(self, seq: int, visible: Callable[[Subscriber], bool] | None = None) -> int:
        return self.to_matching("poke", {"seq": seq}, visible or (lambda _s: True))

    def to_leads(self, event: str, data: dict[str, Any]) -> int:
        return self.to_matching(event, data, lambda s: s.is_lead)

    # ------------------------------------------------------------ resume

    def replay_after(self, username: str, last_event_id: str | None) -> list[Event] | None:
        """Events for ``username`` after ``last_event_id``; None if that id cannot be resumed
        here (other instance, too old, unparsable): the caller then sends a poke."""
        if not last_event_id:
            return []
        instance, _, n_text = last_event_id.partition("-")
        if instance != self.instance or not n_text.isdigit():
            return None
        n = int(n_text)
        buf = self._replay.get(username)
        if not buf:
            return None
        oldest = int(buf[0].id.partition("-")[2])
        if n < oldest - 1:
            return None  # the buffer no longer reaches back to the client's last event
        return [ev for ev in buf if int(ev.id.partition("-")[2]) > n]

    def close_all(self) -> None:
        for sub in list(self.subscribers):
            sub.dropped = True
            if sub.queue.full():
                sub.queue.get_nowait()
            sub.queue.put_nowait(None)
        self.subscribers.clear()
