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

from offline_cache import open_cache
from tests.support.keyring_backend import FileKeyring

ROUNDS = 12


@pytest.mark.slow
def test_sigkill_of_a_writer_loses_no_returned_save(tmp_path: Path) -> None:
    keyring.set_keyring(FileKeyring())  # share the key with the child processes (env set)
    rng = random.Random(1234)
    promised: dict[str, list[tuple[str, int]]] = {"ticket": [], "note": [], "draft": []}
    root = Path(__file__).resolve().parents[3]
    for round_no in range(ROUNDS):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.integration.cache.writer_proc",
                "crash",
                str(round_no * 100_000),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "open", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.01, 0.4))
        proc.kill()  # SIGKILL: no handler, no flush, no checkpoint
        out, _err = proc.communicate(timeout=30)
        for line in out.splitlines():
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
        finally:
            store.close()
    assert len(promised["ticket"]) > ROUNDS  # the writers really wrote between kills
