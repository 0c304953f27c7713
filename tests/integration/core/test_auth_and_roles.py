"""Sign-in, token expiry and roles against a real server process (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from hotline_server.db.engine import make_engine
from tests.integration.core.conftest import PASSWORD, USERS, Api
from tests.support.server import start_server

LEAD_ONLY = [
    ("GET", "/api/v1/seats", None),
    ("GET", "/api/v1/metrics/summary", None),
    ("GET", "/api/v1/reports/daily", None),
    ("POST", "/api/v1/kb", {"title": "t", "body": "b", "category": "other"}),
]
ADMIN_ONLY = [
    ("PUT", "/api/v1/forms", {"forms": {}}),
    ("DELETE", "/api/v1/forms", None),
]
SIGNED_IN = [
    ("POST", "/api/v1/sync/push", {"client_id": "0" * 32, "mutations": []}),
    ("GET", "/api/v1/sync/pull", None),
    ("GET", "/api/v1/tickets", None),
    ("GET", "/api/v1/events", None),
]


def call(api: Api, token: str | None, method: str, path: str, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=api.url, headers=headers, timeout=30) as c:
        return c.request(method, path, json=body)


def fresh_token(api: Api, user: str) -> str:
    r = httpx.post(api.url + "/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_agents_get_403_on_lead_and_admin_endpoints(api: Api) -> None:
    agent, lead = api.token("amy"), api.token("lee")
    for method, path, body in LEAD_ONLY + ADMIN_ONLY:
        r = call(api, agent, method, path, body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"] == "forbidden" and "role" in r.json()["message"]
    for method, path, body in ADMIN_ONLY:
        assert call(api, lead, method, path, body).status_code == 403, path
    assert call(api, lead, "GET", "/api/v1/seats", None).status_code == 200


def test_missing_wrong_expired_and_revoked_tokens_get_401(api: Api, module_db: str) -> None:
    expired = fresh_token(api, "lee")
    engine = make_engine(module_db)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE tokens SET expires_at = :t WHERE token_hash = :h"),
                {"t": datetime.now(UTC) - timedelta(seconds=1),
                 "h": hashlib.sha256(expired.encode()).hexdigest()},
            )  # fmt: skip
    finally:
        engine.dispose()
    revoked = fresh_token(api, "ada")
    assert call(api, revoked, "POST", "/api/v1/auth/logout", None).status_code == 204
    for token in (None, "not-a-token", expired, revoked):
        for method, path, body in LEAD_ONLY + ADMIN_ONLY + SIGNED_IN:
            r = call(api, token, method, path, body)
            assert r.status_code == 401, (token, path, r.text)
            body_ = r.json()
            assert (
                body_["error"] == "unauthorized" and body_["fields"][0]["field"] == "Authorization"
            )


def test_telephony_needs_its_own_token(api: Api) -> None:
    events = {"events": []}
    assert (
        call(api, api.token("ada"), "POST", "/api/v1/telephony/events", events).status_code == 401
    )
    assert call(api, None, "POST", "/api/v1/telephony/events", events).status_code == 401


def test_login_answers_and_errors(api: Api) -> None:
    r = httpx.post(api.url + "/api/v1/auth/login", json={"username": "amy", "password": PASSWORD})
    body = r.json()
    assert body["user"] == {"username": "amy", "role": "agent", "team": None, "display_name": None}
    assert datetime.fromisoformat(body["expires_at"]) > datetime.now(UTC) + timedelta(hours=11)
    with api.client("amy") as c:
        assert c.get("/api/v1/auth/me").json()["username"] == "amy"
    wrong = httpx.post(api.url + "/api/v1/auth/login", json={"username": "amy", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["fields"][0]["field"] == "password"
    empty = httpx.post(api.url + "/api/v1/auth/login", json={"username": "amy"})
    assert empty.status_code == 422 and empty.json()["fields"][0]["field"] == "password"


def test_repeated_failed_logins_are_limited(database_url: str, tmp_path: Path) -> None:
    server = start_server(database_url, tmp_path, users={"amy": USERS["amy"]},
                          extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "3"})  # fmt: skip
    try:
        login = server.url + "/api/v1/auth/login"
        codes = [
            httpx.post(login, json={"username": "amy", "password": "wrong!"}).status_code
            for _ in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        r = httpx.post(login, json={"username": "amy", "password": PASSWORD})
        assert r.status_code == 429  # even the right password waits out the window
        assert "try again" in r.json()["message"] and int(r.headers["Retry-After"]) > 0
        assert [f["field"] for f in r.json()["fields"]] == ["username"]
    finally:
        server.stop()


def test_failed_logins_from_one_address_are_limited_across_users(
    database_url: str, tmp_path: Path
) -> None:
    """Guessing one password for many user names, each under its own limit: the address
    (the TCP peer, no trusted proxy: forwarded headers are ignored) is stopped after 4x the
    user limit."""
    users = {"amy": USERS["amy"], "bob": USERS["bob"]}
    server = start_server(database_url, tmp_path, users=users,
                          extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "3",
                                     "HOTLINE_TRUSTED_PROXIES": "none"})  # fmt: skip
    try:
        login = server.url + "/api/v1/auth/login"
        with httpx.Client(timeout=30) as c:
            assert c.post(login, json={"username": "bob", "password": PASSWORD}).status_code == 200
            codes = [
                c.post(login, json={"username": f"guess{i}", "password": "wrong!"},
                       headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
                for i in range(12)
            ]  # fmt: skip
            assert codes == [401] * 12  # no user name has reached its own limit of 3
            refused = c.post(login, json={"username": "amy", "password": PASSWORD})
            other = c.post(login, json={"username": "nobody", "password": "wrong!"})
        assert refused.status_code == 429 and other.status_code == 429
        assert refused.json()["fields"] == []  # not this user's fault: the address's
        assert int(refused.headers["Retry-After"]) > 0
    finally:
        server.stop()


def test_behind_the_proxy_on_this_host_one_typist_does_not_lock_out_the_site(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The README's set-up: nginx on the same host, every peer is 127.0.0.1 (trusted by
    default). Failed logins count by the client nginx forwarded for, so one address guessing
    is stopped while the other agents behind the same proxy still sign in; a client cannot
    pick its address by sending its own header (nginx appends the real one)."""
    users = {"amy": USERS["amy"], "bob": USERS["bob"]}
    server = start_server(sqlite_url, tmp_path, users=users,
                          extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "3"})  # fmt: skip
    try:
        login = server.url + "/api/v1/auth/login"
        with httpx.Client(timeout=30) as c:

            def attempt(user: str, password: str, forwarded: str) -> int:
                r = c.post(login, json={"username": user, "password": password},
                           headers={"X-Forwarded-For": forwarded})  # fmt: skip
                return r.status_code

            guesses = [attempt(f"guess{i}", "wrong!", f"10.9.9.{i}, 203.0.113.7")
                       for i in range(12)]  # fmt: skip
            assert guesses == [401] * 12
            assert attempt("amy", PASSWORD, "203.0.113.7") == 429  # that address: stopped
            assert attempt("amy", PASSWORD, "198.51.100.9") == 200  # amy at home: signs in
            assert attempt("bob", PASSWORD, "198.51.100.10") == 200
    finally:
        server.stop()


def test_a_bad_trusted_proxy_setting_is_one_line_naming_it(sqlite_url: str) -> None:
    import subprocess
    import sys

    env = {**os.environ, "HOTLINE_TRUSTED_PROXIES": "127.0.0.1, nginx-box"}
    done = subprocess.run(
        [sys.executable, "-m", "hotline_server", "serve", "--database", sqlite_url,
         "--port", "0"],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "HOTLINE_TRUSTED_PROXIES" in lines[0], done.stderr
    assert "nginx-box" in lines[0]
