"""The replicator: moves the outbox to the server and the server's changes into the cache.

SYNC.md on the client side, with httpx (async):

- push the outbox in ordered batches (~100), retry the same batch after any failure (the
  server skips what it already applied, so a retry is harmless); outbox rows leave only when
  the server's ``last_mutation_id`` covers them; rejected ones are kept aside by the store;
- pull pages after the cursor (each page + its cursor in one store transaction); a changed
  ``epoch`` starts a full refetch keeping the outbox;
- listen to ``GET /api/v1/events`` (SSE, httpx-sse) and pull when poked; pull every
  ``pull_interval`` seconds anyway (a lost poke is harmless); reconnect with backoff + jitter;
- coalesce: the pokes and local saves that come within ``poke_gap`` of a round's start make
  one more round after it, not one each (another agent pushing every 0.2 s pokes five times a
  second); the agent's own "sync now" (:meth:`Replicator.poke`) goes at once;
- hold while the agent types: a round that only pokes, the timer or a reconnect asked for
  waits until the keys have paused ``typing_quiet`` seconds (:meth:`Replicator.typed`, called
  by the UI on every key), at most ``typing_hold`` seconds and then until the keys stop for
  ``typing_breath`` seconds (in all at most ``typing_hold_max``); a local save, the agent's own
  "sync now", a new token, stopping, or a non-empty outbox never wait (see
  :meth:`Replicator._hold_while_typing`); the event stream is not read while the keys go on
  (until a breath, at most ``typing_hold`` seconds: :meth:`Replicator._hold_stream_while_typing`);
- every request has a timeout; on 401 the state becomes ``needs_sign_in`` and the queue is
  kept: the UI signs in again and calls :meth:`Replicator.set_token`;
- on 403 ``client_not_yours`` (this cache's client id is bound to another user: two users
  shared one cache) a cache with nothing waiting takes a new client id and syncs on; one
  with queued or kept-aside mutations keeps them whole and the state becomes ``wrong_user``
  (nothing is pushed or pulled) until the id's own user signs in again
  (:meth:`Replicator.set_token`): sending them as anyone else would put them under the
  wrong name.

No Textual here: the UI subscribes with ``on_state`` (a plain callback, called on the
replicator's event loop) or iterates :meth:`Replicator.states` (on that loop). Store calls go
through ``asyncio.to_thread`` so an fsync never blocks the event loop.

Threads: the desk runs :meth:`Replicator.run` on a thread and event loop of its own
(:class:`offline_cache.sync_thread.SyncThread`), so none of its HTTP, event-stream parsing or
page validation runs between the agent's keystrokes. :meth:`poke`, :meth:`saved_locally`,
:meth:`set_token` and :meth:`request_stop` may be called from any thread (they cross into the
running loop with ``call_soon_threadsafe``); :meth:`snapshot` is one attribute read, safe from
any thread; ``on_state`` and ``on_event`` are called on the replicator's loop, so a UI hands
them to its own loop (Textual: ``post_message``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx
import sqlcipher3  # type: ignore[import-untyped]

from hotline.protocol import (
    DEFAULT_PUSH_BATCH,
    MAX_PUSH_BODY_BYTES,
    PullResponse,
    PushResponse,
)
from offline_cache.errors import CacheError
from offline_cache.records import OutboxStats, SyncMeta
from offline_cache.store import CacheStore
from offline_cache.tls import shared_ssl_context
from offline_cache.typing_quiet import (
    TYPING_BREATH_SECONDS,
    TYPING_HOLD_MAX_SECONDS,
    TYPING_HOLD_SECONDS,
    TYPING_QUIET_SECONDS,
)

log = logging.getLogger("offline_cache.replicator")

API = "/api/v1"


class LinkState(StrEnum):
    ONLINE = "online"  # last request succeeded, nothing left to push
    SYNCING = "syncing"  # a push or pull is running
    OFFLINE = "offline"  # the server cannot be reached (retrying with backoff)
    NEEDS_SIGN_IN = "needs_sign_in"  # 401: the queue is kept; sign in again
    CACHE_ERROR = "cache_error"  # the cache refused a write (read-only, full disk): retrying
    WRONG_USER = "wrong_user"  # 403: this cache's client id is another user's; queue kept
    STOPPED = "stopped"


@dataclass(frozen=True)
class SyncSnapshot:
    """What the status bar shows. ``oldest_pending`` is the client time of the oldest
    unsynced mutation; ``oldest_pending_age()`` its age now."""

    state: LinkState
    outbox_size: int
    oldest_pending: datetime | None
    needs_attention: int
    last_error: str | None
    last_sync_at: datetime | None
    cursor: int

    def oldest_pending_age(self, now: datetime | None = None) -> float | None:
        """Seconds since the oldest unsynced mutation was made (None when the outbox is empty).
        Never negative, even when the laptop's clock was wrong when it was made."""
        if self.oldest_pending is None:
            return None
        current = now or datetime.now(UTC)
        return max(0.0, (current - self.oldest_pending).total_seconds())


