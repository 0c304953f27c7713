"""The simulator's call-centre model: arrivals, category mix, abandons (seeded, no I/O)."""

from __future__ import annotations

import pytest

from hotline_server.live.simmodel import (
    DAILY_CURVE,
    URGENT_SUBCATEGORIES,
    CallCentre,
    CallGenerator,
    ModelConfig,
)


def test_daily_curve_has_mean_one_and_a_morning_peak() -> None:
    assert sum(DAILY_CURVE) / 24 == pytest.approx(1.0)
    assert max(DAILY_CURVE) == DAILY_CURVE[10]
    assert DAILY_CURVE[3] < 0.1


def test_poisson_arrivals_follow_the_rate() -> None:
    gen = CallGenerator(ModelConfig(calls_per_hour=3600, agents=1, flat=True, seed=1))
    t, n = 0.0, 0
    while True:
        t = gen.next_arrival(t)
        if t > 3600 * 5:
            break
        n += 1
    # 18,000 expected; a Poisson count's sd is ~134, so 5 sd either side
    assert 17_300 < n < 18_700


def test_curve_shapes_the_day() -> None:
    gen = CallGenerator(ModelConfig(calls_per_hour=1000, agents=1, seed=2))
    per_hour = [0] * 24
    t = 0.0
    while (t := gen.next_arrival(t)) < 86_400:
        per_hour[int(t // 3600)] += 1
    assert sum(per_hour) == pytest.approx(24_000, rel=0.03)
    assert per_hour[10] > 10 * per_hour[3]


def test_urgent_subcategories_follow_march_2022() -> None:
    gen = CallGenerator(ModelConfig(calls_per_hour=1, agents=1, seed=3))
    counts: dict[str, int] = {}
    urgent = 0
    n = 300_000
    for _ in range(n):
        p = gen.profile()
        if p.urgent_subcategory:
            urgent += 1
            counts[p.urgent_subcategory] = counts.get(p.urgent_subcategory, 0) + 1
    assert urgent / n == pytest.approx(4720 / 740_701, rel=0.15)
    total = sum(c for _, c in URGENT_SUBCATEGORIES)
    for name, c in URGENT_SUBCATEGORIES:
        share = counts.get(name, 0) / urgent
        assert share == pytest.approx(c / total, abs=0.05), name


def run_day(agents: int, calls_per_hour: float) -> dict[str, int]:
    cc = CallCentre(ModelConfig(calls_per_hour=calls_per_hour, agents=agents, seed=7, flat=True))
    events = cc.advance(4 * 3600)
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    return kinds


def test_abandons_grow_when_agents_are_short() -> None:
    # 200 calls/h at 195 s per call needs ~11 agents: 20 cope, 5 do not
    many = run_day(agents=20, calls_per_hour=200)
    few = run_day(agents=5, calls_per_hour=200)
    assert many.get("abandoned", 0) < 0.05 * many["offered"]
    assert few["abandoned"] > 0.3 * few["offered"]


def test_every_call_follows_the_lifecycle_in_order() -> None:
    cc = CallCentre(ModelConfig(calls_per_hour=400, agents=6, seed=9, flat=True))
    events = cc.advance(2 * 3600, max_offered=300)
    events += cc.advance(10 * 3600)
    assert not cc.busy
    seen: dict[str, list[str]] = {}
    last_t = 0.0
    for e in events:
        assert e.t >= last_t
        last_t = e.t
        if e.kind not in ("seat", "ticket"):
            seen.setdefault(e.call_id, []).append(e.kind)
    assert len(seen) == 300
    answered = ["offered", "offered_to_seat", "answered", "ended", "after_call_ended"]
    for kinds in seen.values():
        assert kinds in (answered, ["offered", "abandoned"])
