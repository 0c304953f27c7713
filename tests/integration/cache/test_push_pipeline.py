"""The drain's pipeline against the real server: the next batch is read while the server
works, answers are recorded while it works on the next one, and neither changes what is
sent, in what order, or what a failure leaves in the outbox."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from hotline.protocol import PushResponse
from offline_cache import SyncOutcome
from tests.integration.cache.conftest import (
    Hotline,
    assert_applied_once,
    assert_converged,
    cache_query_only,
    fields,
    now,
    server_tickets,
    sync_client_row,
)


class _Recorder(httpx.AsyncBaseTransport):
    """The desk's own HTTP transport, keeping what each push carried and the order in which
    requests went out, their bodies were written and answers came back."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.events: list[tuple[str, list[int]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        ids: list[int] = []
        if request.url.path.endswith("/sync/push"):
            ids = [m["mutation_id"] for m in json.loads(await request.aread())["mutations"]]
            self.events.append(("sent", ids))
            tracer = self._tracer(ids, request.extensions.get("trace"))
            request.extensions = {**request.extensions, "trace": tracer}
        response = await self.inner.handle_async_request(request)
        if ids:
            self.events.append(("answered", ids))
        return response

    def _tracer(self, ids: list[int], inner: Any) -> Any:
        """The request's trace hook (the desk's own, if any, still called), noting when the
        whole body has been written to the socket."""

        async def trace(event: str, info: dict[str, Any]) -> None:
            if event.endswith(".send_request_body.complete"):
                self.events.append(("written", ids))
            if inner is not None:
                await inner(event, info)

        return trace

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_drain_sends_each_batch_after_the_answer_to_the_one_before(
    hotline: Hotline,
) -> None:
    """230 tickets saved offline, each with a note, drained in batches of 50: every
    mutation goes once, in mutation order, and no push leaves before the answer to the one
    before it came back (a note in one batch may need the ticket the batch before made)."""
    recorder = _Recorder()
    alice = hotline.desk("alice", batch_size=50, transport=recorder)
    for i in range(115):
        tid = str(alice.store.create_ticket(fields(i), call_started_at=now()).ticket_id)
        alice.store.add_note(tid, f"第{i}条备注")
    assert await alice.sync() == SyncOutcome.DONE
    kinds = [kind for kind, _ in recorder.events if kind != "written"]
    assert kinds == ["sent", "answered"] * (len(kinds) // 2)
    sent = [mid for kind, ids in recorder.events if kind == "sent" for mid in ids]
    assert sent == list(range(1, 231))
    assert all(len(ids) <= 50 for _, ids in recorder.events)
    assert all(t["number"] for t in server_tickets(hotline).values())
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()


async def test_answers_lost_in_a_crash_are_asked_again_and_the_drain_finishes(
    hotline: Hotline,
) -> None:
    """The desk pushed its whole outbox and died before recording any answer (the server
    has everything). The next sync pushes the same mutation ids again, the server answers
    "already applied", and the sync ends done in one go: outbox empty, numbers taken,
    nothing applied twice. (Its first answer covers batches already read and on their way:
    they are not an error.)"""
    alice = hotline.desk("alice", batch_size=50)
    tids = [
        str(alice.store.create_ticket(fields(i), call_started_at=now()).ticket_id)
        for i in range(180)
    ]
    pending = alice.store.pending_mutations(limit=1000)
    body = {
        "client_id": alice.store.client_id,
        "mutations": [m.model_dump(mode="json") for m in pending],
    }
    r = httpx.post(
        hotline.url + "/api/v1/sync/push",
        json=body,
        headers={"Authorization": f"Bearer {hotline.token('alice')}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert len(alice.store.outbox(limit=1000)) == 180  # no answer was recorded
    assert await alice.sync() == SyncOutcome.DONE
    assert alice.store.outbox() == []
    numbers = server_tickets(hotline)
    for tid in tids:
        ticket = alice.store.get_ticket(tid)
        assert ticket is not None and ticket.data["number"] == numbers[tid]["number"]
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()


async def test_a_cache_that_cannot_record_answers_stops_the_drain_and_keeps_the_outbox(
    hotline: Hotline,
) -> None:
    """The disk refuses writes during a drain of 300 mutations in batches of 50: the push
    stops at the next answer (it does not send the rest of the outbox blind), every
    mutation stays in the outbox, and once the disk is back one sync finishes the job."""
    alice = hotline.desk("alice", batch_size=50)
    for i in range(300):
        alice.store.create_ticket(fields(i), call_started_at=now())
    cache_query_only(alice.store, True)
    assert await alice.sync() == SyncOutcome.CACHE_ERROR
    assert len(alice.store.outbox(limit=1000)) == 300
    # the first answer could not be recorded: at most the batch on its way went after it
    row = sync_client_row(hotline, alice.store.client_id)
    assert row is None or row[1] <= 100
    cache_query_only(alice.store, False)
    assert await alice.sync() == SyncOutcome.DONE
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()


async def test_an_answer_is_recorded_once_the_next_batch_has_left(
    hotline: Hotline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the server works on one batch the desk records the answer to the batch before
    it, but only once that request has gone out (recording first would hold up the request
    the server is waiting for). 200 tickets in batches of 50: each answer is recorded once,
    in order, the last one after its answer came back; every ticket ends acknowledged with
    its number and nothing is applied twice."""
    recorder = _Recorder()
    alice = hotline.desk("alice", batch_size=50, transport=recorder)
    for i in range(200):
        alice.store.create_ticket(fields(i), call_started_at=now())
    apply = alice.store.apply_push_result

    def recording(answer: PushResponse) -> int:
        recorder.events.append(("recorded", [answer.last_mutation_id]))
        return apply(answer)

    monkeypatch.setattr(alice.store, "apply_push_result", recording)
    assert await alice.sync() == SyncOutcome.DONE
    events = recorder.events
    recorded = [ids[0] for kind, ids in events if kind == "recorded"]
    assert recorded == [50, 100, 150, 200]
    written = {ids[0]: i for i, (kind, ids) in enumerate(events) if kind == "written"}
    assert sorted(written) == [1, 51, 101, 151]
    for last in (50, 100, 150):  # recorded after the next batch's body went out
        assert events.index(("recorded", [last])) > written[last + 1]
    answered = [i for i, (kind, _) in enumerate(events) if kind == "answered"]
    assert events.index(("recorded", [200])) > answered[-1]
    assert alice.store.outbox() == []
    assert all(t["number"] for t in server_tickets(hotline).values())
    assert_converged(hotline, alice)
    assert_applied_once(hotline)
    await alice.close()