class SyncOutcome(StrEnum):
    """Result of :meth:`Replicator.sync_once`; ``agent-tui sync --once`` maps it to exit codes."""

    DONE = "done"  # everything pushed and pulled, nothing rejected
    REJECTED = "rejected"  # done, but the server refused some changes (kept for the agent)
    OFFLINE = "offline"  # server unreachable (or it failed); the outbox is kept
    NEEDS_SIGN_IN = "needs_sign_in"  # no token or 401; the outbox is kept
    CACHE_ERROR = "cache_error"  # the cache could not take the server's answer; kept, retried
    WRONG_USER = "wrong_user"  # this cache syncs as another user (403); the outbox is kept


class NeedsSignIn(Exception):
    """The server answered 401: the token is missing, expired or revoked."""


class WrongUser(Exception):
    """The server answered 403 ``client_not_yours``: this cache's client id belongs to the
    user who first synced from it, and the signed-in user is someone else."""


CLIENT_NOT_YOURS = "client_not_yours"  # the server's error code for that 403


class ServerProblem(Exception):
    """Any other failure of a request (network, 5xx, bad answer). Retried with backoff."""


class PushGap(ServerProblem):
    """409 on push: the server expects an earlier mutation id than our outbox starts with."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter, capped: 0.5 s, 1 s, 2 s, ... up to ``cap``."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0

    def next_delay(self) -> float:
        # The exponent stops growing long before the cap would: 2 ** 1024 overflows a float,
        # and an 8-hour outage at the cap is ~1,300 attempts.
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


TokenSource = Callable[[], "str | None"]
StateCallback = Callable[[SyncSnapshot], None]
EventCallback = Callable[[str, dict[str, Any]], None]


class Replicator:
    """Keeps one store in step with one server for one signed-in user.

    ``token`` is the bearer token (or a callable returning it, called on the replicator's
    thread before every request). ``on_state`` is called on the replicator's event loop with
    every new :class:`SyncSnapshot`; ``on_event(name, data)`` receives the SSE events that are
    not for sync (``call_offer``, ``panel``, ...). ``transport`` lets tests and the demo route
    requests (e.g. through a fault proxy). ``poke_gap``: rounds that pokes and local saves ask
    for start at most this often. Use :meth:`run` as a long-lived task (on a thread of its
    own: :class:`~offline_cache.sync_thread.SyncThread`), or :meth:`sync_once` in a script.
    """

    def __init__(
        self,
        store: CacheStore,
        server_url: str,
        *,
        token: str | TokenSource | None = None,
        on_state: StateCallback | None = None,
        on_event: EventCallback | None = None,
        batch_size: int = DEFAULT_PUSH_BATCH,
        pull_limit: int = 500,
        pull_interval: float = 30.0,
        request_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        backoff_cap: float = 30.0,
        listen: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        poke_gap: float = 1.0,
        typing_quiet: float = TYPING_QUIET_SECONDS,
        typing_hold: float = TYPING_HOLD_SECONDS,
        typing_breath: float = TYPING_BREATH_SECONDS,
        typing_hold_max: float = TYPING_HOLD_MAX_SECONDS,
    ) -> None:
        self.store = store
        self.server_url = server_url.rstrip("/")
        self._token_source: TokenSource = (
            token if callable(token) else (lambda value=token: value)  # type: ignore[misc]
        )
        self._on_state = on_state
        self._on_event = on_event
        self.batch_size = batch_size
        self.pull_limit = pull_limit
        self.pull_interval = pull_interval
        self.poke_gap = poke_gap
        self.typing_quiet = typing_quiet
        self.typing_hold = typing_hold
        self.typing_breath = typing_breath
        self.typing_hold_max = typing_hold_max
        # time.monotonic() of the agent's last key (typed(), from the UI's thread: one float
        # stored, no hop into this loop per key); -inf: no key yet
        self._last_key = float("-inf")
        self.listen = listen
        self._timeout = httpx.Timeout(request_timeout, connect=connect_timeout)
        self._transport = transport
        self._backoff = Backoff(cap=backoff_cap)
        self._wake = asyncio.Event()  # sync soon: a poke, a save, the timer
        self._hurry = asyncio.Event()  # sync now: the agent asked, a new token, stopping
        self._unhold = asyncio.Event()  # a save or sync now: a round held for typing goes
        self._stopping = asyncio.Event()
        # The loop run() is on; None while it is not running. The asyncio events above belong
        # to it: other threads set them through call_soon_threadsafe (see _soon).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        self._lock = asyncio.Lock()
        self._watchers: list[asyncio.Queue[SyncSnapshot]] = []
        self._snapshot = SyncSnapshot(LinkState.OFFLINE, 0, None, 0, None, None, 0)
        self._client: httpx.AsyncClient | None = None
        self.heartbeat_interval = 15.0
        self._last_heartbeat = float("-inf")
        self._backing_off = False  # the last sync found the server unreachable
        self._units_fetched = False  # the handling-unit directory, once per run

    # ------------------------------------------------------------ state for the UI

    def snapshot(self) -> SyncSnapshot:
        """The latest state (cheap; no I/O; one attribute read: safe from any thread)."""
        return self._snapshot

    async def states(self) -> AsyncIterator[SyncSnapshot]:
        """Every new state, starting with the current one, until :meth:`stop`. Iterate it on
        the loop :meth:`run` runs on."""
        queue: asyncio.Queue[SyncSnapshot] = asyncio.Queue(maxsize=64)
        self._watchers.append(queue)
        try:
            yield self._snapshot
            while not self._stopping.is_set():
                getter = asyncio.ensure_future(queue.get())
                stopper = asyncio.ensure_future(self._stopping.wait())
                done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                for task in (getter, stopper):
                    if task not in done:
                        task.cancel()
                if getter in done:
                    yield getter.result()
        finally:
            self._watchers.remove(queue)

    async def _publish(self, **changes: Any) -> OutboxStats:
        """Publish the state with ``changes`` and the outbox and cursor as read now; returns
        the outbox stats it read (the round's outcome reads them, no second hop)."""
        # one hop to a thread for both reads (two or more publishes per round)
        stats, meta = await asyncio.to_thread(
            lambda: (self.store.outbox_stats(), self.store.sync_meta())
        )
        snap = replace(
            self._snapshot,
            outbox_size=stats.size,
            oldest_pending=stats.oldest_client_time,
            needs_attention=stats.needs_attention,
            cursor=meta.cursor,
            **changes,
        )
        if snap == self._snapshot:
            return stats
        self._snapshot = snap
        if self._on_state is not None:
            try:
                self._on_state(snap)
            except Exception:  # a UI callback must never stop replication
                log.exception("on_state callback failed")
        for queue in self._watchers:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(snap)
        return stats

    # ------------------------------------------------------------ control (any thread)

    def _soon(self, change: Callable[[], None]) -> None:
        """Run ``change`` (it sets the loop's events) on the loop :meth:`run` is on: at once
        when called on that loop or when nothing runs (no waiter to wake), else through
        ``call_soon_threadsafe`` (an asyncio event is not thread-safe, and a set from another
        thread would not wake the loop's selector)."""
        with self._loop_lock:  # run() publishes its loop under it: no set lands mid-start
            loop = self._loop
            if loop is None or _running_loop() is loop:
                change()
                return
            try:
                loop.call_soon_threadsafe(change)
            except RuntimeError:  # the loop closed meanwhile: nothing waits on it any more
                change()

    def poke(self) -> None:
        """Ask for a sync now (the agent pressed "sync", or the UI regained focus): it does
        not wait for ``poke_gap``. Any thread."""
        self._soon(self._sync_now)

    def _sync_now(self) -> None:
        self._hurry.set()
        self._wake.set()
        self._unhold.set()

    def typed(self) -> None:
        """The agent pressed a key (any thread; the UI calls it on every key): rounds that
        only pull wait until the keys pause (:meth:`_hold_while_typing`). One float stored:
        the replicator's loop is not woken for it."""
        self._last_key = time.monotonic()

    def saved_locally(self) -> None:
        """A local save: push soon (saves within ``poke_gap`` share one round). While the link
        is down the backoff is kept, so a burst of offline saves does not turn into a burst of
        connection attempts that compete with the next save for the store; the outbox is
        durable and goes when the link is back. Any thread."""
        self._soon(self._push_soon)

    def _push_soon(self) -> None:
        self._unhold.set()  # a saved ticket is never held for typing, offline or not
        if not self._backing_off:
            self._wake.set()

    def set_token(self, token: str | TokenSource | None) -> None:
        """After sign-in: use this token and resume (the outbox was kept all along). Any
        thread: the new source is one attribute, read before each request."""
        self._token_source = token if callable(token) else (lambda value=token: value)  # type: ignore[misc]
        self._soon(self._resume)

    def _resume(self) -> None:
        self._backoff.reset()
        self._sync_now()

    def request_stop(self) -> None:
        """Stop :meth:`run` after the round in flight (if any); pending work stays in the
        outbox. Any thread; returns at once (:class:`SyncThread` waits, bounded)."""
        self._soon(self._stop_now)

    def _stop_now(self) -> None:
        self._stopping.set()
        self._sync_now()

    async def stop(self) -> None:
        """Stop :meth:`run` at the next await; pending work stays in the outbox."""
        self.request_stop()

    # ------------------------------------------------------------ HTTP

    def _headers(self) -> dict[str, str]:
        token = self._token_source()
        if not token:
            raise NeedsSignIn("not signed in")
        return {"Authorization": f"Bearer {token}"}

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.server_url,
                timeout=self._timeout,
                transport=self._transport,
                verify=shared_ssl_context(),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ServerProblem(f"bad answer: {exc}") from exc

    async def _send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request; a failure becomes NeedsSignIn, WrongUser, PushGap or ServerProblem."""
        try:
            response = await self._http().request(
                method, API + path, headers={**self._headers(), **(headers or {})}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ServerProblem(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 401:
            raise NeedsSignIn(_error_message(response))
        if response.status_code == 403 and _error_code(response) == CLIENT_NOT_YOURS:
            raise WrongUser(_error_message(response))
        if response.status_code == 409 and path == "/sync/push":
            raise PushGap(_error_message(response))
        if response.status_code >= 400:
            raise ServerProblem(f"HTTP {response.status_code}: {_error_message(response)}")
        return response

    # ------------------------------------------------------------ one round

    async def push(self) -> int:
        """Push the whole outbox, batch after batch, in order. Returns mutations sent.

        Pipelined, one request in flight: batch k+1 is sent only when the answer to batch k
        has arrived (a mutation in k+1 may need a ticket that k creates), and sent at once,
        read and encoded while the server worked on k. Once k+1's body is on the wire, one
        hop to a thread records the answer to k and reads and encodes k+2, while the server
        works on k+1 (not before: the desk's threads would take the GIL from the loop
        writing the request, and the server would wait for the body). Answers are recorded
        strictly in order, and a mutation leaves the outbox only when its answer is
        recorded, so a failure at any point leaves every unrecorded mutation in the outbox
        to be pushed again with the same mutation id (the server answers ``duplicate`` for
        what it already applied)."""
        sent = 0
        # the client id and the first batch in one hop to a thread (an empty outbox, most
        # rounds: the whole push is this hop)
        client_id, batch = await asyncio.to_thread(self._first_batch)
        resynced = False
        unrecorded: tuple[PushResponse, _Batch] | None = None  # an answer to record
        working: asyncio.Future[_Batch | None] | None = None  # recording and reading ahead
        try:
            for _ in range(1_000_000):  # bounded: the outbox shrinks on every answer
                if batch is None:
                    if unrecorded is None:
                        break
                    # the last answer, then the outbox again from the start: what was
                    # re-queued is settled
                    batch = await self._record_and_read(client_id, unrecorded, after=0)
                    unrecorded = None
                    continue
                on_wire = asyncio.Event()
                posting = asyncio.ensure_future(self._post_push(batch.body, on_wire))
                await _sent(posting, on_wire)
                # while the server works on this batch: the answer before it recorded, the
                # next batch read and encoded
                working = asyncio.ensure_future(
                    self._record_and_read(client_id, unrecorded, after=batch.last)
                )
                unrecorded = None
                try:
                    answer = await posting
                except PushGap:
                    # The server expects an earlier mutation than our first pending one: it
                    # was restored from a backup that lost some acknowledged mutations.
                    # Learn its last_mutation_id, re-queue the lost ones from the sent log,
                    # push again.
                    await working  # the answer before is recorded (or its failure raised)
                    working = None
                    if resynced:
                        raise
                    resynced = True
                    await self._learn_last_mutation_id()
                    batch = await asyncio.to_thread(self._read_batch, client_id, 0)
                    continue
                upcoming = await working
                working = None
                unrecorded = (answer, batch)
                sent += batch.count
                batch = upcoming
        finally:
            # a failure while an answer was being recorded or a batch read: let them end
            if working is not None:
                await _settle(working)
        return sent

    async def _record_and_read(
        self, client_id: str, unrecorded: tuple[PushResponse, _Batch] | None, *, after: int
    ) -> _Batch | None:
        """Record the answer ``unrecorded`` (if any), then read and encode the push batch
        after mutation ``after``: one hop to a thread. An answer that acknowledges nothing
        of its batch is a failure (pushing it again would loop); a batch cleared already,
        by an earlier answer that covered it, is not."""

        def work() -> _Batch | None:
            if unrecorded is not None:
                answer, batch = unrecorded
                self._forgotten(answer.last_mutation_id)
                self.store.apply_push_result(answer)
                if answer.last_mutation_id < batch.first:
                    raise ServerProblem(f"push not acknowledged (first pending {batch.first})")
            return self._read_batch(client_id, after)

        return await asyncio.to_thread(work)

    def _read_batch(self, client_id: str, after: int) -> _Batch | None:
        """The next push batch after mutation ``after``, encoded (blocking: a thread)."""
        rows = self.store.pending_wire(limit=self.batch_size, after=after)
        return _encode_batch(client_id, rows)

    def _first_batch(self) -> tuple[str, _Batch | None]:
        """The client id and the first push batch (blocking: a thread)."""
        client_id = self.store.client_id
        return client_id, self._read_batch(client_id, 0)

    async def _post_push(self, body: bytes, on_wire: asyncio.Event | None = None) -> PushResponse:
        """One push request; ``on_wire`` is set once its body is written (HTTP/1.1 or 2)."""

        async def trace(event: str, info: dict[str, Any]) -> None:
            if on_wire is not None and event.endswith(".send_request_body.complete"):
                on_wire.set()

        response = await self._send(
            "POST",
            "/sync/push",
            content=body,
            headers={"Content-Type": "application/json"},
            extensions={"trace": trace},
        )
        try:
            return PushResponse.model_validate_json(response.content)
        except ValueError as exc:
            raise ServerProblem(f"bad answer: {exc}") from exc

    async def _check_forgotten(self, server_last: int) -> None:
        await asyncio.to_thread(self._forgotten, server_last)

    def _forgotten(self, server_last: int) -> None:
        """The server's last mutation id is below what it acknowledged: it was restored from
        a backup; re-queue what it lost from the sent log (blocking: a thread)."""
        meta = self.store.sync_meta()
        if server_last < meta.last_acked_mutation_id:
            count = self.store.server_forgot(server_last)
            log.warning(
                "server forgot mutations %d..%d (restored backup?): %d re-queued",
                server_last + 1,
                meta.last_acked_mutation_id,
                count,
            )

    async def _learn_last_mutation_id(self) -> None:
        client_id = await asyncio.to_thread(lambda: self.store.client_id)
        meta = await asyncio.to_thread(self.store.sync_meta)
        raw = await self._request(
            "GET",
            "/sync/pull",
            params={"cursor": meta.cursor, "limit": 1, "client_id": client_id},
        )
        await self._check_forgotten(PullResponse.model_validate(raw).last_mutation_id)

    async def pull(self) -> int:
        """Pull every page after the cursor. Handles an epoch change. Returns changes applied."""
        applied = 0
        # One hop to a thread before the first request and one per page after it (the
        # forgotten check, the epoch, the page, the next cursor): each hop wakes a worker
        # that takes the GIL from the desk's UI thread, several times a round.
        client_id, meta = await asyncio.to_thread(
            lambda: (self.store.client_id, self.store.sync_meta())
        )
        for _ in range(100_000):  # bounded: each page advances the cursor
            raw = await self._request(
                "GET",
                "/sync/pull",
                params={"cursor": meta.cursor, "limit": self.pull_limit, "client_id": client_id},
            )
            page = PullResponse.model_validate(raw)
            count, meta = await asyncio.to_thread(self._take_page, page, meta)
            if count is None:  # the epoch changed after a cursor of the old one: start over
                continue
            applied += count
            if not page.has_more:
                break
        return applied

    def _take_page(self, page: PullResponse, meta: SyncMeta) -> tuple[int | None, SyncMeta]:
        """One pull page asked with ``meta``'s cursor (blocking: a thread): the forgotten
        check, an epoch change, the page applied. Returns (changes applied, the meta to ask
        the next page with); None for the changes: the epoch changed and the page came after
        a cursor of the old one, so nothing was applied and the pull starts over."""
        self._forgotten(page.last_mutation_id)
        if meta.epoch is not None and page.epoch != meta.epoch:
            log.warning("server epoch changed %s -> %s: full refetch", meta.epoch, page.epoch)
            self.store.start_refetch(page.epoch)
            if meta.cursor != 0:
                return None, self.store.sync_meta()
        count = self.store.apply_pull(page)
        return count, (self.store.sync_meta() if page.has_more else meta)

    async def sync_once(self) -> SyncOutcome:
        """Push everything, then pull everything, once. Never raises for network trouble."""
        async with self._lock:
            await self._publish(state=LinkState.SYNCING)
            try:
                try:
                    await self._round()
                except WrongUser:
                    if not await asyncio.to_thread(self.store.renew_client_id):
                        raise
                    log.warning("client id bound to another user; nothing waited: a new one")
                    await self._round()
            except NeedsSignIn as exc:
                await self._publish(state=LinkState.NEEDS_SIGN_IN, last_error=str(exc))
                return SyncOutcome.NEEDS_SIGN_IN
            except WrongUser as exc:
                await self._publish(state=LinkState.WRONG_USER, last_error=str(exc))
                return SyncOutcome.WRONG_USER
            except ServerProblem as exc:
                await self._publish(state=LinkState.OFFLINE, last_error=str(exc))
                return SyncOutcome.OFFLINE
            except (sqlcipher3.Error, CacheError, OSError) as exc:
                # The disk went read-only or full under us: what was pushed is applied once
                # on the server and pushed again later (same mutation ids); the loop goes on.
                log.warning("sync: the cache refused a write: %s", exc)
                await self._publish(state=LinkState.CACHE_ERROR, last_error=f"cache: {exc}")
                return SyncOutcome.CACHE_ERROR
            stats = await self._publish(
                state=LinkState.ONLINE, last_error=None, last_sync_at=datetime.now(UTC)
            )
            return SyncOutcome.REJECTED if stats.rejected else SyncOutcome.DONE

    async def _round(self) -> None:
        await self.push()
        await self.pull()
        if await self.push():  # what was saved (or re-queued) while we pulled
            await self.pull()  # ... and the server's word on it (numbers)
        if not self._units_fetched:
            await self.fetch_units()

    async def fetch_units(self) -> bool:
        """Fetch the handling-unit directory once per run and keep it in the cache (the
        intake picker offers it offline). A server without the directory is not an outage."""
        try:
            raw = await self._request("GET", "/directory/units")
        except ServerProblem as exc:
            log.info("handling-unit directory not fetched: %s", exc)
            return False
        units = raw.get("units") if isinstance(raw, dict) else None
        if not isinstance(units, list):
            return False
        await asyncio.to_thread(self.store.set_units, units)
        self._units_fetched = True
        return True

    # ------------------------------------------------------------ forever

    async def run(self) -> None:
        """Replicate until :meth:`stop`: sync on start, on pokes, on local saves
        (:meth:`poke`) and every ``pull_interval`` seconds; back off while offline. Pokes and
        saves that come within ``poke_gap`` of a round's start are one round after it."""
        loop = asyncio.get_running_loop()
        with self._loop_lock:
            self._loop = loop
        listener = asyncio.create_task(self._listen()) if self.listen else None
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                self._hurry.clear()
                self._unhold.clear()
                started = loop.time()
                outcome = await self.sync_once()
                self._backing_off = outcome == SyncOutcome.OFFLINE
                await asyncio.to_thread(self.store.checkpoint)
                if outcome in (SyncOutcome.DONE, SyncOutcome.REJECTED):
                    await self._heartbeat()
                if outcome in (SyncOutcome.OFFLINE, SyncOutcome.CACHE_ERROR):
                    delay = self._backoff.next_delay()
                elif outcome in (SyncOutcome.NEEDS_SIGN_IN, SyncOutcome.WRONG_USER):
                    delay = self.pull_interval  # wait for set_token(), which wakes us
                else:
                    self._backoff.reset()
                    delay = self.pull_interval
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
                await self._gather(started + self.poke_gap)
                await self._hold_while_typing()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listener
            try:
                await self._publish(state=LinkState.STOPPED)
                await self.aclose()
            finally:
                with self._loop_lock:
                    self._loop = None

    async def _gather(self, until: float) -> None:
        """Woken by a poke or a save: let the ones that follow within ``poke_gap`` of the
        last round's start join the next round (each round is a push, a pull, a checkpoint
        and two state reads; one per poke kept the desk busy while another agent pushed).
        The agent's "sync now", a new token and stopping end the wait at once."""
        if not self._wake.is_set() or self._hurry.is_set():
            return  # the timer (the periodic pull), or sync now
        rest = until - asyncio.get_running_loop().time()
        if rest > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), timeout=rest)

    async def _hold_while_typing(self) -> None:
        """The agent is typing (a key within ``typing_quiet`` s, :meth:`typed`): the round
        that is due waits until the keys pause, at most ``typing_hold`` s from now. A round
        is a push, pulled pages applied, a checkpoint and state reports the UI redraws for:
        while another agent pushes, several a second, each landing between the agent's keys.
        Held, the desk shows nothing untrue: the bar keeps the state and time of the last
        round, and a pulled change is only later, never lost (the cursor has not moved).
        Never held: a local save (:meth:`saved_locally`), the agent's "sync now", a new
        token, stopping (:meth:`_sync_now`), and a round while the outbox holds anything
        (a saved ticket's push never waits for the keys). A call offered to the seat comes
        on the event stream, which waits for a breath of the keys, not for this pause
        (:meth:`_hold_stream_while_typing`).

        Past the bound the round does not cut into a run of keys: it goes at the next breath
        (the keys stopping ``typing_breath`` s, e.g. between two fields or words), and only
        when none comes by ``typing_hold_max`` s, between two keys. A round is ~10 ms
        of the desk's CPU over 20-40 ms: in a breath it is done before the next key; between
        two keys of a run the next key waits behind it."""
        if self.typing_quiet <= 0 or self.typing_hold <= 0:
            return
        if self._unhold.is_set() or self._stopping.is_set() or self._snapshot.outbox_size:
            return
        started = time.monotonic()
        bound = started + self.typing_hold  # from here a breath is pause enough ...
        give_up = started + max(self.typing_hold, self.typing_hold_max)  # ... here: pause or not
        for _ in range(1000):  # bounded: each pass waits until the quiet moment or the bound
            now = time.monotonic()
            if now < bound:
                until = min(self._last_key + self.typing_quiet, bound)
            else:
                quiet = min(self.typing_quiet, self.typing_breath)
                until = min(self._last_key + quiet, give_up)
            if until <= now:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._unhold.wait(), timeout=until - now)
            if self._unhold.is_set():
                return

    async def _heartbeat(self) -> None:
        """Tell the server this desk is alive and how much it still holds, so a shift lead
        sees which desks are offline and what they hold (at most every 15 s; best effort)."""
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._last_heartbeat < self.heartbeat_interval:
            return
        self._last_heartbeat = loop_now
        try:
            client_id = await asyncio.to_thread(lambda: self.store.client_id)
            await self._http().post(
                API + "/seats/me/heartbeat",
                json={"unsynced": self._snapshot.outbox_size, "client_id": client_id},
                headers=self._headers(),
            )
        except (httpx.HTTPError, NeedsSignIn):
            pass  # a missed heartbeat only makes the desk look idle for a while

    async def _listen(self) -> None:
        """Hold the SSE stream open; every poke wakes the sync loop. Reconnect with backoff +
        jitter (httpx-sse has none of its own)."""
        from httpx_sse import aconnect_sse

        backoff = Backoff(base=1.0, cap=60.0)
        while not self._stopping.is_set():
            connected = False
            try:
                headers = self._headers()
                timeout = httpx.Timeout(self._timeout.connect, read=90.0)
                async with aconnect_sse(
                    self._http(), "GET", API + "/events", headers=headers, timeout=timeout
                ) as source:
                    if source.response.status_code == 401:
                        raise NeedsSignIn("events: 401")
                    source.response.raise_for_status()
                    backoff.reset()
                    connected = True
                    silence = STREAM_SILENCE
                    loop = asyncio.get_running_loop()
                    # A link that swallows bytes (no reset) is found by the server's heartbeats
                    # missing: two beats and a second without any event end the stream.
                    async with asyncio.timeout(silence) as quiet:
                        async for sse in source.aiter_sse():
                            if sse.event == "hello":
                                silence = _silence_after(sse.data)
                                if self._snapshot.state != LinkState.ONLINE:
                                    self._wake.set()  # the server answers again: sync now
                            quiet.reschedule(loop.time() + silence)
                            self._dispatch(sse)
                            if await self._hold_stream_while_typing():
                                quiet.reschedule(loop.time() + silence)
            except asyncio.CancelledError:
                raise
            except NeedsSignIn:
                await asyncio.sleep(self.pull_interval)
                continue
            except Exception as exc:  # network, protocol: try again later
                log.debug("events stream: %s", exc)
                await self._link_lost(f"events: {type(exc).__name__}: {exc}")
            else:
                if connected:  # the server ended the stream: ask the sync loop how it is
                    self._wake.set()
            await asyncio.sleep(backoff.next_delay())

    async def _hold_stream_while_typing(self) -> bool:
        """While the agent types (a key within ``typing_breath`` s), the stream's next event
        is not asked for until the keys stop for a breath, at most ``typing_hold`` s; True
        when it waited. Nothing reads the socket meanwhile (anyio reads only while one is
        asked for), so the pokes another agent's pushes send (five a second) are not woken
        for one by one between the agent's keys: they wait in the socket and are read
        together at the breath. A poke while typing only wakes a round that is held for
        the keys anyway; a call offered to the seat shows at the breath, at most
        ``typing_hold`` s late. Nothing is lost: the events wait in order; the stream's
        silence is counted again from the end of the wait."""
        if self.typing_breath <= 0 or self.typing_hold <= 0:
            return False
        now = time.monotonic()
        if now - self._last_key >= self.typing_breath:
            return False
        give_up = now + self.typing_hold
        for _ in range(1000):  # bounded: each pass sleeps until the breath or the bound
            until = min(self._last_key + self.typing_breath, give_up)
            if until <= now or self._stopping.is_set():
                break
            await asyncio.sleep(until - now)
            now = time.monotonic()
        return True

    def _dispatch(self, sse: Any) -> None:
        """One event of the stream: a poke wakes the sync loop, others go to ``on_event``."""
        if sse.event == "poke":
            self._wake.set()
        elif sse.event not in ("hello", "heartbeat") and self._on_event:
            try:
                data = json.loads(sse.data) if sse.data else {}
            except ValueError:
                data = {"raw": sse.data}
            try:
                self._on_event(sse.event, data)
            except Exception:
                log.exception("on_event callback failed")

    async def _link_lost(self, why: str) -> None:
        """The event stream broke (reset, refused, timed out): say offline now, not at the
        next failed save or pull. The sync loop keeps its own pace (a try now would only show
        "syncing" while it waits for its timeout); the stream, reconnecting, pokes it as soon
        as the server answers again. A sync already running decides its own state."""
        if self._lock.locked() or self._snapshot.state not in (
            LinkState.ONLINE,
            LinkState.SYNCING,
        ):
            return
        await self._publish(state=LinkState.OFFLINE, last_error=why)


