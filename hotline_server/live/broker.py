"""The in-process fan-out behind ``GET /api/v1/events`` (Server-Sent Events).

Each connected stream is a :class:`Subscriber` with its own *bounded* mailbox. Publishing never
waits: when a subscriber's mailbox is full it is dropped (its stream ends, the client reconnects
with ``Last-Event-ID``), so one slow client never slows the others. A stream whose socket stops
taking bytes is ended by the hub's watchdog (:meth:`Broker.stalled`) after the send timeout,
without a timer per send.

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
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

DEFAULT_QUEUE_SIZE = 256
DEFAULT_REPLAY_SIZE = 64
# At most this many bytes of queued frames go out in one send: a stream that fell behind
# catches up in few sends, and the server never holds more than one such chunk above the
# socket's high-water mark for a client that stopped reading.
MAX_CHUNK_BYTES = 64 * 1024

_NEWLINES = re.compile(r"\r\n|\r|\n")


def sse_frame(event: str, data: str, event_id: str | None = None) -> bytes:
    """One Server-Sent Event on the wire, byte for byte what sse-starlette wrote before
    (``id``, ``event``, one ``data`` line per line of data, CRLF line ends, blank line).
    No ``id`` line when there is no id: an empty one would reset the client's Last-Event-ID."""
    lines = []
    if event_id:
        lines.append("id: " + _NEWLINES.sub("", event_id))
    lines.append("event: " + _NEWLINES.sub("", event))
    lines.extend("data: " + line for line in _NEWLINES.split(data))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


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
        return sse_frame(self.event, self.encode(), self.id)


# Put in a mailbox by :meth:`Broker.heartbeats` when a stream has sent nothing for a while: one
# timer for all streams, instead of a timeout per stream around every wait for an event. The
# hub's heartbeat task passes an event of its own with the time in it (one per tick, shared).
HEARTBEAT = Event("", "heartbeat", {})


def heartbeat_event(at: str) -> Event:
    """The heartbeat of one tick of the hub, with the time: one object and one frame for
    every idle stream, encoded as streams always had it (``json.dumps`` with its default
    separators, no id: a heartbeat must not move the client's Last-Event-ID)."""
    data = {"at": at}
    ev = Event("", "heartbeat", data)
    ev.__dict__["frame"] = sse_frame("heartbeat", json.dumps(data))  # the cached frame
    return ev


class Mailbox:
    """A bounded queue of events for one stream, read by that stream alone.

    Like ``asyncio.Queue`` (``put_nowait``/``get_nowait``/``get``), plus :meth:`take`: the
    stream, woken once, takes every frame that is waiting (up to :data:`MAX_CHUNK_BYTES`) and
    sends them in one write. ``None`` in the mailbox ends the stream."""

    __slots__ = ("_items", "_waiter", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Event | None] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return len(self._items) >= self.maxsize

    def put_nowait(self, item: Event | None) -> None:
        """Queue ``item``; ``asyncio.QueueFull`` when full (an end marker always fits)."""
        if item is not None and len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def get_nowait(self) -> Event | None:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def clear(self) -> None:
        self._items.clear()

    async def wait(self) -> None:
        """Until something is queued (one future, resolved by the next put)."""
        while not self._items:
            waiter = self._waiter
            if waiter is None or waiter.done():
                waiter = self._waiter = asyncio.get_running_loop().create_future()
            await waiter

    async def get(self) -> Event | None:
        await self.wait()
        return self._items.popleft()

    def take(self, max_bytes: int = MAX_CHUNK_BYTES) -> list[Event | None]:
        """The events waiting, oldest first, until their frames reach ``max_bytes`` (at
        least one); an end marker (None) is taken last, and ends the list."""
        items = self._items
        out: list[Event | None] = []
        size = 0
        while items and size < max_bytes:
            item = items.popleft()
            out.append(item)
            if item is None:
                break
            size += len(item.frame)
        return out


