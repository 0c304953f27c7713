"""The one error-body shape of the server, and the handlers that guarantee it.

Every 4xx/5xx answer of ``/api/v1`` has this JSON body AT TOP LEVEL (not under "detail"):

    {"error": "<code>", "message": "<a sentence a person can read>",
     "fields": [{"field": "<dotted name of the field at fault>", "message": "..."}]}

(``hotline.protocol.ErrorBody``.) ``error`` codes: ``invalid`` (422), ``unauthorized`` (401),
``forbidden`` (403), ``not_found`` (404), ``conflict`` (409: e.g. a sync gap),
``too_large`` (413: the body is over HOTLINE_MAX_BODY_BYTES, ``hotline_server.limits``),
``too_many_attempts`` (429, with ``Retry-After``), ``busy`` (503, with ``Retry-After``:
the database is busy, retry), ``internal`` (500: a bug; never expected). ``fields`` is empty
when no single field is at fault. Field names are dotted paths into the request:
``changes.phone``, ``mutations.3.args.id``; query/header parameters by their own name.

Route code raises :func:`problem` (an ``HTTPException`` carrying an ``ErrorBody``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.protocol import ErrorBody, FieldProblem

log = logging.getLogger("hotline_server")

CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "invalid",
    422: "invalid",
    429: "too_many_attempts",
    503: "busy",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": CODES.get(code, "error")}
    for code in (401, 403, 404, 409, 413, 422, 429, 503)
}


def problem(
    status: int,
    message: str,
    field: str | None = None,
    *,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTTPException:
    body = ErrorBody(
        error=error or CODES.get(status, "invalid"),
        message=message,
        fields=[FieldProblem(field=field, message=message)] if field else [],
    )
    return HTTPException(status_code=status, detail=body.model_dump(), headers=headers)


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_body(errors: Sequence[Any]) -> ErrorBody:
    fields = []
    for err in errors:
        name = _field_name(err.get("loc", ()))
        fields.append(FieldProblem(field=name, message=f"{name}: {err.get('msg', 'invalid')}"))
    message = "; ".join(f.message for f in fields[:5]) or "the request is not valid"
    return ErrorBody(error="invalid", message=message, fields=fields)


# ---------------------------------------------------------------- values a database refuses

_WRITE_TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|COPY)\s+\"?(\w+)\"?", re.IGNORECASE)
_BIND_SUFFIX = re.compile(r"_\d+$")  # SQLAlchemy names a WHERE parameter column_1
_INT_BITS = {sa.SmallInteger: 16, sa.BigInteger: 64, sa.Integer: 32}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _int_bits(column: sa.Column[Any] | None) -> int:
    if column is None:
        return 64
    for kind, bits in _INT_BITS.items():
        if isinstance(column.type, kind):
            return bits
    return 0  # not an integer column


def _refused_by_column(column: sa.Column[Any] | None, value: Any, problem_: str) -> bool:
    if problem_ == "long":
        length = getattr(column.type, "length", None) if column is not None else None
        return isinstance(value, str) and length is not None and len(value) > length
    if problem_ == "range":
        bits = _int_bits(column)
        return (isinstance(value, int) and not isinstance(value, bool) and bits > 0
                and not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1))  # fmt: skip
    return _has_nul(value)


def unstorable_field(exc: DataError, request: Request | None = None) -> str | None:
    """The request field whose value the database refused, where it can be told: a NUL
    character (PostgreSQL text cannot hold it), text longer than its column, a number out
    of its column's range. Query and path parameters are named as the request named them;
    other values by their column (``tickets.phone`` -> ``phone``)."""
    text = str(exc.orig)
    code = getattr(exc.orig, "sqlstate", None)
    if code == "22001" or "too long" in text:
        problem_ = "long"
    elif code == "22003" or "out of range" in text:
        problem_ = "range"
    elif "NUL" in text or "\\x00" in text or "0x00" in text:
        problem_ = "nul"
    else:
        return None
    if problem_ == "nul" and request is not None:
        for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
            if _has_nul(value) or _has_nul(name):
                return str(name)
    params = exc.params
    if isinstance(params, list | tuple) and params and isinstance(params[0], dict):
        params = params[0]  # executemany: the rows share their columns
    if not isinstance(params, dict):
        return None
    from hotline_server.db.schema import metadata

    target = _WRITE_TARGET.match(exc.statement or "")
    table = metadata.tables.get(target.group(1)) if target else None
    for key, value in params.items():
        name = key if table is not None and key in table.c else _BIND_SUFFIX.sub("", key)
        column = table.c.get(name) if table is not None else None
        if table is None and problem_ == "long":
            continue  # a comparison is never too long; only a stored value is
        if _refused_by_column(column, value, problem_):
            return name
    return None


def unstorable_body(exc: DataError, request: Request | None = None) -> ErrorBody:
    why = {"22001": "is too long", "22003": "is out of range"}.get(
        str(getattr(exc.orig, "sqlstate", "")),
        "cannot be stored (out of range, too long, or it contains a NUL character)",
    )
    field = unstorable_field(exc, request)
    if field is None:
        return ErrorBody(error="invalid", message=f"a value in the request {why}")
    message = f"{field}: the value {why}"
    return ErrorBody(error="invalid", message=message,
                     fields=[FieldProblem(field=field, message=message)])  # fmt: skip


def db_reason(exc: sa.exc.DBAPIError) -> str:
    """What a database error says, for a log: its first line only (no SQL, no parameters,
    no DETAIL line that can quote a stored value)."""
    lines = str(exc.orig).strip().splitlines()
    return f"{type(exc.orig).__name__}: {lines[0] if lines else ''}"


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if isinstance(detail, dict) and "error" in detail and "message" in detail:
            body = detail
        else:
            body = ErrorBody(
                error=CODES.get(exc.status_code, "invalid"), message=str(detail)
            ).model_dump()
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(exc.errors()).model_dump(), status_code=422)

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> JSONResponse:
        # the transaction was rolled back: nothing of the request was written
        body = unstorable_body(exc, request)
        log.warning("refused a value the database cannot store (%s) on %s %s: %s",
                    db_reason(exc), request.method, request.url.path,
                    body.fields[0].field if body.fields else "field unknown")  # fmt: skip
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database busy or unreachable: %s", db_reason(exc))
        body = ErrorBody(error="busy", message="the database is busy or unreachable; retry")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = ErrorBody(error="internal", message=f"internal error ({type(exc).__name__})")
        return JSONResponse(body.model_dump(), status_code=500)
