"""The replicator's retry delays (offline_cache.replicator.Backoff): exponential from ``base``,
capped at ``cap``, jittered (each delay between half and all of its ceiling), back to ``base``
after a success."""

from __future__ import annotations

from offline_cache.replicator import Backoff


def ceilings(base: float, cap: float, n: int) -> list[float]:
    return [min(cap, base * 2**k) for k in range(n)]


def test_delays_grow_from_base_and_stay_within_their_bounds() -> None:
    b = Backoff(base=0.5, cap=30.0)
    for k, ceiling in enumerate(ceilings(0.5, 30.0, 12)):
        delay = b.next_delay()
        assert ceiling / 2 <= delay <= ceiling, (k, delay)
    assert b.attempt == 12


def test_the_cap_holds_however_many_failures() -> None:
    b = Backoff(base=0.5, cap=30.0)
    delays = [b.next_delay() for _ in range(200)]
    assert max(delays) <= 30.0
    assert all(15.0 <= d <= 30.0 for d in delays[7:])  # 0.5 * 2**6 = 32 > cap from here on


def test_jitter_spreads_the_desks_retries() -> None:
    """Twenty desks that lost the link at one moment must not all knock again together."""
    delays = []
    for _ in range(50):
        b = Backoff(base=0.5, cap=30.0)
        for _ in range(5):
            b.next_delay()
        delays.append(b.next_delay())  # each one's 6th try: ceiling 16 s
    assert all(8.0 <= d <= 16.0 for d in delays)
    assert len(set(delays)) > 40 and min(delays) < 11.0 and max(delays) > 13.0


def test_reset_starts_again_from_base() -> None:
    b = Backoff(base=1.0, cap=60.0)
    for _ in range(10):
        b.next_delay()
    b.reset()
    assert b.attempt == 0
    assert 0.5 <= b.next_delay() <= 1.0
    assert 1.0 <= b.next_delay() <= 2.0


def test_a_whole_night_offline_keeps_the_cap() -> None:
    """An 8-hour outage at ~22 s a try is ~1,300 tries; a weekend far more."""
    b = Backoff(base=0.5, cap=30.0)
    for _ in range(5_000):
        assert 15.0 <= b.next_delay() <= 30.0 or b.attempt < 8
