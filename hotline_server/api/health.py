"""Liveness/readiness for load balancers and the test harness."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The server is up and reaches its database")
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any database failure means "not ready"
        return JSONResponse({"status": "down", "database": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})
