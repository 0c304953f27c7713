"""What every benchmark shares: statistics, machine facts, an isolated home, a real server,
seeded caches, and reading a process's CPU time and RSS from /proc.

Benchmarks are not tests: they never pass or fail, they measure our figure and a baseline in
the same process run and record both (the ratio is what RESULTS.md compares with the target).
Everything runs on loopback; every loop is bounded in count and in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / ".results"
PASSWORD = "bench-password-1"
TEAM = "east"

# ---------------------------------------------------------------- statistics


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks; NaN for no values."""
    if not values:
        return float("nan")
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def summary(seconds: Sequence[float]) -> dict[str, float]:
    """Milliseconds: n, median (= p50), p99, min, max, mean."""
    ms = [s * 1000.0 for s in seconds]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "median": statistics.median(ms),
        "p50": pct(ms, 50),
        "p99": pct(ms, 99),
        "min": min(ms),
        "max": max(ms),
        "mean": statistics.fmean(ms),
    }


def ratio(ours: float, baseline: float) -> float:
    return ours / baseline if baseline else float("inf")


def row(
    what: str,
    ours: dict[str, Any],
    baseline: dict[str, Any] | None,
    *,
    figure: str,
    target: str,
    ratio_value: float | None = None,
    met: bool | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One line of the results table. ``figure`` names the statistic compared (e.g. p99)."""
    return {
        "what": what,
        "figure": figure,
        "ours": ours,
        "baseline": baseline,
        "ratio": ratio_value,
        "target": target,
        "met": met,
        "note": note,
    }


# ---------------------------------------------------------------- frames


class FirstFrame:
    """Time from an action to the first frame the app composes once ``check()`` holds
    (``App._display`` wrapped on the app: what a terminal would be sent next). Not
    ``Pilot.pause``: it waits for the whole process to idle and posts a message to every
    widget of the screen, a harness cost a terminal never pays."""

    def __init__(self, app: Any) -> None:
        self._check: Callable[[], bool] | None = None
        self._shown = asyncio.Event()
        self._at = 0.0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is not None and self._check is not None and self._check():
                self._at = time.perf_counter()
                self._check = None
                self._shown.set()

        app._display = display

    async def after(
        self, act: Callable[[], object], check: Callable[[], bool], timeout: float = 10.0
    ) -> float:
        """Seconds from ``act()`` to that frame; NaN when none came within ``timeout``."""
        self._shown.clear()
        self._check = check
        started = time.perf_counter()
        act()
        try:
            await asyncio.wait_for(self._shown.wait(), timeout)
        except TimeoutError:
            self._check = None
            return float("nan")
        return self._at - started


# ---------------------------------------------------------------- machine


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    import subprocess

    import textual

    commit = os.environ.get("BENCH_COMMIT", "")
    if not commit:
        try:
            commit = subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = ""
    return {
        "commit": commit or "unknown",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "textual": textual.__version__,
        "load_average": os.getloadavg(),
    }


# ---------------------------------------------------------------- /proc readings


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (and its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / ticks


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MiB (VmRSS) of ``pid`` (default: this process)."""
    text = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def raise_fd_limit(wanted: int = 16384) -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(max(soft, wanted), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return new


# ---------------------------------------------------------------- isolation


@contextmanager
def isolated_home(prefix: str) -> Iterator[Path]:
    """A throw-away home: XDG dirs, AGENT_TUI_HOME and an in-memory keyring (the test
    suite's own backend), so a benchmark never touches the developer's config or keychain."""
    import keyring

    from tests.support.keyring_backend import MemoryKeyring

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    home = tmp / "home"
    for sub in ("config", "data", "log", "cache"):
        (home / sub).mkdir(parents=True)
    saved = {k: os.environ.get(k) for k in _HOME_VARS}
    os.environ.update(
        {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "log"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "AGENT_TUI_HOME": str(home),
        }
    )
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        yield tmp
    finally:
        keyring.set_keyring(previous)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


_HOME_VARS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
_HOME_VARS = (*_HOME_VARS, "AGENT_TUI_HOME")

BENCH_KEY = bytes(range(32))


class FixedKey:
    """A constant cache key, so a seeded cache file can be copied and reopened. Benchmarks
    only: the product keeps a random key per installation in keyring."""

    def get_key(self, profile: str, *, create: bool = True) -> bytes | None:
        return BENCH_KEY

    def delete_key(self, profile: str) -> None:
        return None


# ---------------------------------------------------------------- tickets


def ticket_fields(i: int) -> dict[str, Any]:
    """A valid ticket's fields (what an agent types), varied by ``i``."""
    return {
        "caller_name": f"市民{i}",
        "phone": f"138{i % 100_000_000:08d}",
        "address": f"上海市黄浦区人民路{i % 5000}号{i % 30}室",
        "district": "黄浦区",
        "kind": ("help", "complaint", "consultation", "suggestion")[i % 4],
        "category": ("water", "housing", "transport", "environment")[i % 4],
        "account": f"第{i}号诉求：小区停水两天，物业无人处理，请求尽快恢复供水。",
    }


STATUSES = ("accepted", "dispatched", "handling", "replied", "closed")


def server_ticket(i: int, t0: datetime, user: str = "agent1") -> dict[str, Any]:
    """A ticket as the server sends it on pull (numbered, revisioned)."""
    started = t0 - timedelta(seconds=20 * i)  # 100k tickets span 23 days: inside retention
    data = {
        **ticket_fields(i),
        "id": f"00000000-0000-7000-8000-{i:012d}",
        "number": f"{started:%Y%m%d}-{i:06d}",
        "revision": 1,
        "status": STATUSES[i % len(STATUSES)],
        "urgency": "red" if i % 50 == 0 else "normal",
        "call_started_at": started.isoformat(),
        "created_at": started.isoformat(),
        "created_by": user if i % 3 == 0 else "agent2",
        "assignee": user if i % 3 == 0 else "agent2",
        "team": TEAM,
    }
    if i % 7 == 0:
        data["deadline_at"] = (started + timedelta(days=3)).isoformat()
    return data


def seed_cache(path: Path, n: int, *, user: str = "agent1", page: int = 5000) -> float:
    """Fill a cache file at ``path`` with ``n`` server tickets through the store's own pull
    path (``apply_pull``), as a desk that synced them would have. Returns seconds taken."""
    from hotline.protocol import Change, Entity, PullResponse
    from offline_cache import open_cache

    t0 = datetime.now(UTC)
    started = time.perf_counter()
    store = open_cache("bench", key_provider=FixedKey(), path=path)
    try:
        store.set_identity(user, TEAM, "agent")
        seq = 0
        for start in range(0, n, page):
            changes = []
            for i in range(start, min(n, start + page)):
                seq += 1
                changes.append(
                    Change(
                        seq=seq,
                        entity=Entity.TICKET,
                        entity_id=f"00000000-0000-7000-8000-{i:012d}",
                        data=server_ticket(i, t0, user),
                        server_time=t0,
                    )
                )
            store.apply_pull(
                PullResponse(
                    changes=changes,
                    cursor=seq,
                    has_more=start + page < n,
                    last_mutation_id=0,
                    epoch="bench",
                )
            )
    finally:
        store.close()
    return time.perf_counter() - started


SEED_VERSION = 2  # bump when seed_cache or server_ticket change


def seeded_copy(n: int, dest: Path) -> Path:
    """A copy of a cache seeded with ``n`` tickets. The seed is made once and kept in
    benchmarks/.results/seed (git-ignored), keyed by a hash of the cache's migrations (they
    may change in place before a release) and SEED_VERSION."""
    import hashlib

    from offline_cache.schema import MIGRATIONS

    schema = hashlib.sha256(repr(MIGRATIONS).encode()).hexdigest()[:10]
    cache_dir = RESULTS_DIR / "seed"
    cache_dir.mkdir(parents=True, exist_ok=True)
    src = cache_dir / f"seed-v{SEED_VERSION}-{schema}-{n}.db"
    if not src.exists():
        partial = src.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        seed_cache(partial, n)
        partial.rename(src)
        for extra in ("-wal", "-shm"):
            Path(str(partial) + extra).unlink(missing_ok=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def adopt_epoch(store: Any, url: str, token: str) -> None:
    """Make a seeded cache look synced with the server at ``url``: its epoch, cursor 0. Else
    the first pull sees another epoch and refetches everything (a restored server), which is
    not what a desk that synced its 100k tickets from this server would do."""
    import httpx

    from offline_cache.store import _set_meta

    r = httpx.get(
        url + "/api/v1/sync/pull",
        params={"cursor": 0, "limit": 1, "client_id": store.client_id},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    r.raise_for_status()
    with store._write() as conn:
        _set_meta(conn, "epoch", r.json()["epoch"])
        _set_meta(conn, "cursor", "0")


# ---------------------------------------------------------------- the real server


def prepare_database(database_url: str, users: dict[str, tuple[str, str | None]]) -> None:
    """Migrate and add ``users`` {name: (role, team)} through the server's Python API."""
    from hotline_server.db.migrate import upgrade
    from hotline_server.users import add_user

    upgrade(database_url)
    for name, (role, team) in users.items():
        add_user(database_url, name, PASSWORD, role, team=team)


def start_server(
    database_url: str,
    workdir: Path,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
) -> Any:
    """The real ``hotline-server serve`` process (tests/support/server.py) on loopback."""
    from tests.support.server import RunningServer

    server = RunningServer(
        database_url=database_url,
        log_path=workdir / "server.log",
        extra_env=env or {},
        extra_args=args or [],
    )
    return server.start()


def login(url: str, user: str, password: str = PASSWORD) -> str:
    import httpx

    r = httpx.post(
        url + "/api/v1/auth/login", json={"username": user, "password": password}, timeout=60
    )
    r.raise_for_status()
    return str(r.json()["access_token"])


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A scratch PostgreSQL database (dropped after), or None when none is reachable."""
    admin = os.environ.get("HOTLINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        with psycopg.connect(admin, autocommit=True, connect_timeout=3):
            pass
    except Exception:
        yield None
        return
    from tests.support import databases

    os.environ.setdefault("HOTLINE_TEST_POSTGRES", admin)
    with databases.fresh_postgres_database() as url:
        yield url


# ---------------------------------------------------------------- timing helpers


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Budget:
    """A wall-clock budget: ``left()`` seconds remain; ``over`` once spent."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def over(self) -> bool:
        return self.left() <= 0


# ---------------------------------------------------------------- entry point of one bench


def main(name: str, run: Callable[[bool], dict[str, Any]]) -> None:
    """``python -m benchmarks.bench_x [--quick] [--out FILE]``: run, print and write JSON."""
    parser = argparse.ArgumentParser(prog=f"benchmarks.{name}")
    parser.add_argument("--quick", action="store_true", help="a short pass for shape")
    parser.add_argument("--out", type=Path, default=None)
    ns = parser.parse_args()
    started = time.perf_counter()
    result = run(ns.quick)
    result.setdefault("name", name)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["quick"] = ns.quick
    text = json.dumps(result, ensure_ascii=False, indent=1, default=str)
    if ns.out:
        ns.out.parent.mkdir(parents=True, exist_ok=True)
        ns.out.write_text(text, "utf-8")
    else:
        sys.stdout.write(text + "\n")
