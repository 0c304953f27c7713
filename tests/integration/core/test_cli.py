"""`hotline-server migrate / user add / serve` as a person runs them: clear one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from hotline_server.db.engine import make_engine
from hotline_server.db.migrate import head_revision
from tests.support.server import free_port, server_cli


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline_server", *args], input=stdin,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ})  # fmt: skip


def one_clear_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_migrate_empty_then_migrated_database(database_url: str) -> None:
    refused = run("serve", "--database", database_url, "--port", str(free_port()))
    one_clear_line(refused, "not migrated", "hotline-server migrate")
    head = head_revision()  # the newest shipped migration, whichever that is
    assert head in server_cli("migrate", "--database", database_url)
    assert head in server_cli("migrate", "--database", database_url)  # again: no-op
    engine = make_engine(database_url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        with engine.connect() as conn:
            counters = conn.execute(sa.text("SELECT count(*) FROM seq_counter")).scalar_one()
            epochs = conn.execute(sa.text("SELECT count(*) FROM server_meta")).scalar_one()
    finally:
        engine.dispose()
    assert {"tickets", "change_log", "sync_clients", "live_calls", "kb_articles"} <= names
    assert (counters, epochs) == (1, 1)
    ok = run("user", "add", "amy", "--role", "agent", "--database", database_url,
             stdin="correct horse battery\n")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    twice = run("user", "add", "amy", "--role", "agent", "--database", database_url,
                stdin="correct horse battery\n")  # fmt: skip
    one_clear_line(twice, "username", "already exists")
    short = run("user", "add", "bob", "--role", "agent", "--database", database_url, stdin="x\n")
    one_clear_line(short, "password")
    assert "new epoch" in server_cli("new-epoch", "--database", database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            epoch = conn.execute(sa.text("SELECT value FROM server_meta WHERE key = 'epoch'"))
            assert len(epoch.scalar_one()) == 16
    finally:
        engine.dispose()


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    one_clear_line(run("migrate", "--database", "mysql://root@localhost/x"), "unsupported")
    one_clear_line(
        run("migrate", "--database", "postgresql://nobody@127.0.0.1:1/none"), "cannot migrate"
    )
    env_bad = subprocess.run(
        [sys.executable, "-m", "hotline_server", "serve", "--database", "sqlite:///:memory:"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOTLINE_TOKEN_TTL_SECONDS": "soon"},
    )  # fmt: skip
    one_clear_line(env_bad, "HOTLINE_TOKEN_TTL_SECONDS")
    bad_role = run("user", "add", "x", "--role", "boss", "--database", "sqlite:///:memory:")
    one_clear_line(bad_role, "'boss'", "--role", "agent", "hotline-server user add --help")
    one_clear_line(run("serve", "--port", "eighty"), "--port", "eighty")
    one_clear_line(run("frobnicate"), "frobnicate")
    database = f"sqlite:///{tmp_path / 'server.db'}"
    server_cli("migrate", "--database", database)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = run("serve", "--database", database, "--host", "127.0.0.1", "--port", port)
    one_clear_line(busy, f"127.0.0.1:{port}", "already in use")
