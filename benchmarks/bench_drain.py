"""Outbox drain after an outage: 10,000 mutations waiting, the link comes back.

Ours: the cache's ``Replicator.push`` (batches, one serialized server transaction per batch)
against the real server on SQLite, until the outbox is empty and every mutation acknowledged.
Baseline: the same mutations sent one HTTP request per mutation (``POST /api/v1/sync/push``
with one mutation, keep-alive client, in order) to a second server on a fresh database. In the
full run the baseline sends the first 1,000 (its rate is flat; 10,000 one by one would take
most of the time budget); the figure compared is mutations per second.

Details (no baseline, in-process, no server): ``record``, the desk's own cost of recording
push answers, CPU and wall milliseconds per answer: the same outbox answered in batches of 100
as the server answers a create_ticket (applied, revision 1, a ticket number), recorded by
``CacheStore.apply_push_result``; once with numbers, once without, so the cost of taking the
server's number shows on its own; and once more with numbers on a desk that also holds the
seeded 100,000 tickets (RECORD_CACHED of them answered), as a desk in service does: the
full-text index is that large, and so is the work of changing it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import common

RECORD_CACHED = 1_000  # answers recorded on the desk holding 100,000 tickets


def make_outbox(path: Path, n: int) -> None:
    """``n`` tickets saved offline: ``n`` create_ticket mutations in the outbox. The setup
    writes with synchronous=OFF to save time (the measured drain is unaffected). An existing
    cache at ``path`` keeps what it holds."""
    from offline_cache import open_cache

    store = open_cache("bench", key_provider=common.FixedKey(), path=path)
    store.set_identity("agent1", common.TEAM, "agent")
    with store._lock:
        store._conn.execute("PRAGMA synchronous = OFF")
    for i in range(n):
        store.create_ticket(common.ticket_fields(i), call_started_at=datetime.now(UTC))
    with store._lock:
        store._conn.execute("PRAGMA synchronous = FULL")
    store.close()


def outbox_rows(path: Path) -> list[dict[str, Any]]:
    from offline_cache import open_cache

    store = open_cache("bench", key_provider=common.FixedKey(), path=path)
    with store._lock:
        rows = store._conn.execute(
            "SELECT mutation_id, name, args, client_time FROM outbox ORDER BY mutation_id"
        ).fetchall()
    store.close()
    return [
        {"mutation_id": r[0], "name": r[1], "args": json.loads(r[2]), "client_time": r[3]}
        for r in rows
    ]


async def drain(path: Path, url: str, token: str) -> dict[str, Any]:
    from offline_cache import Replicator, open_cache

    store = open_cache("bench", key_provider=common.FixedKey(), path=path)
    before = store.outbox_stats().size
    rep = Replicator(store, url, token=token, listen=False, request_timeout=60.0)
    t, cpu = time.perf_counter(), time.process_time()
    sent = await rep.push()
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    left = store.outbox_stats().size
    await rep.aclose()
    store.close()
    return {
        "mutations": before,
        "sent": sent,
        "left": left,
        "seconds": elapsed,
        "per_second": before / elapsed,
        "client_cpu_ms_per_mutation": 1000 * cpu / max(before, 1),
    }


def record_cost(seed: Path, work: Path, *, numbered: bool, batch: int = 100) -> dict[str, Any]:
    """CPU and wall milliseconds per push answer recorded by the cache (a copy of ``seed``)."""
    from hotline.protocol import MutationOutcome, MutationResult, PushResponse
    from offline_cache import open_cache

    path = work / f"record-{'numbered' if numbered else 'plain'}-{seed.stem}.db"
    shutil.copyfile(seed, path)
    store = open_cache("bench", key_provider=common.FixedKey(), path=path)
    ids = {m.mutation_id: m.args["id"] for m in store.pending_mutations(limit=1_000_000)}
    cpu = wall = 0.0
    done = 0
    order = sorted(ids)
    for start in range(0, len(order), batch):
        part = order[start : start + batch]
        answer = PushResponse(
            last_mutation_id=part[-1],
            results=[
                MutationResult(
                    mutation_id=mid,
                    outcome=MutationOutcome.APPLIED,
                    ticket_id=ids[mid],
                    ticket_number=f"20261206-{mid:06d}" if numbered else None,
                    revision=1,
                )
                for mid in part
            ],
        )
        c0, w0 = time.process_time(), time.perf_counter()
        done += store.apply_push_result(answer)
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
    left = store.outbox_stats().size
    store.close()
    return {
        "answers": done,
        "left": left,
        "cpu_ms_per_answer": round(1000 * cpu / max(done, 1), 3),
        "wall_ms_per_answer": round(1000 * wall / max(done, 1), 3),
    }


def one_by_one(url: str, token: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import httpx

    client_id = str(uuid.uuid4())
    ok = 0
    with httpx.Client(base_url=url, timeout=60) as client:
        t = time.perf_counter()
        for m in rows:
            r = client.post(
                "/api/v1/sync/push",
                json={"client_id": client_id, "mutations": [m]},
                headers={"Authorization": f"Bearer {token}"},
            )
            ok += r.status_code == 200
        elapsed = time.perf_counter() - t
    return {"mutations": len(rows), "ok": ok, "seconds": elapsed, "per_second": len(rows) / elapsed}


def run(quick: bool) -> dict[str, Any]:
    n = 2_000 if quick else 10_000
    n_base = 300 if quick else 1_000
    with common.isolated_home("drain") as tmp:
        seed = tmp / "outbox-seed.db"
        make_outbox(seed, n)
        rows = outbox_rows(seed)
        results: dict[str, Any] = {}
        for label in ("ours", "baseline"):
            db = f"sqlite:///{tmp / f'{label}.db'}"
            work = tmp / label
            work.mkdir()
            common.prepare_database(db, {"agent1": ("agent", common.TEAM)})
            server = common.start_server(db, work)
            try:
                token = common.login(server.url, "agent1")
                cpu0 = common.cpu_seconds(server.process.pid)
                if label == "ours":
                    path = tmp / "outbox.db"
                    shutil.copyfile(seed, path)
                    results[label] = asyncio.run(drain(path, server.url, token))
                else:
                    results[label] = one_by_one(server.url, token, rows[:n_base])
                cpu = common.cpu_seconds(server.process.pid) - cpu0
                results[label]["server_cpu_ms_per_mutation"] = (
                    1000 * cpu / results[label]["mutations"]
                )
            finally:
                server.stop()
        cached = common.seeded_copy(100_000, tmp / "cached-seed.db")
        make_outbox(cached, RECORD_CACHED)
        results["record"] = {
            "numbered": record_cost(seed, tmp, numbered=True),
            "without_number": record_cost(seed, tmp, numbered=False),
            "numbered_100k_cached": record_cost(cached, tmp, numbered=True),
        }
    ours, base = results["ours"], results["baseline"]
    r = common.ratio(ours["per_second"], base["per_second"])
    rows_out = [
        common.row(
            f"outbox drain: {n:,} mutations after an outage",
            {
                "mutations_per_s": round(ours["per_second"], 1),
                "seconds": round(ours["seconds"], 2),
                "server_cpu_ms_per_mutation": round(ours["server_cpu_ms_per_mutation"], 2),
                "desk_cpu_ms_per_mutation": round(ours["client_cpu_ms_per_mutation"], 2),
                "record_cpu_ms_per_answer": results["record"]["numbered_100k_cached"][
                    "cpu_ms_per_answer"
                ],
            },
            {
                "mutations_per_s": round(base["per_second"], 1),
                "seconds": round(base["seconds"], 2),
                "server_cpu_ms_per_mutation": round(base["server_cpu_ms_per_mutation"], 2),
            },
            figure="mutations/s",
            target=">= 20x",
            ratio_value=r,
            met=r >= 20 and ours["left"] == 0,
            note=f"server on SQLite; outbox left {ours['left']}; baseline rate over the first"
            f" {n_base:,} mutations, one request each",
        )
    ]
    return {"rows": rows_out, "details": results}


if __name__ == "__main__":
    common.main("bench_drain", run)
