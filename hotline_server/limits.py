"""Bounds on what one request may hold, checked before any route reads it.

- **Size**: a body longer than ``Settings.max_body_bytes`` (HOTLINE_MAX_BODY_BYTES, 1 MiB by
  default) is answered 413 without being read further, whether the client declared its
  length or sends it in chunks. The largest legitimate bodies fit with room to spare: a
  desk's push stays under ``hotline.protocol.MAX_PUSH_BODY_BYTES`` (the replicator cuts its
  batches to it) and a phone system's batch of 1000 events stays under 1,000,000 bytes
  even with every field at its longest and Chinese escaped (typical batches: ~200 KB).
- **Depth**: JSON nested more than :data:`MAX_JSON_DEPTH` levels is answered 422 naming the
  path where it goes too deep (``mutations.0.args.extra.a.a...``), before any parser
  recurses into it. No legitimate body comes near (a push with a ticket's ``extra`` at its
  own limit is about 15 levels deep).
- **Clock**: the request runs with the server's time as the reference for client times
  (``hotline.times``): a ``created_at`` in 2999 is refused naming the field.
"""

from __future__ import annotations

import json
import operator
import re
from datetime import UTC, datetime
from itertools import accumulate, count
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.protocol import ErrorBody, FieldProblem
from hotline.times import reference_now

MAX_JSON_DEPTH = 32
# Set in the scope of every request whose body cannot hold a NUL character once parsed:
# JSON spells one only as the escape ``\u0000`` (``json.loads`` refuses a raw control
# character in a string, and one outside a string is not JSON), so a body without those six
# bytes has none. A body with them is walked as before (also one holding ``\\u0000``: an
# escaped backslash, then ``u0000``, no NUL).
NUL_FREE = "hotline.nul_free"
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.DOTALL)
_OPENERS = (ord("["), ord("{"))
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"')
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'[]{}"')
_STEPS = bytes(2 if b in _OPENERS else 0 for b in range(256))


def _key_text(token: bytes) -> str:
    try:
        text = json.loads(token)
    except ValueError:
        text = token[1:-1].decode("utf-8", "replace")
    return str(text)[:60]


def _deeper_than(body: bytes, limit: int) -> bool:
    """Whether ``body`` nests deeper than ``limit``: escapes out, then all but brackets and
    quotes out, then strings out, then the deepest point of what is left (each a C-speed
    pass: no Python loop per byte).

    Strings go in two steps: ``""`` pairs first (a string without brackets, or the gap
    between two strings with none; a push body is thousands of them, and one ``replace``
    takes them all), then the few strings left that hold a bracket. With an even number of
    quotes, every quote closes the string the one before it opened; removing two adjacent
    ones keeps that pairing for the rest, so the same brackets stay inside strings."""
    if b"\\" in body:
        body = _ESCAPE.sub(b"", body)
    structural = body.translate(None, _NOT_STRUCTURAL)
    if not structural.count(b'"') % 2:  # (an odd count: broken JSON, its last quote stray)
        structural = structural.replace(b'""', b"")
    brackets = _QUOTED.sub(b"", structural) if b'"' in structural else structural
    if len(brackets) <= limit:
        return False
    # depth after k bytes = 2 * (openers among them) - k: an opener steps 2, anything else
    # (a closer, a stray quote of broken JSON) 0, less one per byte
    steps = accumulate(brackets.translate(_STEPS))
    deepest: int = max(map(operator.sub, steps, count(1)))
    return deepest > limit


def too_deep_at(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The dotted path of the first array or object nested deeper than ``limit`` in the JSON
    ``body`` (``""`` for the top level), or ``None``. Brackets inside strings never count.
    A body within the limit costs a few passes in C; only a too-deep one is walked token by
    token to name the place."""
    if body.count(b"[") + body.count(b"{") <= limit or not _deeper_than(body, limit):
        return None
    # one frame per open container: [is_object, index or key]
    stack: list[list[Any]] = []
    last_string = ""
    for match in _TOKEN.finditer(body):
        token = match.group()
        first = token[0]
        if first in _OPENERS:
            if len(stack) >= limit:
                return ".".join(str(frame[1]) for frame in stack)
            stack.append([first == ord("{"), 0 if first == ord("[") else ""])
        elif token in (b"]", b"}"):
            if stack:
                stack.pop()
        elif token == b",":
            if stack and not stack[-1][0]:
                stack[-1][1] += 1
        elif token == b":":
            if stack and stack[-1][0]:
                stack[-1][1] = last_string
        else:
            last_string = _key_text(token)
    return None


async def _answer(send: Send, status: int, body: ErrorBody) -> None:
    data = json.dumps(body.model_dump(), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _too_large(limit: int) -> ErrorBody:
    return ErrorBody(
        error="too_large",
        message=f"the request body is larger than {limit} bytes (the server's "
        "HOTLINE_MAX_BODY_BYTES); send less at a time",
    )


def _too_deep(path: str) -> ErrorBody:
    where = path or "the top level"
    message = f"{where}: the JSON nests more than {MAX_JSON_DEPTH} levels deep"
    return ErrorBody(error="invalid", message=message,
                     fields=[FieldProblem(field=path or "body", message=message)])  # fmt: skip


class RequestLimits:
    """ASGI middleware: read the body (at most ``max_body_bytes``), check its depth, then
    hand it to the app in one piece under the server's reference clock."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer(send, 413, _too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        for _ in range(limit + 2):  # bounded: more messages than bytes allowed is refused
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its request was complete
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, _too_large(limit))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        else:
            await _answer(send, 413, _too_large(limit))
            return
        body = b"".join(chunks)
        deep = too_deep_at(body) if body else None
        if deep is not None:
            await _answer(send, 422, _too_deep(deep))
            return
        scope[NUL_FREE] = b"\\u0000" not in body
        clock = getattr(scope["app"].state, "clock", None) if "app" in scope else None
        with reference_now(clock() if clock is not None else datetime.now(UTC)):
            await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then what the client sends next
    (a disconnect, for a stream that waits for one)."""
    first: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

    async def again() -> Message:
        if first:
            return first.pop()
        return await receive()

    return again


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
