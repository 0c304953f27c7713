"""Server CPU per ``create_ticket`` mutation of a push, in-process: repeatable where the
server process's /proc figure (bench_ingest, bench_drain) moves with the machine's load.

What one push costs the server's Python, without HTTP: the request body read as the route
reads it (``sync.push.read_clean_body``, one pydantic pass from the JSON text, for a clean
body; otherwise ``json.loads`` and ``PushRequest`` validation), ``sync.push.push`` (validation,
numbering, the inserts, history, change log, stored answers) and the answer encoded as JSON.
Figure: ``time.process_time`` per mutation over batches of 100, after two warm-up batches;
on SQLite that includes SQLite's own work (the server does it in-process too), on
PostgreSQL not the database server's.

    .venv/bin/python -m benchmarks.push_cpu [--batches 10] [--profile sqlite|postgres]

``--profile`` prints cProfile's top functions (cumulative) for the chosen database.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time
import uuid
from datetime import UTC, datetime
from typing import Any

BATCH = 100
SORT = "cumulative"


def _bodies(n_batches: int, offset: int) -> tuple[str, list[bytes]]:
    from benchmarks.bench_ingest import mutations

    client_id = str(uuid.uuid4())
    muts = mutations(n_batches * BATCH, offset=offset)
    bodies = [
        json.dumps({"client_id": client_id, "mutations": muts[i : i + BATCH]}).encode()
        for i in range(0, len(muts), BATCH)
    ]
    return client_id, bodies


def measure(database_url: str, n_batches: int = 10, profile: bool = False) -> dict[str, Any]:
    """CPU seconds per mutation of ``n_batches`` pushes of 100 creates on ``database_url``
    (migrated here; one agent in a team)."""
    from benchmarks import common
    from hotline.model import Role
    from hotline.protocol import PushRequest
    from hotline_server.auth import User
    from hotline_server.db.engine import make_engine
    from hotline_server.sync.appliers import register_core
    from hotline_server.sync.push import push, read_clean_body

    common.prepare_database(database_url, {"agent1": ("agent", common.TEAM)})
    engine = make_engine(database_url)
    register_core()
    try:
        user = User("agent1", Role.AGENT, common.TEAM)

        def one(body: bytes) -> None:
            # nul_free as the route has it (``limits.RequestLimits`` looks at the body)
            nul_free = b"\\u0000" not in body
            request = read_clean_body(body) if nul_free else None
            if request is None:  # what FastAPI reads then
                request = PushRequest.model_validate(json.loads(body))
            outcome = push(engine, user, request, datetime.now(UTC),
                           timezone="Asia/Shanghai", teams_configured=True,
                           nul_free=nul_free)  # fmt: skip
            answer = outcome.response.model_dump_json()
            if '"rejected"' in answer:
                raise RuntimeError(f"a benchmark mutation was rejected: {answer[:500]}")

        _, warm = _bodies(2, offset=20_000_000)
        for body in warm:
            one(body)
        _, bodies = _bodies(n_batches, offset=0)
        profiler = cProfile.Profile() if profile else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for body in bodies:
            one(body)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        engine.dispose()
    n = n_batches * BATCH
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(SORT).print_stats(45)
    return {"mutations": n, "cpu_ms_per_mutation": 1000 * cpu / n,
            "wall_ms_per_mutation": 1000 * wall / n}  # fmt: skip


def run(n_batches: int, profile: str | None) -> dict[str, Any]:
    from benchmarks import common

    out: dict[str, Any] = {}
    with common.isolated_home("push-cpu") as tmp:
        out["sqlite"] = measure(f"sqlite:///{tmp / 'server.db'}", n_batches, profile == "sqlite")
        with common.postgres_database() as pg:
            if pg is not None:
                out["postgres"] = measure(pg, n_batches, profile == "postgres")
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="benchmarks.push_cpu")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--profile", choices=("sqlite", "postgres"))
    a = parser.parse_args()
    print(json.dumps(run(a.batches, a.profile), indent=1))
