"""The collector's young collections held back while a desk starts, and let go after.

- ``young_collections_held`` raises the young threshold and its release sets back the one
  it found, once; a threshold someone set since is left alone; a hold taken while another
  is on (or the threshold is already that high, or the collector's threshold is 0) does
  nothing, nor does its release;
- a desk app holds them from its object on; an app that is never run lets go when it goes;
- the desk's start in a new process (``test_desk_start.py``, the ``agent-tui`` child) runs
  no collection up to its cached user shown, and has the thresholds back once it is up.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from agent_tui import START_YOUNG_THRESHOLD, young_collections_held
from agent_tui.app import build_app
from agent_tui.config import Settings


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[tuple[int, ...]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_held_then_released_once(thresholds: tuple[int, ...]) -> None:
    release = young_collections_held()
    assert gc.get_threshold() == (START_YOUNG_THRESHOLD, 10, 10)
    release()
    assert gc.get_threshold() == thresholds
    gc.set_threshold(500, 10, 10)
    release()  # once: a later call changes nothing
    assert gc.get_threshold() == (500, 10, 10)


def test_a_threshold_set_meanwhile_stays() -> None:
    release = young_collections_held()
    gc.set_threshold(2000, 5, 5)
    release()
    assert gc.get_threshold() == (2000, 5, 5)


def test_a_hold_inside_a_hold_changes_nothing(thresholds: tuple[int, ...]) -> None:
    outer = young_collections_held()
    inner = young_collections_held()
    inner()
    assert gc.get_threshold()[0] == START_YOUNG_THRESHOLD  # the outer hold is still on
    outer()
    assert gc.get_threshold() == thresholds


def test_no_hold_where_young_collections_are_off_or_rarer() -> None:
    for first in (0, START_YOUNG_THRESHOLD * 2):
        gc.set_threshold(first, 10, 10)
        release = young_collections_held()
        assert gc.get_threshold() == (first, 10, 10)
        release()
        assert gc.get_threshold() == (first, 10, 10)


def test_an_app_never_run_lets_go_when_it_goes(thresholds: tuple[int, ...]) -> None:
    app = build_app(Settings(server="http://127.0.0.1:9"))
    assert gc.get_threshold()[0] == START_YOUNG_THRESHOLD
    del app
    gc.collect()
    assert gc.get_threshold() == thresholds
