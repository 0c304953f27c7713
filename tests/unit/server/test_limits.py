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
