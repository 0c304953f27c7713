"""The desk's one door to the cache, the credentials and the server.

Screens never touch SQL, keyring or HTTP: they call this object, blocking methods from
thread workers and ``async`` ones from async workers, and render the plain records it
returns. Storage, outbox and sync belong to ``offline_cache``; rules to ``hotline``. What is
left here is wiring: who is signed in, which profile and server, and turning errors into
messages a person can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_tui.config import Settings, remember
from agent_tui.neterrors import error_text
from agent_tui.reasons import change_name, reason_text
from agent_tui.widgets.status_bar import DeskStatus
from hotline.forms import FormDef, load_shipped_forms, parse_forms
from hotline.units import SHIPPED_UNITS, Unit, parse_units
from offline_cache import credentials, records
from offline_cache.errors import CacheError

if TYPE_CHECKING:
    import httpx

    from offline_cache.records import (
        Attention,
        KbHit,
        LocalTicket,
        NoteRow,
        Page,
        QueueQuery,
        Saved,
    )

# httpx, the TLS context and the wire protocol are imported on first use: the desk's first
# frame needs none of them (the sign-in check and the replicator come after it).
HTTP_TIMEOUT_SECONDS = 5.0
HTTP_CONNECT_SECONDS = 3.0
SyncCallback = Callable[[str, dict[str, Any]], None]
# How long a blocking call (a save, a draft, a lookup: always in a thread worker) waits for a
# cache that is still being opened at start, before it says so instead of writing.
CACHE_OPEN_WAIT_SECONDS = 30.0


class Unreachable(Exception):
    """The server could not be reached (no route, refused, timed out)."""


class SignInFailed(Exception):
    """The server answered and refused the sign-in; ``str()`` is its readable message."""


class CallbackProblem(Exception):
    """The server refused a callback action: ``status`` (404, 409, 422) and its message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NotSignedIn(Exception):
    """This desk holds no live token for the server, so it cannot ask for anything signed in."""


@dataclass(frozen=True)
class UserInfo:
    username: str
    role: str
    team: str | None = None
    display_name: str | None = None


