"""The SSE broker: bounded per-subscriber mailboxes, visibility, Last-Event-ID replay, the
frames on the wire, and the watchdog that ends a stream whose client stopped reading."""

from __future__ import annotations

import asyncio
import json

from hotline_server.live.broker import (
    HEARTBEAT,
    MAX_CHUNK_BYTES,
    Broker,
    Event,
    heartbeat_event,
    sse_frame,
)
from hotline_server.live.notify import _coalesce


async def test_slow_subscriber_is_dropped_and_others_get_everything() -> None:
    broker = Broker(queue_size=4)
    slow = broker.subscribe("slow", "agent", None)
    fast = broker.subscribe("fast", "agent", None)
    got: list[int] = []
    for seq in range(1, 21):
        broker.poke(seq)
        ev = fast.queue.get_nowait()  # the fast client keeps up
        assert ev is not None
        got.append(ev.data["seq"])
    assert got == list(range(1, 21))
    assert slow.dropped and slow not in broker.subscribers
    assert slow.queue.get_nowait() is None  # its stream ends at once
    assert broker.dropped_total == 1


async def test_visibility_of_pokes() -> None:
    broker = Broker()
    a = broker.subscribe("amy", "agent", "north")
    b = broker.subscribe("ben", "agent", "south")
    lead = broker.subscribe("lee", "lead", "south")
    n = broker.poke(7, lambda s: s.can_see("north", None))
    assert n == 2
    assert a.queue.qsize() == 1 and b.queue.qsize() == 0 and lead.queue.qsize() == 1
    broker.poke(8, lambda s: s.can_see(None, "ben"))
    assert a.queue.qsize() == 1 and b.queue.qsize() == 1


async def test_last_event_id_replay() -> None:
    broker = Broker(replay_size=3)
    broker.subscribe("amy", "agent", None)
    ids = [broker.to_user("amy", "call_offer", {"n": i}).id for i in range(5)]
    assert broker.replay_after("amy", None) == []
    resumed = broker.replay_after("amy", ids[2])
    assert resumed is not None and [e.data["n"] for e in resumed] == [3, 4]
    assert broker.replay_after("amy", ids[0]) is None  # older than the buffer
    assert broker.replay_after("amy", "otherinstance-3") is None
    assert broker.replay_after("amy", "garbage") is None


async def test_close_all_ends_every_stream_after_what_it_holds() -> None:
    broker = Broker(queue_size=1)
    sub = broker.subscribe("amy", "agent", None)
    broker.poke(1)  # the mailbox is full: the end still fits
    broker.close_all()
    first = await asyncio.wait_for(sub.queue.get(), 1)
    assert first is not None and first.data == {"seq": 1}
    assert await asyncio.wait_for(sub.queue.get(), 1) is None


def test_coalesce_signals() -> None:
    out = _coalesce(
        [{"k": "poke", "seq": 3}, {"k": "dirty"}, {"k": "offer", "agent": "a"},
         {"k": "poke", "seq": 9}, {"k": "dirty"}]
    )  # fmt: skip
    assert out == [{"k": "offer", "agent": "a"}, {"k": "poke", "seq": 9}, {"k": "dirty"}]


async def test_an_event_missed_while_disconnected_is_replayed() -> None:
    broker = Broker()
    sub = broker.subscribe("amy", "agent", None)
    seen = broker.to_user("amy", "call_offer", {"n": 1}).id
    broker.unsubscribe(sub)  # the desk's link drops
    broker.poke(42, lambda s: s.can_see(None, None))
    broker.poke(43, lambda s: s.can_see("south", None))  # not amy's: no team
    assert broker.has_audience()
    resumed = broker.replay_after("amy", seen)
    assert resumed is not None and [(e.event, e.data) for e in resumed] == [("poke", {"seq": 42})]


async def test_one_publish_is_one_event_for_every_stream_and_every_replay() -> None:
    broker = Broker()
    subs = [broker.subscribe(f"agent{i % 7}", "agent", None) for i in range(50)]
    gone = broker.subscribe("gone", "agent", None)
    broker.unsubscribe(gone)  # disconnected: the event is kept for its resume
    assert broker.poke(42) == 50
    events = [s.queue.get_nowait() for s in subs]
    assert all(s.queue.empty() for s in subs)  # exactly once per stream
    first = events[0]
    assert first is not None and all(ev is first for ev in events)  # one object, one id
    assert first.frame is first.frame  # encoded once, then reused
    assert first.frame.decode().startswith(f"id: {first.id}")
    assert b"event: poke" in first.frame and b'data: {"seq":42}' in first.frame
    resumed = broker.replay_after("gone", f"{broker.instance}-0")
    assert resumed == [first]


async def test_heartbeats_go_to_idle_streams_only_once_per_interval() -> None:
    broker = Broker()
    idle = broker.subscribe("amy", "agent", None)
    busy = broker.subscribe("bob", "agent", None)
    fresh = broker.subscribe("cat", "agent", None)
    idle.last_sent = busy.last_sent = 100.0
    fresh.last_sent = 114.0
    broker.to_user("bob", "call_offer", {"call": "c1"})  # bob has an event waiting
    assert broker.heartbeats(15.0, now=115.0) == 1
    assert idle.queue.get_nowait() is HEARTBEAT
    assert busy.queue.qsize() == 1 and fresh.queue.empty()
    assert broker.heartbeats(15.0, now=116.0) == 0  # not twice in one interval


