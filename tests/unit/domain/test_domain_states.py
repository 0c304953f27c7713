"""The closed loop: random walks only take allowed moves; refused moves name both states."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.model import Status
from hotline.states import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    IllegalTransition,
    can_move,
    move,
)

# No wall-clock limits in tests (a busy CI machine must not fail them).
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_open_and_finished_partition_the_statuses() -> None:
    assert set(Status) == OPEN_STATUSES | FINISHED_STATUSES
    assert not OPEN_STATUSES & FINISHED_STATUSES
    assert set(TRANSITIONS) == set(Status)


def test_every_status_is_reachable_from_accepted() -> None:
    seen = {Status.ACCEPTED}
    frontier = [Status.ACCEPTED]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert seen == set(Status)


def test_the_closed_loop_in_order() -> None:
    path = [
        Status.DISPATCHED,
        Status.HANDLING,
        Status.REPLIED,
        Status.SUPERVISED,
        Status.REPLIED,
        Status.CLOSED,
        Status.CALLBACK,
        Status.EVALUATED,
    ]
    state = Status.ACCEPTED
    for target in path:
        state = move(state, target)
    assert state == Status.EVALUATED


def test_answered_on_the_spot_closes_at_intake_and_merge_is_final() -> None:
    assert move(Status.ACCEPTED, Status.CLOSED) == Status.CLOSED
    assert move(Status.ACCEPTED, Status.MERGED) == Status.MERGED
    assert TRANSITIONS[Status.MERGED] == frozenset()


def test_illegal_move_names_both_states() -> None:
    with pytest.raises(IllegalTransition) as err:
        move(Status.EVALUATED, Status.HANDLING)
    assert err.value.current == Status.EVALUATED
    assert err.value.target == Status.HANDLING
    assert "evaluated" in str(err.value)
    assert "handling" in str(err.value)
    assert isinstance(err.value, ValueError)


@PROPERTY
@given(st.lists(st.sampled_from(list(Status)), max_size=40))
def test_random_walks_never_reach_an_illegal_state(targets: list[Status]) -> None:
    state = Status.ACCEPTED
    history = [state]
    for target in targets:
        if can_move(state, target):
            state = move(state, target)
            history.append(state)
        else:
            with pytest.raises(IllegalTransition) as err:
                move(state, target)
            assert state.value in str(err.value)
            assert target.value in str(err.value)
    for before, after in itertools.pairwise(history):
        assert after in TRANSITIONS[before]
    assert state in TRANSITIONS
