"""Network and server failures as words for the agent, never a Python class name.

The replicator keeps why the last round failed as text in a fixed form ("ReadError: ...",
"HTTP 503: ...", "bad answer: ...", "cache: ..."); the lead panel has the exception itself.
Both come here to become one of a few i18n texts (网络中断, 连接被重置 ...). A server's own
message (after "HTTP nnn: ") is kept: it names the field or the reason.
"""

from __future__ import annotations

import re

from agent_tui.i18n import t

# exception class name (httpx's, the standard library's) -> i18n key
BY_NAME: dict[str, str] = {
    "ConnectError": "net.connect",
    "ConnectionRefusedError": "net.connect",
    "UnsupportedProtocol": "net.bad_address",
    "InvalidURL": "net.bad_address",
    "ConnectTimeout": "net.timeout",
    "ReadTimeout": "net.timeout",
    "WriteTimeout": "net.timeout",
    "PoolTimeout": "net.timeout",
    "TimeoutException": "net.timeout",
    "TimeoutError": "net.timeout",
    "ReadError": "net.dropped",
    "WriteError": "net.dropped",
    "NetworkError": "net.dropped",
    "TransportError": "net.dropped",
    "BrokenPipeError": "net.dropped",
    "RemoteProtocolError": "net.reset",
    "LocalProtocolError": "net.reset",
    "ProtocolError": "net.reset",
    "ConnectionResetError": "net.reset",
    "ConnectionAbortedError": "net.reset",
    "ProxyError": "net.proxy",
}

_NAMED = re.compile(
    r"^(?:LinkDown: )?(?P<name>[A-Z][A-Za-z]*(?:Error|Exception|Timeout|Protocol|URL))(?::|$)"
)
_HTTP = re.compile(r"^HTTP (?P<code>\d{3}): ?(?P<message>.*)$", re.S)


def error_text(detail: str) -> str:
    """The replicator's ``last_error`` (or any "Name: message" text) for the status bar."""
    text = detail.strip()
    if not text:
        return ""
    named = _NAMED.match(text)
    if named is not None:
        return t(BY_NAME.get(named.group("name"), "net.other"))
    http = _HTTP.match(text)
    if http is not None:
        return t("net.http", code=http.group("code"), message=http.group("message"))
    if text.startswith("bad answer:"):
        return t("net.bad_answer")
    if text.startswith("cache:"):
        return t("link.cache_error")
    return text


def exception_text(exc: BaseException) -> str:
    """An exception as the same words: by its class or the nearest known base class."""
    for cls in type(exc).__mro__:
        if cls.__name__ in BY_NAME:
            return t(BY_NAME[cls.__name__])
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return error_text(message)
    return t("net.other")
