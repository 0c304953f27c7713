"""The clock policy in force (docs/policy.md): read it, replace it, go back to the defaults.

Admins only. A replacement is checked in full first (``hotline.policy``); a bad one is a 422
naming every bad key with its line (``fields``: ``toml.<key>``), and the policy in force does
not change. Deadlines, escalation and figures use a new policy from the next request or job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hotline.policy import MAX_TEXT_CHARS, PolicyError
from hotline.protocol import ErrorBody, FieldProblem
from hotline_server import auth
from hotline_server import policy as stored_policy
from hotline_server.db.engine import write_transaction
from hotline_server.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/policy", tags=["policy"], responses=ERROR_RESPONSES)
Admin = Annotated[auth.User, Depends(auth.require_role("admin"))]


class PolicyIn(BaseModel):
    toml: str = Field(max_length=MAX_TEXT_CHARS, description="the policy file's text (TOML)")


class PolicyOut(BaseModel):
    version: int = Field(description="0: the shipped defaults, never replaced")
    source: str = Field(description="default, api, or file:PATH")
    updated_at: str | None = None
    updated_by: str | None = None
    toml: str
    policy: dict[str, Any] = Field(description="what is in force, every value filled in")


@router.get("", response_model=PolicyOut, summary="The clock policy in force (admin)")
def get_policy(request: Request, user: Admin) -> dict[str, Any]:
    return stored_policy.holder_of(request.app).current_loaded().as_dict()


def _refused(exc: PolicyError) -> Any:
    from fastapi import HTTPException

    fields = [FieldProblem(field=f"toml.{p.key}", message=str(p)) for p in exc.problems]
    body = ErrorBody(
        error="invalid",
        message=f"the policy is not valid, the policy in force is unchanged: {exc}",
        fields=fields,
    )
    return HTTPException(status_code=422, detail=body.model_dump())


@router.put("", response_model=PolicyOut, summary="Replace the clock policy (admin)")
def put_policy(body: PolicyIn, request: Request, user: Admin) -> dict[str, Any]:
    holder = stored_policy.holder_of(request.app)
    try:
        with write_transaction(auth.engine_of(request)) as conn:
            loaded = stored_policy.store(
                conn, body.toml, by=user.username, source="api", now=auth.now_of(request)
            )
    except PolicyError as exc:
        raise _refused(exc) from None
    holder.set(loaded)
    return loaded.as_dict()


@router.delete("", response_model=PolicyOut, summary="Back to the shipped defaults (admin)")
def reset_policy(request: Request, user: Admin) -> dict[str, Any]:
    holder = stored_policy.holder_of(request.app)
    with write_transaction(auth.engine_of(request)) as conn:
        loaded = stored_policy.reset(conn, by=user.username, now=auth.now_of(request))
    holder.set(loaded)
    return loaded.as_dict()