@dataclass(eq=False)
class Subscriber:
    """One open event stream of one signed-in user."""

    username: str
    role: str
    team: str | None
    queue: Mailbox
    dropped: bool = False
    sent: int = 0
    last_sent: float = field(default_factory=time.monotonic)  # monotonic; the stream sets it
    # monotonic start of the send in progress, 0.0 when none: the hub's watchdog ends a
    # stream whose send has not returned within the send timeout (Broker.stalled)
    sending_since: float = 0.0
    task: asyncio.Task[Any] | None = None  # the stream's task, for the watchdog
    timed_out: bool = False

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
    # every stream still running, dropped ones included until they end: the watchdog's list
    streams: set[Subscriber] = field(default_factory=set)
    # the subscribers by user, and the leads among them: an offer to one agent, or the
    # panel's "any lead here?", never walks every stream
    _by_user: dict[str, set[Subscriber]] = field(default_factory=dict)
    _leads: set[Subscriber] = field(default_factory=set)
    dropped_total: int = 0
    timed_out_total: int = 0
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _replay: dict[str, deque[Event]] = field(default_factory=dict)
    # The last stream of each user seen here: who they are (role, team), so events for them
    # are still remembered while they are disconnected, and a reconnect with Last-Event-ID
    # replays what was missed in between (not only what was sent while connected).
    _known: dict[str, Subscriber] = field(default_factory=dict)

    # ------------------------------------------------------------ subscribe

    def subscribe(self, username: str, role: str, team: str | None) -> Subscriber:
        sub = Subscriber(username, role, team, Mailbox(self.queue_size))
        self.subscribers.add(sub)
        self._by_user.setdefault(username, set()).add(sub)
        if sub.is_lead:
            self._leads.add(sub)
        self.streams.add(sub)
        self._known[username] = sub
        return sub

    def has_audience(self) -> bool:
        """Anyone connected now, or who was and may resume (events for them are kept)."""
        return bool(self.subscribers or self._known)

    def unsubscribe(self, sub: Subscriber) -> None:
        """The stream has ended (or never started): forget it and what it still held."""
        self._forget(sub)
        self.streams.discard(sub)
        sub.queue.clear()

    def _forget(self, sub: Subscriber) -> None:
        """No more events for ``sub`` (its stream may still be finishing)."""
        self.subscribers.discard(sub)
        self._leads.discard(sub)
        mine = self._by_user.get(sub.username)
        if mine is not None:
            mine.discard(sub)
            if not mine:
                del self._by_user[sub.username]

    def users(self) -> set[str]:
        return set(self._by_user)

    def has_leads(self) -> bool:
        return bool(self._leads)

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
        self._forget(sub)
        sub.queue.clear()
        sub.queue.put_nowait(None)

    def end(self, sub: Subscriber) -> None:
        """Its client has gone: no more events for it, and its stream ends now."""
        self._forget(sub)
        sub.dropped = True
        sub.queue.clear()
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
        for sub in list(self._by_user.get(username, ())):
            self._deliver(sub, ev)
        return ev

    def to_matching(
        self, event: str, data: dict[str, Any], accept: Callable[[Subscriber], bool] | None
    ) -> int:
        """Send one event to every subscriber ``accept`` admits (None: everyone); return
        how many. One :class:`Event` (one id, encoded once) goes to every stream and replay
        buffer."""
        n = 0
        ev: Event | None = None
        users: set[str] = set()
        for sub in list(self.subscribers):
            if accept is not None and not accept(sub):
                continue
            if ev is None:
                ev = self.make(event, data)
            if sub.username not in users:
                users.add(sub.username)
                self._remember(sub.username, ev)
            self._deliver(sub, ev)
            n += 1
        for username, known in self._known.items():  # disconnected: keep it for the resume
            if username not in users and (accept is None or accept(known)):
                if ev is None:
                    ev = self.make(event, data)
                self._remember(username, ev)
        return n

    def heartbeats(self, idle: float, now: float | None = None, beat: Event = HEARTBEAT) -> int:
        """Ask every stream that has sent nothing for ``idle`` seconds to send ``beat`` (a
        stream with events waiting is busy, not idle). Returns how many were asked."""
        now = time.monotonic() if now is None else now
        n = 0
        for sub in self.subscribers:
            if now - sub.last_sent >= idle and sub.queue.empty() and not sub.dropped:
                sub.last_sent = now  # one heartbeat per idle interval
                sub.queue.put_nowait(beat)
                n += 1
        return n

    def stalled(self, timeout: float, now: float | None = None) -> list[Subscriber]:
        """End every stream whose send has waited on its socket for ``timeout`` seconds (a
        client that stopped reading): its task is cancelled, and the stream ends there.
        One pass of the hub's watchdog replaces a timer around every send of every stream."""
        now = time.monotonic() if now is None else now
        out = []
        for sub in self.streams:
            since = sub.sending_since
            # since + timeout, not now - since: (t + 30.0) - t can round to just under 30.0
            if since and now >= since + timeout and not sub.timed_out:
                sub.timed_out = True
                self.timed_out_total += 1
                self._forget(sub)
                sub.dropped = True
                sub.queue.clear()
                if sub.task is not None:
                    sub.task.cancel()
                out.append(sub)
        return out

    def poke(self, seq: int, visible: Callable[[Subscriber], bool] | None = None) -> int:
        return self.to_matching("poke", {"seq": seq}, visible)

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
        """End every stream (the server is stopping): each sends what it has, then ends."""
        for sub in list(self.streams | self.subscribers):
            sub.dropped = True
            sub.queue.put_nowait(None)
        self.subscribers.clear()
        self._by_user.clear()
        self._leads.clear()
