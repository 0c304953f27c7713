"""A desk's fullest tickets still reach a server with the default body limit (1 MiB): the
replicator cuts its batches to hotline.protocol.MAX_PUSH_BODY_BYTES (issue 12)."""

from __future__ import annotations

from offline_cache import SyncOutcome
from tests.integration.cache.conftest import (
    Hotline,
    assert_applied_once,
    fields,
    now,
    server_tickets,
)

FULL = {"caller_name": "张" * 50, "address": "路" * 200, "account": "诉" * 4000,
        "answer": "答" * 4000, "promise": "诺" * 500, "extra": {"note": "备" * 5000}}  # fmt: skip


async def test_a_hundred_full_tickets_sync_in_batches_under_the_limit(hotline: Hotline) -> None:
    desk = hotline.desk("alice")
    saved = [str(desk.store.create_ticket(fields(i, **FULL), call_started_at=now()).ticket_id)
             for i in range(100)]  # fmt: skip
    assert await desk.drain() == SyncOutcome.DONE
    assert desk.store.outbox_stats().size == 0
    on_server = server_tickets(hotline)
    assert set(saved) <= set(on_server)
    assert all(on_server[t]["account"] == FULL["account"] for t in saved)
    assert_applied_once(hotline)
    log = hotline.server.log_path.read_text(errors="replace")
    assert " 413 " not in log
    await desk.close()
