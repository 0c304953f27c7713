"""SIGKILL of a desk process at random moments: every save that returned is there."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest

from offline_cache import CacheStore, open_cache
from tests.support.keyring_backend import FileKeyring

ROUNDS = 15
IN_OPEN = 3  # every 3rd round the kill lands while the writer opens the cache


def kill_a_writer(root: Path, start: int, in_open: bool, pause: float) -> list[str]:
    """Start a writer, SIGKILL it ``pause`` s after it began opening the cache (``in_open``)
    or after it opened it; return its promises (lines printed after a save returned)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.cache.writer_proc", "crash", str(start)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first == "opening", proc.stderr.read() if proc.stderr else ""
    if not in_open:
        assert proc.stdout.readline().strip() == "open", proc.stderr.read() if proc.stderr else ""
    time.sleep(pause)
    proc.kill()  # SIGKILL: no handler, no flush, no checkpoint
    out, _err = proc.communicate(timeout=30)
    return out.splitlines()


def count(store: CacheStore, sql: str) -> int:
    with store._lock:
        return int(store._conn.execute(sql).fetchone()[0])


@pytest.mark.slow
def test_sigkill_of_a_writer_loses_no_returned_save(tmp_path: Path) -> None:
    keyring.set_keyring(FileKeyring())  # share the key with the child processes (env set)
    rng = random.Random(1234)
    promised: dict[str, list[tuple[str, int]]] = {"ticket": [], "note": [], "draft": []}
    root = Path(__file__).resolve().parents[3]
    killed_in_open = 0
    for round_no in range(ROUNDS):
        in_open = round_no % IN_OPEN == 0  # round 0: while the file is first made
        pause = rng.uniform(0.0, 0.02) if in_open else rng.uniform(0.01, 0.4)
        lines = kill_a_writer(root, round_no * 100_000, in_open, pause)
        if in_open and "open" not in lines:
            killed_in_open += 1
        for line in lines:
            if line == "open":
                continue
            kind, ident, mutation = line.split()
            promised[kind].append((ident, int(mutation)))
        store = open_cache("crash")
        try:
            assert store.recovery is None
            assert store.integrity_check() == "ok"
            outbox = {(m.mutation_id, m.name) for m in store.outbox(limit=1_000_000)}
            for tid, mid in promised["ticket"]:
                ticket = store.get_ticket(tid)
                assert ticket is not None, f"round {round_no}: saved ticket {tid} lost"
                assert (mid, "create_ticket") in outbox
            for nid, mid in promised["note"]:
                assert (mid, "add_note") in outbox, f"round {round_no}: note {nid} lost"
            drafts = {d.id for d in store.list_drafts()}
            assert {d for d, _ in promised["draft"]} <= drafts
            ids = sorted(m for m, _ in outbox)
            assert ids == list(range(1, len(ids) + 1))  # no hole, no duplicate id
            # every ticket and note in the file has its outbox row (none was acknowledged:
            # there is no server), and every create/note row has its ticket/note
            tickets = count(store, "SELECT count(*) FROM tickets")
            notes = count(store, "SELECT count(*) FROM notes")
            assert sum(1 for _, name in outbox if name == "create_ticket") == tickets
            assert sum(1 for _, name in outbox if name == "add_note") == notes
            assert tickets >= len(promised["ticket"]) and notes >= len(promised["note"])
            orphans = (
                "SELECT count(*) FROM tickets t WHERE NOT EXISTS (SELECT 1 FROM outbox o"
                " WHERE o.name = 'create_ticket' AND o.ticket_id = t.id)"
            )
            assert count(store, orphans) == 0, f"round {round_no}: a ticket without its row"
            lost = (
                "SELECT count(*) FROM outbox o WHERE o.name = 'create_ticket' AND NOT EXISTS"
                " (SELECT 1 FROM tickets t WHERE t.id = o.ticket_id)"
            )
            assert count(store, lost) == 0, f"round {round_no}: an outbox row without its ticket"
        finally:
            store.close()
    assert len(promised["ticket"]) > ROUNDS  # the writers really wrote between kills
    assert killed_in_open >= 1  # and some kills landed inside open_cache
