"""Push and pull (SYNC.md).

Both answer 403 ``client_not_yours`` (field ``client_id``) when the client id was first used
by another user (:mod:`hotline_server.sync.clients`); nothing is read or applied then.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute

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


class _PushRoute(APIRoute):
    """The push route, reading a clean body in one pass: when the body holds no NUL
    (``limits.NUL_FREE``) and every mutation in it is well formed, pydantic parses and
    checks it straight from the JSON text (:func:`push_mod.read_clean_body`) and the route
    gets that :class:`PushRequest`; otherwise nothing changes (FastAPI's ``json.loads``,
    :class:`PushRequest` of envelopes, each mutation checked on its own, refusals naming the
    field). The body stays declared as :class:`PushRequest` (OpenAPI unchanged): FastAPI
    reads the parsed JSON from the request (Starlette keeps it as ``Request._json`` once
    read), and a :class:`PushRequest` given there is taken as it is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_once(request: Request) -> Response:
            if request.scope.get(NUL_FREE, False):
                clean = push_mod.read_clean_body(await request.body())
                if clean is not None:
                    request._json = clean  # what request.json() answers from now on
            return await handler(request)

        return read_once


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


router.add_api_route("/push", push, methods=["POST"], response_model=PushResponse,
                     summary="Apply a batch of mutations once",
                     route_class_override=_PushRoute)  # fmt: skip


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
