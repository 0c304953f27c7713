"""Server ingest through push, on SQLite and on PostgreSQL, against raw inserts of the same rows.

Ours: ``create_ticket`` mutations pushed to the real server process in batches of 100 (one
request per batch, as the replicator sends them); the server validates, numbers, applies,
records history and the change log in one transaction per batch. Figure: mutations/s;
target: at least 25% of the baseline's rows/s (issue 14), read as the median of five rounds'
ratios, each round a fresh database pushed to and then raw-inserted into.
Baseline: the ``tickets`` rows the server ended up with, inserted into an empty copy of the
table with SQLAlchemy Core ``executemany``, 100 rows per transaction, on the same database.

What the two write differs, in the baseline's favour: the copy has the ticket columns only,
no index (the server's table has its primary key, a unique number and ten more indexes),
and the baseline writes no history row, change-log entry, stored answer, day number or
client row, and parses, validates and answers nothing. Same durability: the copy lives in
the server's database file (WAL) and both connections run with ``synchronous`` FULL (read
back and recorded in the details); PostgreSQL's ``synchronous_commit`` likewise. The details
also hold the server's in-process CPU per mutation (``benchmarks.push_cpu``), steadier than
the /proc figure of the server process under load.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import common

BATCH = 100


def mutations(n: int, offset: int = 0) -> list[dict[str, Any]]:
    from hotline.ids import uuid7

    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(n):
        k = offset + i
        out.append(
            {
                "mutation_id": i + 1,
                "name": "create_ticket",
                "args": {
                    **common.ticket_fields(k),
                    "id": uuid7(),
                    "call_started_at": now,
                    "created_at": now,
                    "disposition": "pending",
                },
                "client_time": now,
            }
        )
    return out


def push_all(url: str, token: str, muts: list[dict[str, Any]]) -> float:
    import httpx

    client_id = str(uuid.uuid4())
    with httpx.Client(base_url=url, timeout=120) as client:
        t = time.perf_counter()
        for start in range(0, len(muts), BATCH):
            r = client.post(
                "/api/v1/sync/push",
                json={"client_id": client_id, "mutations": muts[start : start + BATCH]},
                headers={"Authorization": f"Bearer {token}"},
            )
            r.raise_for_status()
        return time.perf_counter() - t


def _durability(conn: Any) -> dict[str, Any]:
    """What a commit waits for on this connection (the server's: WAL, synchronous FULL)."""
    if conn.dialect.name == "sqlite":
        return {"journal_mode": conn.exec_driver_sql("PRAGMA journal_mode").scalar(),
                "synchronous": conn.exec_driver_sql("PRAGMA synchronous").scalar()}  # fmt: skip
    return {"synchronous_commit": conn.exec_driver_sql("SHOW synchronous_commit").scalar()}


def raw_inserts(database_url: str) -> tuple[int, float, dict[str, Any]]:
    """The server's ticket rows, read back with the server's own table definition, inserted
    into a same-typed table without constraints or triggers."""
    import sqlalchemy as sa

    from hotline_server.db.schema import metadata

    source = metadata.tables["tickets"]
    meta = sa.MetaData()
    raw = sa.Table("tickets_raw", meta, *[sa.Column(c.name, c.type) for c in source.columns])
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        meta.create_all(engine)
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(sa.select(source)).mappings()]
            durability = _durability(conn)
        t = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            with engine.begin() as conn:
                conn.execute(raw.insert(), rows[start : start + BATCH])
        return len(rows), time.perf_counter() - t, durability
    finally:
        engine.dispose()


def one_database(label: str, database_url: str, work: Path, n: int) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    common.prepare_database(database_url, {"agent1": ("agent", common.TEAM)})
    server = common.start_server(database_url, work)
    try:
        token = common.login(server.url, "agent1")
        push_all(server.url, token, mutations(200, offset=10_000_000))  # warm: pools, caches
        cpu0 = common.cpu_seconds(server.process.pid)
        seconds = push_all(server.url, token, mutations(n))
        cpu = common.cpu_seconds(server.process.pid) - cpu0
    finally:
        server.stop()
    count, raw_seconds, durability = raw_inserts(database_url)
    return {
        "database": label,
        "mutations": n,
        "push_seconds": seconds,
        "push_per_s": n / seconds,
        "server_cpu_ms_per_mutation": 1000 * cpu / n,
        "raw_rows": count,
        "raw_seconds": raw_seconds,
        "raw_per_s": count / raw_seconds,
        "raw_durability": durability,
    }


def _combined(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One database's rounds as one figure: each round's ratio compares ours with the raw
    inserts made right after it, on the same database; the row reads their median."""
    ratios = [d["push_per_s"] / d["raw_per_s"] for d in rounds]
    return {
        **{k: rounds[0][k] for k in ("database", "mutations", "raw_rows", "raw_durability")},
        "push_per_s": statistics.median([d["push_per_s"] for d in rounds]),
        "raw_per_s": statistics.median([d["raw_per_s"] for d in rounds]),
        "server_cpu_ms_per_mutation": statistics.median(
            [d["server_cpu_ms_per_mutation"] for d in rounds]
        ),
        "ratio": statistics.median(ratios),
        "ratios": [round(r, 3) for r in ratios],
        "rounds": rounds,
    }


def run(quick: bool) -> dict[str, Any]:
    """Rounds alternate SQLite and PostgreSQL, each on a fresh database: one push-then-raw
    pair is ~1 s of work, and the raw inserts alone moved 4x between single runs on the
    shared VM (2026-12-07), so one pair could not tell the row from the machine."""
    n = 1_000 if quick else 3_000
    rounds = 2 if quick else 5
    by_label: dict[str, list[dict[str, Any]]] = {}
    rows = []
    with common.isolated_home("ingest") as tmp:
        for i in range(rounds):
            sqlite_url = f"sqlite:///{tmp / f'server{i}.db'}"
            by_label.setdefault("sqlite", []).append(
                one_database("sqlite", sqlite_url, tmp / f"s{i}", n)
            )
            with common.postgres_database() as pg:
                if pg is not None:
                    by_label.setdefault("postgres", []).append(
                        one_database("postgres", pg, tmp / f"p{i}", n)
                    )
    details = {label: _combined(found) for label, found in by_label.items()}
    from benchmarks import push_cpu

    inprocess = push_cpu.run(3 if quick else 10, None)  # batches of 100, after two warm-ups
    for label, d in details.items():
        if label in inprocess:
            d["inprocess_cpu_ms_per_mutation"] = inprocess[label]["cpu_ms_per_mutation"]
        r = d["ratio"]
        spread = f"{min(d['ratios']):.0%}-{max(d['ratios']):.0%}"
        rows.append(
            common.row(
                f"server ingest through push on {label}",
                {
                    "mutations_per_s": round(d["push_per_s"], 1),
                    "server_cpu_ms_per_mutation": round(d["server_cpu_ms_per_mutation"], 2),
                },
                {"rows_per_s": round(d["raw_per_s"], 1)},
                figure="mutations/s",
                target=">= 25% of raw inserts",
                ratio_value=r,
                met=r >= 0.25,
                note=f"{n:,} create_ticket mutations, batches of {BATCH}; baseline inserts the"
                f" {d['raw_rows']:,} resulting ticket rows into an unindexed copy (no history,"
                f" change log or stored answers), {BATCH} per transaction, same durability;"
                f" {len(d['ratios'])} rounds on fresh databases, each pushed then raw-inserted,"
                f" ratio = median of the rounds' ratios ({spread}), rates = medians",
            )
        )
    return {"rows": rows, "details": details}


if __name__ == "__main__":
    common.main("bench_ingest", run)