@dataclass(frozen=True)
class _Batch:
    """One push request, encoded: its body and the mutation ids it carries."""

    first: int
    last: int
    count: int
    body: bytes


def _encode_batch(client_id: str, rows: list[tuple[int, bytes]]) -> _Batch | None:
    """The push body (``PushRequest`` as JSON, compact, UTF-8) of the longest head of
    ``rows`` (mutation id, its JSON) within MAX_PUSH_BODY_BYTES, as ``fit_push_batch``
    counts; never empty when ``rows`` is not. None when there is nothing to push."""
    if not rows:
        return None
    head = ('{"client_id":' + json.dumps(client_id) + ',"mutations":[').encode()
    total = len(head) + 2  # and "]}"
    kept: list[bytes] = []
    last = rows[0][0]
    for mutation_id, text in rows:
        total += len(text) + (1 if kept else 0)
        if kept and total > MAX_PUSH_BODY_BYTES:
            break
        kept.append(text)
        last = mutation_id
    return _Batch(rows[0][0], last, len(kept), head + b",".join(kept) + b"]}")


async def _sent(posting: asyncio.Future[Any], on_wire: asyncio.Event) -> None:
    """Wait until the request ``posting`` has written its body (``on_wire``) or ended,
    whichever comes first (a transport that does not trace its writes: the end)."""
    if posting.done():
        return
    waiting = asyncio.ensure_future(on_wire.wait())
    try:
        await asyncio.wait((posting, waiting), return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()


async def _settle(future: asyncio.Future[Any]) -> None:
    """Wait for ``future`` to end, whatever its outcome (it is being given up)."""
    with contextlib.suppress(Exception):
        await asyncio.shield(future)


STREAM_SILENCE = 90.0  # seconds without any event before the stream counts as dead


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running on this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _silence_after(hello: str) -> float:
    """How long the stream may stay silent: two of the server's heartbeats (its hello says
    how often it sends them) and a second; the default when it does not say."""
    try:
        beat = float(json.loads(hello).get("heartbeat_seconds"))
    except (ValueError, TypeError, AttributeError):
        return STREAM_SILENCE
    return min(STREAM_SILENCE, 2 * beat + 1.0) if beat > 0 else STREAM_SILENCE


def _error_body(response: httpx.Response) -> dict[str, Any] | str | None:
    """The server's ErrorBody (top level or under ``detail``): a dict, FastAPI's plain
    ``detail`` string, or None when the answer carries neither."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    inner = body.get("detail", body)
    return inner if isinstance(inner, dict | str) else None


def _error_code(response: httpx.Response) -> str | None:
    """The server's ErrorBody ``error`` code, if the answer has one."""
    inner = _error_body(response)
    code = inner.get("error") if isinstance(inner, dict) else None
    return code if isinstance(code, str) else None


def _error_message(response: httpx.Response) -> str:
    """The server's ErrorBody message (top level or under ``detail``), else the status text."""
    inner = _error_body(response)
    if isinstance(inner, dict) and "message" in inner:
        return str(inner["message"])
    if isinstance(inner, str):
        return inner
    return response.reason_phrase or str(response.status_code)
