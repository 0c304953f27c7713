"""Sessions end when they should: a password reset, ``hotline-server user disable`` and
``agent-tui logout --all`` revoke every token of the user (a real server, SQLite and
PostgreSQL; the commands run as processes, as an admin or an agent would run them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import keyring

from offline_cache import load_token
from tests.integration.core.conftest import PASSWORD, USERS
from tests.support.keyring_backend import FileKeyring
from tests.support.server import RunningServer, free_port, server_cli, start_server

NEW_PASSWORD = "violet lantern orchard"


def sign_in(server: RunningServer, user: str, password: str = PASSWORD) -> httpx.Response:
    return httpx.post(server.url + "/api/v1/auth/login", timeout=60,
                      json={"username": user, "password": password})  # fmt: skip


def token(server: RunningServer, user: str, password: str = PASSWORD) -> str:
    r = sign_in(server, user, password)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def me(server: RunningServer, token_: str) -> int:
    r = httpx.get(server.url + "/api/v1/auth/me", timeout=60,
                  headers={"Authorization": f"Bearer {token_}"})  # fmt: skip
    return r.status_code


def test_password_reset_and_disable_revoke_every_token(database_url: str, tmp_path: Path) -> None:
    users = {"amy": USERS["amy"], "bob": USERS["bob"]}
    server = start_server(database_url, tmp_path, users=users)
    db = ["--database", database_url]
    try:
        desks = [token(server, "amy"), token(server, "amy")]
        bob = token(server, "bob")
        out = server_cli("user", "passwd", "amy", *db, stdin=NEW_PASSWORD + "\n")
        assert "2 sign-in(s) revoked" in out
        assert [me(server, t) for t in desks] == [401, 401]
        assert sign_in(server, "amy").status_code == 401  # the old password is gone
        fresh = token(server, "amy", NEW_PASSWORD)
        assert me(server, fresh) == 200 and me(server, bob) == 200

        out = server_cli("user", "disable", "amy", *db)
        assert "disabled" in out and "1 sign-in(s) revoked" in out
        assert me(server, fresh) == 401
        refused = sign_in(server, "amy", NEW_PASSWORD)
        assert refused.status_code == 401  # alike a wrong password: nothing is revealed
        assert refused.json()["message"] == "wrong user name or password"
        assert me(server, bob) == 200

        server_cli("user", "enable", "amy", *db)
        assert me(server, fresh) == 401  # enabling does not bring the old sign-ins back
        again = token(server, "amy", NEW_PASSWORD)
        server_cli("user", "add", "amy", "--role", "agent", "--replace", *db,
                   stdin=PASSWORD + "\n")  # fmt: skip
        assert me(server, again) == 401  # --replace resets the password: same rule
        assert me(server, bob) == 200
    finally:
        server.stop()


def test_user_commands_name_an_unknown_user(sqlite_url: str) -> None:
    server_cli("migrate", "--database", sqlite_url)
    for args, stdin in ((["passwd", "nobody"], NEW_PASSWORD + "\n"), (["disable", "nobody"], None)):
        done = subprocess.run(
            [sys.executable, "-m", "hotline_server", "user", *args, "--database", sqlite_url],
            input=stdin, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2
        assert done.stderr.strip() == "hotline-server: username: there is no user 'nobody'"


def test_logout_all_revokes_the_other_desks_too(database_url: str, tmp_path: Path) -> None:
    users = {"amy": USERS["amy"], "bob": USERS["bob"]}
    server = start_server(database_url, tmp_path, users=users)
    try:
        other_desk = token(server, "amy")
        bob = token(server, "bob")
        r = httpx.post(server.url + "/api/v1/auth/logout-all", timeout=60,
                       headers={"Authorization": f"Bearer {token(server, 'amy')}"})  # fmt: skip
        assert r.status_code == 204
        assert me(server, other_desk) == 401 and me(server, bob) == 200
    finally:
        server.stop()


def agent_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from agent_tui.cli import main; main()", "--lang", "en", *args],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip


def test_agent_tui_logout_all(sqlite_url: str, tmp_path: Path) -> None:
    keyring.set_keyring(FileKeyring())  # the child processes read the same keyring file
    server = start_server(sqlite_url, tmp_path, users={"amy": USERS["amy"]})
    try:
        other_desk = token(server, "amy")
        here = ["--server", server.url]
        done = agent_tui(*here, "login", "--username", "amy", "--password", PASSWORD)
        assert done.returncode == 0, done.stderr

        dead = ["--server", f"http://127.0.0.1:{free_port()}"]
        done = agent_tui(*dead, "login", "--username", "amy", "--password", PASSWORD)
        assert done.returncode != 0  # no server there: nothing stored for it
        done = agent_tui(*dead, "logout", "--all")
        assert done.returncode == 1 and "agent-tui login" in done.stderr, done.stderr

        done = agent_tui(*here, "logout", "--all")
        assert done.returncode == 0, done.stderr
        assert "Signed out on every desk" in done.stdout
        assert me(server, other_desk) == 401
        assert load_token("default", server.url) is None

        done = agent_tui(*here, "logout", "--all")  # nothing left to sign out with
        assert done.returncode == 1 and "agent-tui login" in done.stderr, done.stderr
    finally:
        server.stop()


def test_agent_tui_logout_all_claims_nothing_when_the_server_is_gone(
    sqlite_url: str, tmp_path: Path
) -> None:
    keyring.set_keyring(FileKeyring())
    server = start_server(sqlite_url, tmp_path, users={"amy": USERS["amy"]})
    try:
        here = ["--server", server.url]
        assert (
            agent_tui(*here, "login", "--username", "amy", "--password", PASSWORD).returncode == 0
        )
        other_desk = token(server, "amy")
        server.stop()
        done = agent_tui(*here, "logout", "--all")
        assert done.returncode == 1
        assert "Could not sign out every desk (this desk is still signed in)" in done.stderr
        assert load_token("default", server.url) is not None  # kept: run it again later
        server.start()
        assert me(server, other_desk) == 200
        assert agent_tui(*here, "logout", "--all").returncode == 0
        assert me(server, other_desk) == 401
    finally:
        server.stop()
