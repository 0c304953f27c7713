"""``push.nul_path`` answers from a quick pass when nothing holds a NUL, and walks to name
the path otherwise: it must answer what the walk alone answers, for every shape."""

from __future__ import annotations

import random
from typing import Any

import pytest

from hotline_server.sync.push import _nul_walk, _surely_no_nul, nul_path


class Text(str):
    pass


def shapes(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(["", "市民", "a\x00b", "\x00", "x" * 40, Text("t\x00"), Text("t")])
    if kind in (1, 2):
        return rng.choice([None, True, False, 0, -7, 2**70, 1.5, float("nan")])
    if kind == 3:
        return rng.choice([("a\x00",), b"\x00", object()])  # not walked into, either way
    if kind == 4:
        return rng.choice(["args", "电话", "k\x00", ""])
    if kind in (5, 6):
        keys = ["caller_name", "extra", "k\x00", "", "電話"]
        out: dict[Any, Any] = {rng.choice(keys): shapes(rng, depth + 1) for _ in range(3)}
        if rng.random() < 0.1:
            out[rng.choice([1, Text("t\x00"), Text("t")])] = "v"
        return out
    return [shapes(rng, depth + 1) for _ in range(rng.randrange(4))]


def test_the_quick_pass_never_changes_the_answer() -> None:
    rng = random.Random(14)
    found = clean = 0
    for _ in range(5000):
        value = shapes(rng)
        if rng.random() < 0.5:
            value = {"mutation_id": 1, "args": value}
        assert nul_path(value) == _nul_walk(value)
        if _surely_no_nul(value):
            assert _nul_walk(value) is None
            clean += 1
        found += _nul_walk(value) is not None
    assert found > 500 and clean > 500  # both branches taken often


@pytest.mark.parametrize(("value", "path"), [
    ({"args": {"address": "漕溪北路\x001号"}}, "args.address"),
    ({"args": {"extra": {"楼\x00层": "3"}}}, "args.extra.楼\x00层"),
    ({"args": {"extra": {"n": [1, "a", ["b\x00"]]}}}, "args.extra.n.2.0"),
    ({"args": {"address": Text("x\x00")}}, "args.address"),
    ("\x00", "value"),
    ({"args": {"address": "漕溪北路1号", "extra": {"n": [1, 2.5, None, True]}}}, None),
])  # fmt: skip
def test_paths_are_named_as_before(value: Any, path: str | None) -> None:
    assert nul_path(value) == path
