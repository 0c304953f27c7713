"""The JSON depth check of hotline_server.limits: where a body goes too deep, without parsing."""

from __future__ import annotations

import json

from hotline_server.limits import MAX_JSON_DEPTH, too_deep_at


def test_depth_within_the_limit_passes() -> None:
    body = json.dumps({"a": [[[{"b": 1}]]] * 50}).encode()
    assert too_deep_at(body) is None
    assert too_deep_at(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is None


def test_the_path_names_keys_and_indexes() -> None:
    deep: object = {}
    for _ in range(40):
        deep = {"k": deep}
    body = json.dumps({"mutations": [{"x": 1}, {"args": deep}]}).encode()
    path = too_deep_at(body)
    assert path is not None
    assert path.startswith("mutations.1.args.k.k")
    assert len(path.split(".")) == MAX_JSON_DEPTH


def test_brackets_inside_strings_do_not_count() -> None:
    body = json.dumps({"text": "[" * 1000 + '\\"{' * 100, "list": [1, 2]}).encode()
    assert too_deep_at(body) is None


def test_a_hundred_thousand_brackets_stop_at_the_limit() -> None:
    path = too_deep_at(b"[" * 100_000)
    assert path == ".".join(["0"] * MAX_JSON_DEPTH)


def test_escaped_quotes_and_backslashes_do_not_hide_or_fake_depth() -> None:
    tricky = '\\"' + "[" * 100 + '\\\\"{' + "\n\\u005b"
    assert too_deep_at(json.dumps({"t": tricky, "u": [[1]] * 40}).encode()) is None
    deep: object = 1
    for _ in range(40):
        deep = [tricky, deep]
    path = too_deep_at(json.dumps({"t": tricky, "d": deep}).encode())
    assert path is not None and path.startswith("d.1.1.1")


def _deeper_one_by_one(body: bytes, limit: int) -> bool:
    """The depth check as it was before its strings and depth were found in C: one regex
    pass for all strings, then a Python loop over the brackets left (a stray quote of
    broken JSON counts as a closer, as there)."""
    import re

    if b"\\" in body:
        body = re.sub(rb"\\.", b"", body, flags=re.DOTALL)
    structural = bytes(b for b in body if b in b'[]{}"')
    brackets = re.sub(rb'"[^"]*"', b"", structural)
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def test_the_quick_depth_check_agrees_with_the_one_by_one_loop() -> None:
    """``_deeper_than`` (C-speed passes, empty strings taken out in one go) against the
    loop it replaced, on random bodies: brackets in and out of strings, escapes, empty
    strings, broken JSON (stray quotes and closers), at depths around the limit."""
    import random

    from hotline_server.limits import _deeper_than

    rnd = random.Random(14)
    alphabet = [b"[", b"]", b"{", b"}", b'"', b'""', b"\\", b'\\"', b"a", b":", b",", b"x"]
    for n in range(30_000):
        limit = rnd.randrange(0, 6)
        parts = [rnd.choice(alphabet) for _ in range(rnd.randrange(0, 40))]
        body = b"".join(parts)
        if n % 2 and b"\\" in body[-1:]:
            body += b"y"
        assert _deeper_than(body, limit) == _deeper_one_by_one(body, limit), (body, limit)
    push = json.dumps({"mutations": [{"args": {"a": "[{", "b": "", "c": [1, {"d": "]"}]}}] * 50})
    for limit in range(0, 8):
        assert _deeper_than(push.encode(), limit) == _deeper_one_by_one(push.encode(), limit)
