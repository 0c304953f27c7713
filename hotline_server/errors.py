"""The one error-body shape of the server, and the handlers that guarantee it.

Every 4xx/5xx answer of ``/api/v1`` has this JSON body AT TOP LEVEL (not under "detail"):

    {"error": "<code>", "message": "<a sentence a person can read>",
     "fields": [{"field": "<dotted name of the field at fault>", "message": "..."}]}

(``hotline.protocol.ErrorBody``.) ``error`` codes: ``invalid`` (422), ``unauthorized`` (401),
``forbidden`` (403), ``not_found`` (404), ``conflict`` (409: e.g. a sync gap),
``too_many_attempts`` (429, with ``Retry-After``), ``busy`` (503, with ``Retry-After``:
the database is busy, retry), ``internal`` (500: a bug; never expected). ``fields`` is empty
when no single field is at fault. Field names are dotted paths into the request:
``changes.phone``, ``mutations.3.args.id``; query/header parameters by their own name.

Route code raises :func:`problem` (an ``HTTPException`` carrying an ``ErrorBody``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

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
    for code in (401, 403, 404, 409, 422, 429, 503)
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
        log.warning("refused a value the database cannot store: %s", exc.orig)
        body = ErrorBody(
            error="invalid",
            message="a value in the request cannot be stored (out of range, or it contains "
            "a NUL character)",
        )
        return JSONResponse(body.model_dump(), status_code=422)

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database busy or unreachable: %s", exc)
        body = ErrorBody(error="busy", message="the database is busy or unreachable; retry")
        return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        body = ErrorBody(error="internal", message=f"internal error ({type(exc).__name__})")
        return JSONResponse(body.model_dump(), status_code=500)
