"""Sign in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from hotline.protocol import LoginRequest, LoginResponse, UserOut
from hotline_server import auth, proxies
from hotline_server.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


def client_address(request: Request) -> str:
    """The address login limits count by: the peer, or behind a trusted proxy the client it
    forwarded for (hotline_server/proxies.py)."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.getlist("x-forwarded-for")
    return proxies.client_address(peer, forwarded, auth.settings_of(request).trusted_proxies)


@router.post("/login", response_model=LoginResponse, summary="Sign in; returns a bearer token")
def login(body: LoginRequest, request: Request) -> LoginResponse:
    return auth.login(auth.engine_of(request), auth.settings_of(request), body.username,
                      body.password, client_address(request), auth.now_of(request))  # fmt: skip


@router.post("/logout", status_code=204, summary="Revoke this token")
def logout(
    request: Request,
    user: auth.CurrentUser,
    token: Annotated[str, Depends(auth.bearer_token)],
) -> Response:
    auth.logout(auth.engine_of(request), token, auth.now_of(request))
    return Response(status_code=204)


@router.post("/logout-all", status_code=204,
             summary="Revoke every token of the signed-in user (all desks)")  # fmt: skip
def logout_all(request: Request, user: auth.CurrentUser) -> Response:
    auth.logout_everywhere(auth.engine_of(request), user.username, auth.now_of(request))
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="Who am I")
def me(user: auth.CurrentUser) -> UserOut:
    return user.out()
