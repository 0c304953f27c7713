"""The server's log configuration: no citizen's data in the logs.

Two filters on every handler ``hotline-server serve`` logs through:

- :class:`AccessPathFilter`: the access log shows the path without its query string. A
  query can hold a phone number (``/api/v1/calls?phone=13812345678``), and an access log is
  kept longer and read by more people than the database.
- :class:`RedactFilter`: tracebacks and messages lose the values a database error carries:
  SQLAlchemy's ``[parameters: ...]`` (engines also run with ``hide_parameters=True``; this
  covers any other) and PostgreSQL's ``DETAIL:`` lines (``Key (phone)=(138...)``).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

_PARAMETERS = re.compile(
    r"\[parameters: .*?\](?=\s*\n\(Background on this error|\s*\n|\s*$)", re.DOTALL
)
_DETAIL = re.compile(r"^(\s*DETAIL:).*$", re.MULTILINE)


def redact(text: str) -> str:
    """``text`` without SQL parameters and without DETAIL lines of database errors."""
    text = _PARAMETERS.sub("[parameters hidden]", text)
    return _DETAIL.sub(r"\1 (hidden)", text)


class RedactFilter(logging.Filter):
    """Renders a record's traceback and message once, redacted (formatters reuse both)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class AccessPathFilter(logging.Filter):
    """uvicorn's access record is ``(client, method, path?query, http_version, status)``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with both filters on its handlers, and the
    server's (and libraries') warnings through the same redacting handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "redact": {"()": "hotline_server.logs.RedactFilter"},
        "access_path": {"()": "hotline_server.logs.AccessPathFilter"},
    }
    config["handlers"]["default"]["filters"] = ["redact"]
    config["handlers"]["access"]["filters"] = ["access_path", "redact"]
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config
