"""Peak-day replay: 80,000 calls a day, 200 agents, at 100x speed, through
``hotline-server simulate`` against the real server (SQLite).

A whole day at 100x is 864 s of wall time, more than the 10-minute budget of all benchmarks
together, so the run replays the day's busiest stretch at the same rate and speed: from 09:00
local (the morning peak, twice the day's mean rate) for 60 simulated minutes (36 s wall; the
quick pass 20 minutes). ``HOTLINE_BENCH_FULL_DAY=1`` replays the whole day instead, from
00:00 local for 24 simulated hours (864 s wall at 100x, so it is opt-in: never part of the
default run). Measured:

- server CPU: CPU seconds of the server process / wall seconds (100% = one core);
- API latency: while the simulator runs, a probe here reads the API as desks and panels do
  (``sync/pull`` as an agent, ``seats`` and ``metrics/summary?window=15m`` as a lead), ten
  requests a second; p50/p99 of those;
- lag: the simulator's own report (achieved speed, max lag behind its schedule) and whether
  every pushed ticket was applied (no backlog). The simulator's wall time runs from its first
  tick until the window's last event and push are answered (the final drain counts: a backlog
  at the end is one); its 200 sign-outs after that are reported apart, as the sign-ins before
  the window are not in it either;
- the simulator's own CPU over that wall time (it shares the 2 cores with the server).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks import common

CALLS_PER_DAY = 80_000
AGENTS = 200
SPEED = 100.0
TOKEN = "bench-telephony-token"
SIMULATE = (sys.executable, "-m", "hotline_server", "simulate")


def probe(url: str, agent: str, lead: str, stop: threading.Event, out: list[float]) -> None:
    import httpx

    paths = [
        ("/api/v1/sync/pull?cursor=0&limit=50", agent),
        ("/api/v1/seats", lead),
        ("/api/v1/metrics/summary?window=15m", lead),
    ]
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(100_000):
            if stop.is_set():
                return
            path, token = paths[i % len(paths)]
            t = time.perf_counter()
            r = client.get(path, headers={"Authorization": f"Bearer {token}"})
            if r.status_code == 200:
                out.append(time.perf_counter() - t)
            stop.wait(max(0.0, 0.1 - (time.perf_counter() - t)))


SIM_PASSWORD = "simulated-agent"


def seeded_database(dest: Path) -> str:
    """A migrated SQLite database with the probe, a lead and the 200 simulated agents. Their
    argon2 hashing takes minutes on a busy 2-core machine, so the file is made once and kept
    in benchmarks/.results/seed (git-ignored) and copied for each run."""
    import hashlib

    from hotline_server.live.core import ensure_agents

    versions = common.ROOT / "hotline_server" / "migrations" / "versions"
    digest = hashlib.sha256()
    for f in sorted(versions.glob("*.py")):
        digest.update(f.read_bytes())
    seed = common.RESULTS_DIR / "seed" / f"replay-users-{digest.hexdigest()[:10]}-{AGENTS}.db"
    if not seed.exists():
        seed.parent.mkdir(parents=True, exist_ok=True)
        partial = seed.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        url = f"sqlite:///{partial}"
        common.prepare_database(
            url, {"probe": ("agent", common.TEAM), "lead1": ("lead", common.TEAM)}
        )
        ensure_agents(url, [f"sim{i:03d}" for i in range(1, AGENTS + 1)], SIM_PASSWORD)
        with sqlite3.connect(partial) as conn:  # fold the WAL in before the file is renamed
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        partial.rename(seed)
        for extra in ("-wal", "-shm"):
            Path(str(partial) + extra).unlink(missing_ok=True)
    shutil.copyfile(seed, dest)
    return f"sqlite:///{dest}"


def all_ready(url: str, lead: str) -> bool:
    import httpx

    r = httpx.get(url + "/api/v1/seats", headers={"Authorization": f"Bearer {lead}"}, timeout=30)
    if r.status_code != 200:
        return False
    body = r.json()
    seats = body.get("seats", body) if isinstance(body, dict) else body
    ready = [x for x in seats if str(x.get("agent", "")).startswith("sim")]
    return len(ready) >= AGENTS and all(x.get("state") != "signed_out" for x in ready)


def run(quick: bool) -> dict[str, Any]:
    full_day = os.environ.get("HOTLINE_BENCH_FULL_DAY") == "1"
    minutes = 24 * 60 if full_day else 20 if quick else 60
    start_at = "2026-11-24T00:00+0800" if full_day else "2026-11-24T09:00+0800"
    with common.isolated_home("replay") as tmp:
        db = seeded_database(tmp / "server.db")
        env = {"HOTLINE_TELEPHONY_TOKEN": TOKEN, "HOTLINE_SIM_PASSWORD": SIM_PASSWORD}
        server = common.start_server(db, tmp, env=env)
        latencies: list[float] = []
        stop = threading.Event()
        try:
            agent, lead = common.login(server.url, "probe"), common.login(server.url, "lead1")
            pid = server.process.pid
            t_login = time.perf_counter()
            sim = subprocess.Popen(
                [
                    *SIMULATE,
                    *("--server", server.url, "--agents", str(AGENTS)),
                    *("--calls-per-hour", f"{CALLS_PER_DAY / 24:.1f}", "--speed", str(SPEED)),
                    *("--duration", f"{minutes}m", "--start-at", start_at),
                    *("--seed", "7"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **env},
            )
            # The window opens when every simulated agent signed in and set its seat ready
            # (200 argon2 verifications are the shift's start, not the peak being measured).
            peak_login_rss = common.rss_mb(pid)
            budget = common.Budget(300)
            while not budget.over and sim.poll() is None and not all_ready(server.url, lead):
                peak_login_rss = max(peak_login_rss, common.rss_mb(pid))
                time.sleep(0.2)
            login_seconds = time.perf_counter() - t_login
            thread = threading.Thread(
                target=probe, args=(server.url, agent, lead, stop, latencies), daemon=True
            )
            cpu0, t0 = common.cpu_seconds(pid), time.perf_counter()
            thread.start()
            try:
                stdout, _ = sim.communicate(timeout=2 * minutes * 60 / SPEED + 240)
            except subprocess.TimeoutExpired:
                sim.kill()
                stdout, _ = sim.communicate()
            wall = time.perf_counter() - t0
            cpu = common.cpu_seconds(pid) - cpu0
            stop.set()
            thread.join(10)
            rss = common.rss_mb(pid)
        finally:
            stop.set()
            server.stop()
    text = stdout
    speed = re.search(r"achieved speed ([\d.]+)x, max lag ([\d.]+) s", text)
    pushed = re.search(r"tickets pushed (\d+), applied (\d+), rejected (\d+)", text)
    offered = re.search(r"calls offered (\d+)", text)
    errors = re.search(r"requests (\d+), errors (\d+)", text)
    tail = re.search(
        r"final drain ([\d.]+) s .*sign-out ([\d.]+) s .*simulator CPU ([\d.]+) s", text
    )
    achieved = float(speed.group(1)) if speed else 0.0
    max_lag = float(speed.group(2)) if speed else float("inf")
    lat = common.summary(latencies)
    backlog = (
        pushed is None or int(pushed.group(1)) != int(pushed.group(2)) or achieved < SPEED * 0.95
    )
    details = {
        "simulated_minutes": minutes,
        "returncode": sim.returncode,
        "simulator": text.strip().splitlines()[-9:],
        "login_seconds": login_seconds,
        "server_rss_peak_during_logins_mb": peak_login_rss,
        "wall_seconds": wall,
        "server_cpu_percent": 100.0 * cpu / wall if wall else None,
        "server_rss_mb": rss,
        "api_latency": lat,
        "achieved_speed": achieved,
        "max_lag_seconds": max_lag,
        # The simulator's wall time ends when the window's last event and push are answered
        # (the final drain is in it; the 200 sign-outs after it are not, as the sign-ins
        # before it are not).
        "simulator_drain_seconds": float(tail.group(1)) if tail else None,
        "simulator_sign_out_seconds": float(tail.group(2)) if tail else None,
        "simulator_cpu_seconds": float(tail.group(3)) if tail else None,
        "calls_offered": int(offered.group(1)) if offered else None,
        "requests": int(errors.group(1)) if errors else None,
        "errors": int(errors.group(2)) if errors else None,
    }
    sim_cpu = details["simulator_cpu_seconds"]
    sim_wall = re.search(r"in ([\d.]+) s wall", text)
    window = "the full day" if full_day else f"{minutes} min from 09:00"
    rows = [
        common.row(
            f"peak-day replay (80,000 calls/day, 200 agents, 100x; {window})",
            {
                "server_cpu_percent": round(details["server_cpu_percent"] or 0, 1),
                "simulator_cpu_percent": (
                    round(100 * sim_cpu / float(sim_wall.group(1)), 1)
                    if sim_cpu and sim_wall
                    else None
                ),
                "api_p50": lat.get("p50"),
                "api_p99": lat.get("p99"),
                "achieved_speed": achieved,
                "max_lag_s": max_lag,
                "calls": details["calls_offered"],
            },
            None,
            figure="CPU, p99 API latency, lag",
            target="no backlog; p99 < 200 ms",
            met=(not backlog) and lat.get("n", 0) > 0 and lat["p99"] < 200,
            note=f"{'the whole day' if full_day else 'a fraction of the day at the same rate'}: "
            f"{minutes} simulated min = "
            f"{minutes * 60 / SPEED:.0f} s wall; probe: {lat.get('n', 0)} API reads;"
            f" simulator errors {details['errors']}",
        )
    ]
    return {"rows": rows, "details": details}


if __name__ == "__main__":
    common.main("bench_replay", run)
