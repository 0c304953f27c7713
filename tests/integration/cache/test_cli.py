"""``agent-tui status`` and ``agent-tui sync --once`` as a script would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring

from offline_cache import open_cache, save_token
from tests.integration.cache.conftest import Hotline, fields, now
from tests.support.keyring_backend import FileKeyring
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[3]


def agent_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from agent_tui.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_sync_once_exit_codes_and_status(hotline: Hotline) -> None:
    keyring.set_keyring(FileKeyring())  # the child processes read the same keyring file
    store = open_cache("cli")
    store.set_identity("alice", "east", "agent")
    tid = str(store.create_ticket(fields(1), call_started_at=now()).ticket_id)
    store.close()
    server = ["--server", hotline.url, "--profile", "cli"]

    r = agent_tui("--lang", "en", "sync", "--once", *server)
    assert r.returncode == 4, r.stderr  # not signed in: the outbox is kept
    assert "agent-tui login" in r.stderr

    dead = f"http://127.0.0.1:{free_port()}"
    save_token("cli", dead, hotline.token("alice"))
    r = agent_tui("sync", "--once", "--server", dead, "--profile", "cli", "--timeout", "2")
    assert r.returncode == 3, r.stderr
    assert "无法连接服务器" in r.stderr

    r = agent_tui("status", "--json", *server)
    assert r.returncode == 0, r.stderr
    state = json.loads(r.stdout)
    assert state["outbox"] == 1 and state["online"] is True and state["signed_in"] is False

    save_token("cli", hotline.url, hotline.token("alice"))
    r = agent_tui("sync", "--once", *server)
    assert r.returncode == 0, r.stderr

    store = open_cache("cli")
    store.change_status(tid, "evaluated")  # the server will refuse this move
    store.close()
    r = agent_tui("--lang", "en", "sync", "--once", *server)
    assert r.returncode == 5, r.stderr
    assert "need attention" in r.stderr

    r = agent_tui("status", *server)
    assert r.returncode == 0, r.stderr
    assert "需处理" in r.stdout and "待同步" in r.stdout
