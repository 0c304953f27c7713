"""The simulator's realism (issue 13), seeded and without I/O: agents take breaks and sign out
for a while (shrinkage), so a day's answer rate lands in the band docs/simulator.md gives
rather than at 100%; dispatched tickets move through the closed loop in the order
hotline.states allows, so the resolution rate is not 0."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from hotline.model import Status
from hotline.states import can_move
from hotline_server.live.simmodel import (
    BREAK_REASONS,
    CallCentre,
    Lifecycle,
    ModelConfig,
    Shrinkage,
    SimEvent,
)

DAY = 86_400.0
# docs/simulator.md: a normal day (23,000 calls scaled 1:10, i.e. 2,300 a day, ~96 an hour)
# with 16 agents signed in all day.
NORMAL_DAY = ModelConfig(calls_per_hour=23_000 / 10 / 24, agents=16, seed=2022)
# the March 2022 surge (37,000 calls a day, 1.6x normal) met by the same 16 agents
SURGE_DAY = ModelConfig(calls_per_hour=37_000 / 10 / 24, agents=16, seed=2022)


def run(cfg: ModelConfig, until: float = DAY) -> tuple[CallCentre, list[SimEvent]]:
    cc = CallCentre(cfg)
    return cc, cc.advance(until)


def test_a_normal_day_answers_near_the_95_percent_target_not_everything() -> None:
    cc, _ = run(NORMAL_DAY)
    tot = cc.totals
    assert tot.offered == pytest.approx(2_300, rel=0.06)
    rate = tot.answered / tot.offered
    # docs/simulator.md band for a normal day: 93-98 % (GB/T 33358 asks >= 95 %)
    assert 0.93 <= rate <= 0.98, rate
    assert tot.abandoned > 0


def test_a_surge_day_with_the_same_staff_answers_like_march_2022() -> None:
    cc, _ = run(SURGE_DAY)
    rate = cc.totals.answered / cc.totals.offered
    # 740,701 answered in 23 days at ~37,000 offered a day: 87 %; the band is 80-92 %
    assert 0.80 <= rate <= 0.92, rate


def test_without_shrinkage_the_same_day_answers_more() -> None:
    cfg = ModelConfig(**{**NORMAL_DAY.__dict__, "shrinkage": None})
    plain, events = run(cfg)
    real, _ = run(NORMAL_DAY)
    assert not [e for e in events if e.kind == "seat"]
    assert plain.totals.answered / plain.totals.offered > real.totals.answered / real.totals.offered


def test_shrinkage_takes_about_a_fifth_of_signed_in_time() -> None:
    cc, events = run(NORMAL_DAY)
    share = cc.totals.off_phone_seconds / (NORMAL_DAY.agents * DAY)
    assert Shrinkage().expected_share == pytest.approx(0.19, abs=0.02)
    assert share == pytest.approx(Shrinkage().expected_share, abs=0.03)
    reasons = Counter(e.reason for e in events if e.kind == "seat" and e.state != "ready")
    # every agent: ~11 short breaks and ~3 meals in 24 h; ~3 unplanned sign-outs; few trainings
    assert reasons["short_break"] == pytest.approx(16 * 11, rel=0.25)
    assert reasons["meal"] == pytest.approx(16 * 3, rel=0.3)
    assert 16 <= reasons["sign_out"] <= 90
    assert set(reasons) <= set(BREAK_REASONS)


def test_an_agent_off_the_phones_is_never_offered_a_call_and_breaks_wait_for_the_call() -> None:
    cc, events = run(NORMAL_DAY)
    state: dict[str, str] = {a: "free" for a in cc.agents}
    calls_seen = 0
    for e in events:
        if e.kind == "seat":
            assert e.agent is not None
            if e.state == "ready":
                assert state[e.agent] == "off"
                state[e.agent] = "free"
            else:
                # a break begins only when the agent is free: never mid-call or in wrap-up
                assert state[e.agent] in ("free", "off"), (e, state[e.agent])
                assert e.state == BREAK_REASONS[e.reason or ""]
                state[e.agent] = "off"
        elif e.kind == "offered_to_seat":
            assert e.agent is not None
            assert state[e.agent] == "free", f"{e.agent} offered a call while {state[e.agent]}"
            state[e.agent] = "busy"
            calls_seen += 1
        elif e.kind == "after_call_ended":
            assert e.agent is not None
            state[e.agent] = "free"
    assert calls_seen == cc.totals.answered


def test_the_same_seed_gives_the_same_day() -> None:
    _, a = run(NORMAL_DAY, DAY / 4)
    _, b = run(NORMAL_DAY, DAY / 4)
    assert a == b
    plain = CallCentre(ModelConfig(**{**NORMAL_DAY.__dict__, "shrinkage": None, "lifecycle": None}))
    calls = [e for e in plain.advance(DAY / 4) if e.kind == "offered"]
    # breaks and ticket moves use their own random stream: the same calls arrive either way
    assert [e.profile for e in a if e.kind == "offered"] == [e.profile for e in calls]


def ticket_paths(events: list[SimEvent]) -> dict[str, list[str]]:
    """Each ticket's statuses in order: where intake left it, then every move."""
    paths: dict[str, list[str]] = {}
    for e in events:
        if e.kind == "ended" and e.profile is not None and e.profile.disposition != "on_spot":
            first = "dispatched" if e.profile.disposition == "dispatch" else "accepted"
            paths[e.call_id] = [first]
        elif e.kind == "ticket":
            assert e.state is not None
            paths[e.call_id].append(e.state)
    return paths


