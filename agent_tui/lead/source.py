"""Where the shift-lead panel gets its data: the server's lead endpoints, over HTTP.

Kept apart from the screen (Braindrop's rule: the API client knows nothing of the UI) so the
panel can be fed by any object with the same methods (:class:`LeadDataSource`), and so the
figures come from the server as they are: this module fetches and passes on, it computes
no measure.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import httpx

from offline_cache.tls import shared_ssl_context

# Red tickets the panel lists: open statuses of the closed loop (hotline.states.OPEN_STATUSES).
OPEN_STATUS_VALUES = ("accepted", "dispatched", "handling", "replied", "supervised")


class LeadSourceError(Exception):
    """The server refused or could not be reached; ``kind`` says which, for the UI's text."""

    kind = "error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class AccessDenied(LeadSourceError):
    """403: the signed-in user is not a lead or admin; the server keeps the data to itself."""

    kind = "forbidden"


class NotSignedIn(LeadSourceError):
    """401: no token, or it has expired."""

    kind = "unauthorized"


class LinkDown(LeadSourceError):
    """The server cannot be reached (connection refused, timeout, dropped stream)."""

    kind = "link_down"


class Refused(LeadSourceError):
    """Any other 4xx/5xx: the server's own message is kept for the screen."""

    kind = "refused"


@dataclass(frozen=True)
class ActionResult:
    """The outcome of escalate/reassign as the server reported it."""

    ok: bool
    message: str = ""


class LeadDataSource(Protocol):
    """What :class:`~agent_tui.lead.screen.LeadPanelScreen` needs. All calls are async."""

    async def summary(self, window: str) -> dict[str, Any]: ...

    async def _open_tickets(self, **filters: str | bool) -> list[dict[str, Any]]:
        params: list[tuple[str, str | int | float | bool | None]] = [("limit", 500)]
        params += [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items()]
        params += [("status", s) for s in OPEN_STATUS_VALUES]
        try:
            response = await self._client.get("/api/v1/tickets", params=params)
        except httpx.HTTPError as exc:
            raise LinkDown(f"{type(exc).__name__}: {exc}") from exc
        _raise_for(response)
        body = response.json()
        rows = body if isinstance(body, list) else body.get("tickets", body.get("items", []))
        return [t for t in rows if t.get("status", "accepted") in OPEN_STATUS_VALUES]

    async def red_tickets(self) -> list[dict[str, Any]]:
        """Open red tickets, then open overdue tickets of any urgency (the supervision desk's
        list), as the server's ticket list returns them; each ticket once."""
        red, overdue = await asyncio.gather(
            self._open_tickets(urgency="red"), self._open_tickets(overdue=True)
        )
        seen: set[str] = set()
        out = []
        for t in [*[t for t in red if t.get("urgency") == "red"], *overdue]:
            if str(t.get("id")) not in seen:
                seen.add(str(t.get("id")))
                out.append(t)
        return out

    async def ticket(self, ticket_id: str) -> dict[str, Any]: ...

    async def escalate(self, ticket_id: str, reason: str) -> ActionResult: ...

    async def reassign(self, ticket_id: str, assignee: str, base_revision: int) -> ActionResult: ...

    async def daily_report_csv(self, day: date | None) -> tuple[str, bytes]: ...

    async def aclose(self) -> None: ...


