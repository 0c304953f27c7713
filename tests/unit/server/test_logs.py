"""The server's log filters: SQL parameters, DETAIL lines and query strings never reach a log."""

from __future__ import annotations

import logging

from hotline_server.logs import AccessPathFilter, RedactFilter


def record(msg: str, args: tuple[object, ...] | None = None) -> logging.LogRecord:
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, None)


def test_the_access_path_loses_its_query() -> None:
    r = record(
        '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:1", "GET", "/x?phone=13912345678", "1.1", 200)
    )
    AccessPathFilter().filter(r)
    assert r.getMessage() == '127.0.0.1:1 - "GET /x HTTP/1.1" 200'


def test_parameters_and_detail_lines_are_redacted_in_tracebacks() -> None:
    try:
        raise RuntimeError(
            "(psycopg.errors.CheckViolation) new row violates check constraint\n"
            "DETAIL:  Failing row contains (13912345678).\n"
            "[SQL: INSERT INTO tickets (phone) VALUES (%(phone)s)]\n"
            "[parameters: {'phone': '13912345678'}]\n"
            "(Background on this error at: https://sqlalche.me/e/20/gkpj)"
        )
    except RuntimeError:
        import sys

        r = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactFilter().filter(r)
    text = logging.Formatter().format(r)
    assert "13912345678" not in text
    assert "[parameters hidden]" in text
    assert "INSERT INTO tickets" in text  # the statement itself helps whoever reads the log