def _error_message(response: httpx.Response) -> str:
    """The server's ErrorBody message (top level, hotline_server.errors), else the status."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        inner = body.get("detail") if isinstance(body.get("detail"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        if message:
            return str(message)
    return f"HTTP {response.status_code}"


class DeskServices:
    """One signed-in desk: a profile's cache, its token and its replicator."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Any = None,
        key_provider: Any = None,
        cache_clock: Callable[[], datetime] | None = None,
        sync_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.sync_options = dict(sync_options or {})
        self.store: Any = store
        self.key_provider = key_provider
        self.cache_clock = cache_clock
        self.replicator: Any = None  # this session's (None: not syncing)
        self._sync: Any = None  # its SyncThread
        # Replicators stopped at sign-out that may still be finishing their round: the desk
        # does not wait for them then (the next agent's replicator starts at once), and
        # joins them, bounded, when it closes.
        self._sync_ending: list[Any] = []
        self.link = "signed_out"
        self.last_error = ""
        self._forms: dict[str, FormDef] | None = None
        self._shipped_forms: dict[str, FormDef] | None = None
        # Set once the cache open has ended (opened or failed): the desk shows its form
        # before the cache is open, and what the agent does meanwhile waits for it here.
        self._open_settled = threading.Event()
        if store is not None:
            self._open_settled.set()
        # The session's token, read from the keyring once (a password-protected keyring
        # spends ~0.6 s of Argon2 on every read), then kept here; sign-in and sign-out keep
        # it up to date. None with _token_read: nobody is signed in. The replicator reads it
        # from its own thread: _token_lock keeps a keyring read from overwriting a newer
        # sign-in or sign-out made meanwhile.
        self._token: str | None = None
        self._token_read = False
        self._token_lock = threading.Lock()

    @property
    def server(self) -> str:
        return self.settings.server.rstrip("/")

    # ------------------------------------------------------------------ cache

    async def open_cache(self) -> None:
        try:
            if self.store is None:
                self.store = await asyncio.to_thread(self._open)
        finally:
            self._open_settled.set()

    def open_store(self) -> Any:
        """The cache, for a blocking call made while the desk may still be opening it (the
        form shows first): waits, bounded, for the open; a CacheError saying so if the cache
        is not open by then (a keyring password still asked for, a cache that cannot open):
        the caller keeps what it was about to write and says why."""
        if self.store is None:
            self._open_settled.wait(CACHE_OPEN_WAIT_SECONDS)
        if self.store is None:
            from agent_tui.i18n import t

            raise CacheError(t("cache.not_open", lang="zh"), t("cache.not_open", lang="en"))
        return self.store

    def _open(self) -> Any:
        from offline_cache.store import open_cache

        kwargs: dict[str, Any] = {}
        if self.key_provider is not None:
            kwargs["key_provider"] = self.key_provider
        if self.cache_clock is not None:
            kwargs["clock"] = self.cache_clock
        kwargs["retention_days"] = self.settings.retention_days
        return open_cache(self.settings.profile, **kwargs)

    async def close(self) -> None:
        """Stop every replicator (bounded) before the cache closes under it."""
        await self.stop_sync(wait=True)
        if self.store is not None:
            await asyncio.to_thread(self.store.close)

    # ------------------------------------------------------------------ session

    def cached_user(self) -> UserInfo | None:
        """Who last signed in on this profile (the desk opens on their cache offline)."""
        if self.store is None:
            return None
        meta = self.store.sync_meta()
        if not meta.user:
            return None
        role = str(meta.extra.get("role") or "agent") if meta.extra else "agent"
        return UserInfo(meta.user, role, meta.team)

    def token(self) -> str | None:
        """The bearer token: from memory once read (the replicator asks before every
        request, on its own thread; the lead mode on the UI loop). The first read goes to the
        keyring: ``resume_session`` does it in a thread before anything else asks. Any
        thread: the keyring is read outside the lock (it may take ~0.6 s) and its answer kept
        only if no sign-in or sign-out has set the token meanwhile."""
        with self._token_lock:
            if self._token_read:
                return self._token
        found = credentials.load_token(self.settings.profile, self.server)
        with self._token_lock:
            if not self._token_read:
                self._token, self._token_read = found, True
            return self._token

    def _keep_token(self, token: str | None) -> None:
        with self._token_lock:
            self._token, self._token_read = token, True

    # ------------------------------------------------------------------ keyring password

    def keyring_to_unlock(self) -> tuple[Any, bool] | None:
        """The keyring backend that needs its password before any secret is read, and
        whether it is new (no file yet); None: it needs none, or has it. Blocking (reads the
        keyring file): call from a thread. KeyringUnavailable when there is no keyring."""
        from offline_cache import is_new_keyring, locked_keyring

        backend = locked_keyring()
        return None if backend is None else (backend, is_new_keyring(backend))

    def unlock_keyring(self, backend: Any, password: str) -> None:
        """Give the keyring its password (Argon2: call from a thread); KeyringPasswordWrong
        when it does not open it."""
        from offline_cache import unlock_keyring

        unlock_keyring(backend, password)

    async def resume_session(self) -> UserInfo | None:
        """Sign in silently with the stored token. None: ask. ``Unreachable``: work offline."""
        token = await asyncio.to_thread(self.token)
        if not token:
            return None
        # httpx's import and the client (its TLS context) in a thread, not on the UI loop:
        # the agent may be typing in the form meanwhile
        http = await asyncio.to_thread(self._http)
        import httpx  # imported by _http

        try:
            async with http as client:
                response = await client.get(
                    "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.HTTPError as exc:
            self.link = "offline"
            self.last_error = type(exc).__name__
            raise Unreachable(str(exc)) from exc
        if response.status_code == 401:
            await asyncio.to_thread(credentials.delete_token, self.settings.profile, self.server)
            self._keep_token(None)
            return None
        if response.status_code != 200:
            self.link = "offline"
            raise Unreachable(_error_message(response))
        user = response.json()
        info = UserInfo(user["username"], user["role"], user.get("team"), user.get("display_name"))
        await asyncio.to_thread(self._remember_identity, info)
        self.link = "online"
        return info

    async def sign_in(self, username: str, password: str) -> UserInfo:
        import httpx

        try:
            async with self._http() as client:
                response = await client.post(
                    "/api/v1/auth/login", json={"username": username, "password": password}
                )
        except httpx.HTTPError as exc:
            self.link = "offline"
            raise Unreachable(str(exc)) from exc
        if response.status_code != 200:
            raise SignInFailed(_error_message(response))
        body = response.json()
        user = body["user"]
        info = UserInfo(user["username"], user["role"], user.get("team"), user.get("display_name"))
        await asyncio.to_thread(
            credentials.save_token, self.settings.profile, self.server, body["access_token"]
        )
        self._keep_token(body["access_token"])
        await asyncio.to_thread(self._remember_identity, info)
        self.link = "online"
        return info

    def _remember_identity(self, info: UserInfo) -> None:
        if self.store is not None:
            self.store.set_identity(info.username, info.team, info.role)
        with contextlib.suppress(OSError):
            remember(self.settings, username=info.username)

    async def sign_out(self) -> None:
        import httpx

        await self.stop_sync()
        token = await asyncio.to_thread(self.token)
        if token:
            with contextlib.suppress(httpx.HTTPError):
                async with self._http() as client:
                    await client.post(
                        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
                    )
        await asyncio.to_thread(credentials.delete_token, self.settings.profile, self.server)
        self._keep_token(None)
        self.link = "signed_out"
        self._seat, self._seat_user = "", ""

    async def sign_out_everywhere(self) -> None:
        """``agent-tui logout --all``: the server revokes every token of this user (every
        desk), then this desk signs out. Nothing is claimed unless the server confirmed it:
        ``NotSignedIn``, ``Unreachable`` or ``SignInFailed`` leave this desk as it was, so the
        command can be run again."""
        import httpx

        token = await asyncio.to_thread(self.token)
        if not token:
            raise NotSignedIn()
        try:
            async with self._http() as client:
                response = await client.post(
                    "/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {token}"}
                )
        except httpx.HTTPError as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from exc
        if response.status_code == 401:
            raise NotSignedIn()
        if response.status_code != 204:
            raise SignInFailed(_error_message(response))
        await self.sign_out()

    # ------------------------------------------------------------------ sync

    def start_sync(
        self,
        on_state: Callable[[Any], None],
        on_event: SyncCallback,
        on_exit: Callable[[BaseException | None], None] | None = None,
        **options: Any,
    ) -> Any:
        """Run this session's replicator on a thread and event loop of its own (none of
        its network work runs on the UI loop) and return it; the one running already if
        there is one. A replicator stopped at sign-out that is still finishing its round
        does not count: the next agent's starts regardless.

        The callbacks are called on the replicator's thread: the app hands them to its own
        loop. The token comes from :meth:`token` before every request: from memory (the
        keyring was read in a thread at start); a sign-in or sign-out changes it there.
        """
        from offline_cache import Replicator
        from offline_cache.sync_thread import SyncThread

        if self._sync is not None and self._sync.running:
            return self.replicator
        if self._sync is not None:  # its run() ended by itself (it failed): a new one
            self._sync_ending.append(self._sync)
        self.replicator = Replicator(
            self.store,
            self.server,
            token=self.token,
            on_state=on_state,
            on_event=on_event,
            **{**self.sync_options, **options},
        )
        self._sync = SyncThread(self.replicator, name="desk-replicator", on_exit=on_exit)
        self._sync.start()
        return self.replicator

    def sync_running(self) -> bool:
        """This session's replicator runs (not one stopped at sign-out)."""
        return self._sync is not None and bool(self._sync.running)

    async def stop_sync(self, *, wait: bool = False) -> None:
        """Stop this session's replicator after its round in flight. ``wait``: also wait,
        bounded, for every replicator of this desk to end (at close); without it this
        returns at once (a sign-out does not wait for the network)."""
        sync, self._sync, self.replicator = self._sync, None, None
        if sync is not None:
            sync.request_stop()
            self._sync_ending.append(sync)
        if wait:
            await asyncio.to_thread(self._join_ending)
        self._sync_ending = [s for s in self._sync_ending if not s.ended]

    def _join_ending(self) -> None:
        for sync in list(self._sync_ending):
            sync.request_stop()
            sync.join()

    def sync_now(self) -> None:
        """Sync now (any thread): the agent asked, or a sign-in came back."""
        if self._sync is not None:
            self._sync.poke()

    def typed(self) -> None:
        """The agent pressed a key (on the UI loop): this session's replicator holds a round
        that only pulls until the keys pause (``Replicator.typed``)."""
        replicator = self.replicator  # read once: a sign-out may set it to None meanwhile
        if replicator is not None:
            replicator.typed()

    def saved_locally(self) -> None:
        """After a save: push soon, but keep the backoff while the link is down (any
        thread; saves close together share one round)."""
        if self._sync is not None:
            self._sync.saved_locally()

    def status(self, now: datetime) -> DeskStatus:
        """The status bar's numbers, read from the cache (the link state from the replicator)."""
        if self.store is None:
            return DeskStatus(link=self.link)
        stats = self.store.outbox_stats()
        oldest = None
        if stats.oldest_client_time is not None:
            oldest = max(0.0, (now - stats.oldest_client_time).total_seconds())
        meta = self.store.sync_meta()
        link = self.link
        detail = ""
        replicator = self.replicator  # read once: a sign-out may set it to None meanwhile
        if replicator is not None:
            snap = replicator.snapshot()
            link = {"needs_sign_in": "signed_out", "stopped": "offline"}.get(
                snap.state.value, snap.state.value
            )
            if link == "offline" and snap.last_error is None and snap.last_sync_at is None:
                link = "syncing"  # the first round has not answered yet: not known offline
            detail = snap.last_error or ""
        return DeskStatus(
            link=link,
            outbox=stats.size,
            oldest_seconds=oldest,
            attention=stats.needs_attention,
            seat=self._current_seat(meta.user or "", stats.size) or "signed_out",
            user=meta.user or "",
            detail=error_text(detail)[:40],
        )

    _seat: str = ""  # the seat state this desk set (or found pending), for ``_seat_user``
    _seat_user: str = ""
    _outbox_seat_checked: str = ""  # the user whose pending seat change was looked up

    def set_seat(self, state: str, reason: str | None, now: datetime) -> Saved:
        from hotline.protocol import MutationName

        saved = self.open_store().record(
            MutationName.SET_SEAT_STATE, {"state": state, "reason": reason, "at": now}
        )
        self._seat, self._seat_user = state, self.store.sync_meta().user or ""
        return saved

    def _http(self) -> httpx.AsyncClient:
        """A client for one exchange with the server (the TLS context is shared)."""
        import httpx

        from offline_cache.tls import shared_ssl_context

        return httpx.AsyncClient(
            base_url=self.server,
            timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS, connect=HTTP_CONNECT_SECONDS),
            verify=shared_ssl_context(),
        )

    def _current_seat(self, user: str, outbox_size: int) -> str:
        """The signed-in agent's seat state, also after a restart: what this desk set, else
        a change still in the outbox (set offline, not yet sent), else the seat the server
        last sent this cache (the agent's own seat is pulled like a ticket)."""
        if not user:
            return ""
        if self._seat and self._seat_user == user:
            return self._seat
        if outbox_size and self._outbox_seat_checked != user:
            from hotline.protocol import MutationName

            # Once per user: a pending change can only come from before this desk started
            # (what this desk sets is remembered above), so re-reading the outbox every status
            # tick would cost up to 1,000 rows for nothing.
            self._outbox_seat_checked = user
            pending = [
                item
                for item in self.store.outbox(limit=1000)
                if item.name == MutationName.SET_SEAT_STATE.value
            ]
            if pending:
                self._seat, self._seat_user = str(pending[-1].args.get("state") or ""), user
                return self._seat
        for seat in self.store.seats():
            if seat.get("agent") == user and seat.get("state"):
                return str(seat["state"])
        return ""

    def report_call(self, event: str, call_id: str, caller_number: str, at: datetime) -> Saved:
        """A call seen by the desk itself (no phone system connected): ``answered`` from a
        number, then ``ended``; queued in the outbox like every change, so offline works."""
        from hotline.protocol import MutationName

        return self.open_store().record(
            MutationName.REPORT_CALL,
            {"event": event, "call_id": call_id, "caller_number": caller_number[:20], "at": at},
        )

    # ------------------------------------------------------------------ forms + intake

    def forms(self) -> dict[str, FormDef]:
        """The server's forms as mirrored in the cache, else the shipped ``forms/``; the
        shipped ones while the cache is not open yet (the intake form is built from them at
        once, and looks again when the cache is open)."""
        if self._forms is None:
            if self.store is None:
                if self._shipped_forms is None:
                    self._shipped_forms = load_shipped_forms(ticket_values=False)
                return self._shipped_forms
            mirrored = self.store.forms()
            forms: dict[str, FormDef] | None = None
            if mirrored and isinstance(mirrored.get("forms"), dict):
                with contextlib.suppress(ValueError):
                    forms = parse_forms(mirrored["forms"], ticket_values=False)
            self._forms = forms or self._shipped_forms or load_shipped_forms(ticket_values=False)
        return self._forms

    def units(self) -> tuple[Unit, ...]:
        """The handling-unit directory: the server's copy kept in the cache (fetched by the
        replicator, so it is there offline), else the shipped one. Read in a worker thread."""
        cached = None
        if self.store is not None:
            with contextlib.suppress(Exception):
                cached = self.store.units()
        return parse_units(cached) or SHIPPED_UNITS

    def create_ticket(
        self,
        fields: Any,
        *,
        ticket_id: str,
        call_started_at: datetime,
        disposition: str,
        draft_id: str | None,
    ) -> Saved:
        return self.open_store().create_ticket(
            fields,
            call_started_at=call_started_at,
            ticket_id=ticket_id,
            disposition=disposition,
            draft_id=draft_id,
        )

    def save_draft(
        self, form_id: str, values: dict[str, Any], draft_id: str | None, ticket_id: str | None
    ) -> Any:
        return self.open_store().save_draft(form_id, values, draft_id=draft_id, ticket_id=ticket_id)

    def latest_draft(self) -> Any:
        drafts = self.open_store().list_drafts()
        return drafts[0] if drafts else None

    def drafts(self) -> list[Any]:
        """Every kept draft, newest first."""
        return list(self.open_store().list_drafts())

    def delete_draft(self, draft_id: str) -> None:
        self.open_store().delete_draft(draft_id)

    def open_for_phone(self, phone: str) -> list[Any]:
        return list(self.open_store().open_tickets_for_phone(phone))

    def recent_for_phone(self, phone: str, limit: int = 8) -> list[Any]:
        return list(self.open_store().queue_page(records.QueueQuery(text=phone, limit=limit)).rows)

    def open_for_address(self, address: str) -> list[Any]:
        """Open tickets at exactly this address; short fragments (under 4 characters, e.g.
        a district name being typed) warn of nothing."""
        if len(address.strip()) < 4:
            return []
        return list(self.open_store().open_tickets_at_address(address))

    def merge(self, ticket_id: str, into_ticket_id: str) -> Saved:
        return self.open_store().merge_ticket(ticket_id, into_ticket_id)

    # ------------------------------------------------------------------ queue + ticket

    def queue_page(self, query: QueueQuery) -> Page:
        return self.store.queue_page(query)

    def ticket(self, ticket_id: str) -> LocalTicket | None:
        return self.store.get_ticket(ticket_id)

    def notes(self, ticket_id: str) -> list[NoteRow]:
        return list(self.store.notes(ticket_id))

    def history(self, ticket_id: str) -> list[dict[str, Any]]:
        """What happened to the ticket as far as this desk knows: creation and my pending
        changes (the server's full audit trail needs the link)."""
        ticket = self.store.get_ticket(ticket_id)
        if ticket is None:
            return []
        data = ticket.data
        entries = [
            {"at": data.get("call_started_at"), "what": "call", "by": data.get("created_by")}
        ]
        for item in self.store.outbox(limit=1000):
            if item.ticket_id == ticket_id:
                entries.append({"at": item.client_time, "what": item.name, "pending": True})
        return entries + self.refused_history(ticket_id)

    def refused_history(self, ticket_id: str) -> list[dict[str, Any]]:
        """Changes of mine the server refused and I dismissed: kept on the ticket's record."""
        return [
            {
                "at": a.at,
                "what": "refused",
                "reason": f"{change_name(a.name)}: {reason_text(a.reason)}",
            }
            for a in self.store.needs_attention(seen=True)
            if a.ticket_id == ticket_id
        ]

    def mutation_outcome(self, mutation_id: int) -> tuple[str, str]:
        """What became of one of my changes: ``("pending", "")`` while it waits in the
        outbox, ``("rejected", reason)`` when the server refused it, else ``("applied", "")``."""
        waiting = self.store.outbox(limit=1000)
        if any(item.mutation_id == mutation_id for item in waiting) or (
            len(waiting) == 1000 and waiting[-1].mutation_id < mutation_id
        ):
            return "pending", ""
        for item in self.store.needs_attention() + self.store.needs_attention(seen=True):
            if item.mutation_id == mutation_id and item.kind.endswith("rejected"):
                return "rejected", item.reason
        return "applied", ""

    def dismiss_attention(self, mutation_id: int) -> None:
        """The agent has read a refusal: off the needs-attention list, kept on record."""
        self.store.dismiss_attention(mutation_id)

    async def server_history(self, ticket_id: str) -> list[dict[str, Any]] | None:
        """The server's audit trail of the ticket, or None when it cannot be had (offline,
        not signed in, not on the server yet): the view then shows what the cache knows."""
        import httpx

        token = await asyncio.to_thread(self.token)
        if not token:
            return None
        try:
            async with self._http() as client:
                response = await client.get(
                    f"/api/v1/tickets/{ticket_id}/history",
                    headers={"Authorization": f"Bearer {token}"},
                )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        entries = response.json().get("entries") or []
        out = []
        for entry in entries:
            changes = entry.get("changes") or {}
            status = (changes.get("status") or {}).get("to")
            out.append(
                {
                    "at": entry.get("at"),
                    "what": f"srv.{entry.get('action')}",
                    "by": entry.get("actor") or "",
                    "status": status,
                    "reason": entry.get("reason"),
                }
            )
        return out

    def attention_for(self, ticket_id: str) -> list[Attention]:
        return [a for a in self.store.needs_attention() if a.ticket_id == ticket_id]

    def add_note(self, ticket_id: str, body: str) -> Saved:
        return self.store.add_note(ticket_id, body)

    def change_status(self, ticket_id: str, to: str, revision: int | None = None) -> Saved:
        return self.store.change_status(ticket_id, to)

    def escalate(self, ticket_id: str, reason: str) -> Saved:
        return self.store.escalate(ticket_id, reason)

    def record_callback(self, ticket_id: str, reached: bool, satisfaction: str | None) -> Saved:
        return self.store.record_callback(ticket_id, reached=reached, satisfaction=satisfaction)

    def update_ticket(
        self, ticket_id: str, changes: dict[str, Any], revision: int | None = None
    ) -> Saved:
        return self.store.update_ticket(ticket_id, changes)

    def resolve_conflict(
        self, ticket_id: str, mutation_id: int, field: str, value: Any, revision: int | None = None
    ) -> Saved | None:
        """The agent chose a value: write it (if it is theirs) and clear the conflict."""
        saved = None
        ticket = self.store.get_ticket(ticket_id)
        if ticket is not None and ticket.data.get(field) != value:
            saved = self.store.update_ticket(ticket_id, {field: value})
        self.store.dismiss_attention(mutation_id)
        return saved

    # ------------------------------------------------------------------ callbacks (漏接回拨)

    async def callbacks_call(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One exchange with the server's callback list (it lives there: two agents must
        never ring the same caller, so taking one needs the server). ``NotSignedIn``,
        ``Unreachable``, or ``CallbackProblem`` with the server's status and error body."""
        import httpx

        token = await asyncio.to_thread(self.token)
        if not token:
            raise NotSignedIn()
        try:
            async with self._http() as client:
                response = await client.request(
                    method,
                    f"/api/v1/callbacks{path}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
        except httpx.HTTPError as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from exc
        if response.status_code == 401:
            raise NotSignedIn()
        if response.status_code != 200:
            raise CallbackProblem(response.status_code, _error_message(response))
        data: dict[str, Any] = response.json()
        return data

    # ------------------------------------------------------------------ knowledge base

    def kb_search(self, text: str) -> list[KbHit]:
        return list(self.store.kb_search(text))

    def kb_article(self, article_id: str) -> dict[str, Any] | None:
        return self.store.kb_article(article_id)


__all__ = ["CacheError", "DeskServices", "SignInFailed", "Unreachable", "UserInfo"]