def _message(response: httpx.Response) -> str:
    """The server's human message from an ErrorBody, top level or under ``detail``."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        inner = body.get("detail", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return response.reason_phrase


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    msg = _message(response)
    if response.status_code == 401:
        raise NotSignedIn(msg, 401)
    if response.status_code == 403:
        raise AccessDenied(msg, 403)
    raise Refused(msg, response.status_code)


class HttpLeadSource:
    """The lead endpoints of one server, with one bearer token.

    ``HttpLeadSource("http://127.0.0.1:8000", token)``. ``transport`` lets a caller route the
    client (e.g. through a proxy); the screen never needs it.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        stream_read_timeout: float = 45.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._client = httpx.AsyncClient(
            base_url=self.server_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=shared_ssl_context(),
        )
        # The stream goes quiet between heartbeats (15 s); longer silence is a dead link.
        self._stream_timeout = httpx.Timeout(timeout, read=stream_read_timeout)
        # Escalate/reassign are ordinary sync mutations; the panel is online-only, so it is
        # its own short-lived client with ids counting from 1.
        self._client_id = str(uuid.uuid4())
        self._mutation_ids = itertools.count(1)

    async def _get(self, path: str, **params: Any) -> httpx.Response:
        try:
            response = await self._client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise LinkDown(f"{type(exc).__name__}: {exc}") from exc
        _raise_for(response)
        return response

    async def summary(self, window: str) -> dict[str, Any]:
        body: dict[str, Any] = (await self._get("/api/v1/metrics/summary", window=window)).json()
        return body

    async def red_tickets(self) -> list[dict[str, Any]]:
        """Open red tickets, as the server's ticket list returns them."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("urgency", "red"),
            ("limit", 500),
        ]
        params += [("status", s) for s in OPEN_STATUS_VALUES]
        try:
            response = await self._client.get("/api/v1/tickets", params=params)
        except httpx.HTTPError as exc:
            raise LinkDown(f"{type(exc).__name__}: {exc}") from exc
        _raise_for(response)
        body = response.json()
        rows = body if isinstance(body, list) else body.get("tickets", body.get("items", []))
        return [
            t
            for t in rows
            if t.get("urgency") == "red" and t.get("status", "accepted") in OPEN_STATUS_VALUES
        ]

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        body: dict[str, Any] = (await self._get(f"/api/v1/tickets/{ticket_id}")).json()
        return body

    async def events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """``(event, data)`` from ``GET /api/v1/events`` until the stream ends or fails."""
        from httpx_sse import aconnect_sse

        try:
            async with aconnect_sse(
                self._client, "GET", "/api/v1/events", timeout=self._stream_timeout
            ) as src:
                _raise_for(src.response)
                async for sse in src.aiter_sse():
                    try:
                        data = json.loads(sse.data) if sse.data else {}
                    except ValueError:
                        data = {}
                    yield sse.event, data if isinstance(data, dict) else {"value": data}
        except httpx.HTTPError as exc:
            raise LinkDown(f"{type(exc).__name__}: {exc}") from exc

    async def _push(self, name: str, args: dict[str, Any]) -> ActionResult:
        mutation = {
            "mutation_id": next(self._mutation_ids),
            "name": name,
            "args": args,
            "client_time": datetime.now(UTC).isoformat(),
        }
        try:
            response = await self._client.post(
                "/api/v1/sync/push", json={"client_id": self._client_id, "mutations": [mutation]}
            )
        except httpx.HTTPError as exc:
            raise LinkDown(f"{type(exc).__name__}: {exc}") from exc
        _raise_for(response)
        results = response.json().get("results", [])
        result = results[0] if results else {}
        if result.get("outcome") in ("applied", "duplicate"):
            return ActionResult(True)
        return ActionResult(False, str(result.get("reason") or "rejected"))

    async def escalate(self, ticket_id: str, reason: str) -> ActionResult:
        return await self._push("escalate", {"ticket_id": ticket_id, "reason": reason})

    async def reassign(self, ticket_id: str, assignee: str, base_revision: int) -> ActionResult:
        return await self._push(
            "update_ticket",
            {
                "ticket_id": ticket_id,
                "base_revision": base_revision,
                "changes": {"assignee": assignee},
            },
        )

    async def daily_report_csv(self, day: date | None) -> tuple[str, bytes]:
        """``(file name, CSV bytes)`` of the daily report (yesterday when ``day`` is None)."""
        params: dict[str, Any] = {"format": "csv"}
        if day is not None:
            params["date"] = day.isoformat()
        response = await self._get("/api/v1/reports/daily", **params)
        name = f"hotline-daily-{day.isoformat() if day else 'yesterday'}.csv"
        disposition = response.headers.get("content-disposition", "")
        if 'filename="' in disposition:
            name = disposition.split('filename="', 1)[1].split('"', 1)[0] or name
        return name, response.content

    async def aclose(self) -> None:
        await self._client.aclose()
