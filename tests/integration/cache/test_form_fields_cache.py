"""Issue 13 through the desk's cache and the real server (SQLite and PostgreSQL): a ticket
with the new fields goes through the outbox once; another agent's desk pulls it without a
confidential caller's identity; the handling-unit directory is kept in the cache."""

from __future__ import annotations

from offline_cache import SyncOutcome
from tests.integration.cache.conftest import (
    Hotline,
    assert_applied_once,
    fields,
    now,
    server_tickets,
)

SECRET = {"caller_name": "保密市民", "phone": "13677778888", "caller_number": "02164001234",
          "address": "黄浦区人民路1号"}  # fmt: skip


async def test_a_confidential_ticket_from_the_outbox_reaches_other_desks_without_the_caller(
    hotline_any: Hotline,
) -> None:
    alice = hotline_any.desk("alice")
    bob = hotline_any.desk("bob")
    assert alice.store.units() is None  # nothing fetched yet: the desk offers the shipped list
    ticket = fields(1, **SECRET, privacy="confidential", street="外滩", topic="water_drainage",
                    reply_needed=True, reply_method="phone", respondent="某物业")  # fmt: skip
    saved = alice.store.create_ticket(ticket, call_started_at=now())  # offline: outbox only
    tid = str(saved.ticket_id)
    assert alice.store.outbox_stats().size == 1
    assert await alice.sync() == SyncOutcome.DONE
    on_server = server_tickets(hotline_any)[tid]
    assert (on_server["street"], on_server["privacy"], on_server["caller_number"]) == (
        "外滩街道", "confidential", "02164001234")  # fmt: skip
    assert_applied_once(hotline_any)

    assert await bob.sync() == SyncOutcome.DONE
    seen = bob.store.get_ticket(tid)
    assert seen is not None
    assert seen.data["account"] == "第1号诉求：小区停水" and seen.data["caller_hidden"] is True
    for name in SECRET:
        assert seen.data[name] in ("", None), name
    assert not bob.store.open_tickets_for_phone(SECRET["phone"])  # nor found by the number
    mine = alice.store.get_ticket(tid)
    assert mine is not None and mine.data["caller_name"] == "保密市民"

    # the directory came with the sync and stays in the cache (read with no network)
    units = alice.store.units()
    assert units is not None and "市水务局" in [u["zh"] for u in units]
    for d in (alice, bob):
        await d.close()
