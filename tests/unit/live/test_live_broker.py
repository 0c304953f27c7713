"""The SSE broker: bounded per-subscriber queues, visibility, Last-Event-ID replay."""

from __future__ import annotations

import asyncio

from hotline_server.live.broker import HEARTBEAT, Broker
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


async def test_close_all_ends_every_stream() -> None:
    broker = Broker(queue_size=1)
    sub = broker.subscribe("amy", "agent", None)
    broker.poke(1)
    broker.close_all()
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
