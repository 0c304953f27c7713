"""A cache written by the previous release (schema version 2: the ticket number in the
trigram index) opens under this one with everything it held: tickets, notes, outbox,
needs-attention items, drafts and sync state, and every ticket is found again by number,
name and address."""

from __future__ import annotations

from pathlib import Path

import pytest

import offline_cache.store as store_module
from hotline.protocol import Entity, MutationOutcome, MutationResult, PushResponse
from offline_cache import QueueQuery, open_cache
from offline_cache.schema import LATEST
from tests.unit.cache.test_cache_store import T0, Clock, new_ticket, page, server_ticket

PULLED = [f"0190b4a0-0000-7000-8000-{i:012d}" for i in range(1, 31)]


def _version_2_cache(path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Write a cache as the previous release did: only the first two migrations run."""
    with monkeypatch.context() as m:
        m.setattr(store_module, "LATEST", 2)
        old = open_cache("old", path=path, clock=clock)
        try:
            assert old._conn.execute("PRAGMA user_version").fetchone()[0] == 2
            old.set_identity("alice", "east", "agent")
            old.apply_pull(
                page(
                    [
                        (
                            Entity.TICKET,
                            tid,
                            server_ticket(
                                tid,
                                number=f"20261124-{i:06d}",
                                caller_name=f"市民{i}",
                                address=f"上海市黄浦区人民路{i}号",
                            ),
                        )
                        for i, tid in enumerate(PULLED, 1)
                    ],
                    cursor=30,
                )
            )
            numbered = new_ticket(old, caller_name="欧阳娜娜", address="浦东新区世纪大道100号")
            waiting = new_ticket(old, caller_name="王五", address="徐汇区漕溪北路1号")
            old.add_note(waiting, "等回电")
            old.change_status(numbered, "evaluated")  # refused below: kept aside
            old.apply_push_result(
                PushResponse(
                    last_mutation_id=2,
                    results=[
                        MutationResult(
                            mutation_id=1,
                            outcome=MutationOutcome.APPLIED,
                            ticket_id=numbered,
                            ticket_number="20261124-000900",
                            revision=1,
                        ),
                        MutationResult(
                            mutation_id=2,
                            outcome=MutationOutcome.APPLIED,
                            ticket_id=waiting,
                            ticket_number="20261124-000901",
                            revision=1,
                        ),
                    ],
                )
            )
            old.apply_push_result(
                PushResponse(
                    last_mutation_id=4,
                    results=[
                        MutationResult(mutation_id=3, outcome=MutationOutcome.APPLIED),
                        MutationResult(
                            mutation_id=4,
                            outcome=MutationOutcome.REJECTED,
                            reason="不能从受理直接到评价",
                            field="args.to",
                        ),
                    ],
                )
            )
            unsent = new_ticket(old, caller_name="赵六", address="长宁区天山路5号")
            draft = old.save_draft("intake", {"caller_name": "未保存"})
        finally:
            old.close()
    return {"numbered": numbered, "waiting": waiting, "unsent": unsent, "draft": draft.id}


def test_a_version_2_cache_upgrades_keeping_everything_and_finds_tickets_by_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(T0)
    path = tmp_path / "cache.db"
    made = _version_2_cache(path, clock, monkeypatch)
    store = open_cache("old", path=path, clock=clock)
    try:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == LATEST == 3
        assert store.integrity_check() == "ok"
        store._conn.execute(
            "INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('integrity-check', 1)"
        )
        assert store.queue_page(QueueQuery(limit=100)).total == 33
        meta = store.sync_meta()
        assert (meta.cursor, meta.last_acked_mutation_id, meta.user) == (30, 4, "alice")
        [pending] = store.pending_mutations()
        assert pending.args["id"] == made["unsent"]
        [refused] = store.needs_attention()
        assert refused.reason == "不能从受理直接到评价"
        assert [n.body for n in store.notes(made["waiting"])] == ["等回电"]
        assert store.get_draft(made["draft"]) is not None

        def found(text: str) -> list[str]:
            return [r.id for r in store.search(text)]

        assert found("20261124-000900") == [made["numbered"]]
        assert set(found("20261124-00090")) == {made["numbered"], made["waiting"]}
        assert found("20261124-000007") == [PULLED[6]]
        assert found("欧阳娜娜") == [made["numbered"]]
        assert found("人民路7号") == [PULLED[6]]
        assert found("天山路") == [made["unsent"]]
        # and the index keeps following the rows after the upgrade
        store.update_ticket(made["unsent"], {"address": "长宁区仙霞路9号"})
        assert found("天山路") == [] and found("仙霞路") == [made["unsent"]]
    finally:
        store.close()