def test_dispatched_tickets_move_through_the_closed_loop_in_the_allowed_order() -> None:
    cc = CallCentre(NORMAL_DAY)
    events = cc.advance(DAY, max_offered=1_500)
    events += cc.advance(8 * DAY)  # every planned move happens within a week
    paths = ticket_paths(events)
    assert len(paths) > 200
    last_t: dict[str, float] = {}
    for e in events:
        if e.kind in ("ended", "ticket") and e.call_id in paths:
            assert e.t >= last_t.get(e.call_id, 0.0)
            last_t[e.call_id] = e.t
    for call_id, path in paths.items():
        for a, b in pairwise(path):
            assert can_move(Status(a), Status(b)), f"{call_id}: {a} -> {b} in {path}"
    ends = Counter(p[-1] for p in paths.values())
    assert ends["closed"] > 0 and ends["evaluated"] > 0 and ends["handling"] > 0
    assert ends["accepted"] == 0 and ends["dispatched"] == 0  # nothing is left untouched
    # resolution rate 解决率 = resolved / dispatched: the urgent medical 82.9 % of March 2022
    dispatched = [p for p in paths.values() if "dispatched" in p]
    resolved = [p for p in dispatched if p[-1] in ("closed", "evaluated")]
    assert cc.totals.dispatched == len(dispatched)
    assert cc.totals.resolved == len(resolved)
    assert len(resolved) / len(dispatched) == pytest.approx(3_914 / 4_720, abs=0.05)
    # a callback evaluates about half the closed tickets; 98.7 % of callers are satisfied
    scores = [e.score for e in events if e.kind == "ticket" and e.state == "evaluated"]
    assert all(s is not None and 1 <= s <= 5 for s in scores)
    assert len(scores) / len(resolved) == pytest.approx(0.5, abs=0.08)
    assert sum(1 for s in scores if s is not None and s >= 4) / len(scores) >= 0.95
    # the last move of every ticket is marked, so the driver can forget it
    lasts = {e.call_id for e in events if e.kind == "ticket" and e.reason == "last"}
    assert lasts == {c for c, p in paths.items() if len(p) > 1}


def test_red_tickets_are_handled_within_the_30_minutes_mostly() -> None:
    cc = CallCentre(ModelConfig(calls_per_hour=400, agents=40, seed=5))
    events = cc.advance(2 * DAY)
    ended: dict[str, float] = {}
    waits: list[float] = []
    for e in events:
        if e.kind == "ended" and e.profile is not None and e.profile.urgent_subcategory:
            ended[e.call_id] = e.t
        elif e.kind == "ticket" and e.state == "handling" and e.call_id in ended:
            waits.append(e.t - ended.pop(e.call_id))
    assert len(waits) > 30
    assert sum(1 for w in waits if w <= 1800) / len(waits) >= 0.9


def test_tickets_stay_put_without_a_lifecycle() -> None:
    cfg = ModelConfig(**{**NORMAL_DAY.__dict__, "lifecycle": None})
    _, events = run(cfg, DAY / 2)
    assert not [e for e in events if e.kind == "ticket"]
    assert Lifecycle().resolved_share == pytest.approx(0.829, abs=0.001)