# ---------------------------------------------------------------- frames


def test_frames_on_the_wire_are_what_desks_have_always_read() -> None:
    """Byte for byte the former sse-starlette encoding (CRLF), which the desk's reader and
    httpx-sse parse: id (when there is one), event, data lines, a blank line."""
    ev = Event("a1b2c3d4-7", "poke", {"seq": 42})
    assert ev.frame == b'id: a1b2c3d4-7\r\nevent: poke\r\ndata: {"seq":42}\r\n\r\n'
    offer = Event("a1b2c3d4-8", "call_offer", {"caller": "张三"})
    assert (
        offer.frame
        == 'id: a1b2c3d4-8\r\nevent: call_offer\r\ndata: {"caller":"张三"}\r\n\r\n'.encode()
    )
    hello = sse_frame("hello", json.dumps({"seq": 3, "instance": "x"}))
    assert hello == b'event: hello\r\ndata: {"seq": 3, "instance": "x"}\r\n\r\n'  # no id line
    assert sse_frame("panel", "a\nb") == b"event: panel\r\ndata: a\r\ndata: b\r\n\r\n"
    beat = heartbeat_event("2026-12-06T20:00:00+00:00")
    assert beat.frame == b'event: heartbeat\r\ndata: {"at": "2026-12-06T20:00:00+00:00"}\r\n\r\n'


async def test_a_stream_takes_what_waits_in_one_chunk_of_bounded_size() -> None:
    broker = Broker()
    sub = broker.subscribe("amy", "agent", None)
    for seq in range(1, 4):
        broker.poke(seq)
    taken = sub.queue.take()
    assert [e.data["seq"] for e in taken if e is not None] == [1, 2, 3]
    assert sub.queue.empty()
    big = {"text": "x" * (MAX_CHUNK_BYTES // 3)}
    for _ in range(5):
        broker.to_user("amy", "call_offer", big)
    first = sub.queue.take()
    assert 1 <= len(first) < 5  # at most one frame past the chunk size, the rest waits
    sizes = [len(e.frame) for e in first if e is not None]
    assert sum(sizes[:-1]) < MAX_CHUNK_BYTES  # the last one took it past the size
    rest = sub.queue.take()
    assert len(first) + len(rest) == 5
    broker.poke(9)
    broker.end(sub)
    last = sub.queue.take()
    assert last == [None]  # the end discards what was left: the client has gone


# ---------------------------------------------------------------- watchdog


async def test_the_watchdog_ends_only_a_stream_whose_send_waited_too_long() -> None:
    broker = Broker()
    stuck = broker.subscribe("amy", "agent", None)
    slow = broker.subscribe("bob", "agent", None)
    idle = broker.subscribe("cat", "agent", None)

    async def blocked_send() -> None:
        await asyncio.get_running_loop().create_future()  # a socket that takes no bytes

    stuck.task = asyncio.create_task(blocked_send())
    slow.task = asyncio.create_task(blocked_send())
    idle.task = asyncio.create_task(blocked_send())
    await asyncio.sleep(0)
    for _ in range(3):
        broker.poke(1)
    stuck.sending_since, slow.sending_since = 100.0, 125.0  # idle is waiting for events
    assert broker.stalled(30.0, now=131.0) == [stuck]
    assert broker.stalled(30.0, now=131.5) == []  # once
    await asyncio.sleep(0)
    assert stuck.task.cancelled() and not slow.task.done() and not idle.task.done()
    assert stuck not in broker.subscribers and stuck.queue.empty()  # nothing more kept for it
    assert broker.poke(2) == 2  # the others go on
    broker.unsubscribe(stuck)
    assert stuck not in broker.streams
    for sub in (slow, idle):
        assert sub.task is not None
        sub.task.cancel()


async def test_offers_and_leads_are_found_per_user_as_streams_come_and_go() -> None:
    broker = Broker()
    a1, a2 = broker.subscribe("amy", "agent", None), broker.subscribe("amy", "agent", None)
    bob = broker.subscribe("bob", "agent", None)
    lee = broker.subscribe("lee", "lead", None)
    broker.to_user("amy", "call_offer", {"call": "c1"})  # both of amy's windows, no one else
    assert (a1.queue.qsize(), a2.queue.qsize(), bob.queue.qsize(), lee.queue.qsize()) == (
        1,
        1,
        0,
        0,
    )
    assert broker.users() == {"amy", "bob", "lee"} and broker.has_leads()
    broker.unsubscribe(lee)
    assert not broker.has_leads() and broker.users() == {"amy", "bob"}
    broker.end(a1)  # one window closed: the other still gets amy's offers
    broker.to_user("amy", "call_offer", {"call": "c2"})
    assert a2.queue.qsize() == 2 and "amy" in broker.users()
    broker.unsubscribe(a1)
    broker.unsubscribe(a2)
    assert broker.users() == {"bob"}
