"""Push and pull (SYNC.md).

Both answer 403 ``client_not_yours`` (field ``client_id``) when the client id was first used
by another user (:mod:`hotline_server.sync.clients`); nothing is read or applied then.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hotline.protocol import MAX_PULL_LIMIT, PullResponse, PushRequest, PushResponse
from hotline_server import auth
from hotline_server.errors import ERROR_RESPONSES, problem
from hotline_server.limits import NUL_FREE
from hotline_server.sync import clients
from hotline_server.sync import pull as pull_mod
from hotline_server.sync import push as push_mod

router = APIRouter(prefix="/api/v1/sync", tags=["sync"], responses=ERROR_RESPONSES)


def committed(request: Request, seq: int | None) -> None:
    """Tell the live side (event stream pokes) that the change log moved."""
    if seq is None:
        return
    from hotline_server import live

    live.changes_committed(request.app, seq)


@router.post("/push", response_model=PushResponse, summary="Apply a batch of mutations once")
def push(body: PushRequest, request: Request, user: auth.CurrentUser) -> Response:
    try:  # whether teams are configured is read in the push's transaction, when needed
        outcome = push_mod.push(auth.engine_of(request), user, body, auth.now_of(request),
                                timezone=auth.settings_of(request).timezone,
                                nul_free=request.scope.get(NUL_FREE, False))  # fmt: skip
    except push_mod.Gap as exc:
        raise problem(409, str(exc), "mutation_id", error="gap") from exc
    except push_mod.OutOfOrder as exc:
        raise problem(422, str(exc), "mutations") from exc
    except clients.NotYourClient as exc:
        raise problem(403, str(exc), "client_id", error=clients.NOT_YOURS) from exc
    for callback in outcome.after_commit:
        callback(request.app)
    committed(request, outcome.last_seq)
    # encoded once, from the model push built (``response_model`` still documents it): the
    # default path would dump it, validate it again and encode it again, per mutation
    return Response(outcome.response.model_dump_json(), media_type="application/json")


@router.get("/pull", response_model=PullResponse, summary="Changes after a cursor")
def pull(
    request: Request,
    user: auth.CurrentUser,
    cursor: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = 500,
    client_id: Annotated[
        str | None, Query(min_length=32, max_length=36, pattern=r"^[0-9a-fA-F-]{32,36}$")
    ] = None,
) -> PullResponse:
    try:
        return pull_mod.pull(auth.engine_of(request), user, cursor, limit, client_id,
                             auth.now_of(request))  # fmt: skip
    except clients.NotYourClient as exc:
        raise problem(403, str(exc), "client_id", error=clients.NOT_YOURS) from exc
