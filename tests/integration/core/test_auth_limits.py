"""Sign-in limits under parallel guessing, against a real server process (SQLite, PostgreSQL).

What an attacker with many connections sees: of N parallel wrong passwords only the limit are
checked (401), the rest are refused unchecked (429 with Retry-After), and the right password
from that address waits too. Rotating X-Forwarded-For through a trusted proxy meets the
slower per-user limit; the user still signs in from an address they used before.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.integration.core.conftest import PASSWORD, USERS
from tests.support.server import RunningServer, start_server


def post_login(server: RunningServer, user: str, password: str,
               forwarded: str | None = None) -> httpx.Response:  # fmt: skip
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return httpx.post(server.url + "/api/v1/auth/login", headers=headers, timeout=120,
                      json={"username": user, "password": password})  # fmt: skip


Guess = tuple[str, str, str | None]  # user, password, X-Forwarded-For


def in_parallel(server: RunningServer, guesses: list[Guess]) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=len(guesses)) as pool:
        return list(pool.map(lambda g: post_login(server, *g), guesses))


def test_forty_parallel_wrong_passwords_check_at_most_the_limit(
    database_url: str, tmp_path: Path
) -> None:
    server = start_server(database_url, tmp_path, users={"amy": USERS["amy"]},
                          extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "5"})  # fmt: skip
    try:
        answers = in_parallel(server, [("amy", f"guess-{i}", None) for i in range(40)])
        codes = Counter(r.status_code for r in answers)
        assert codes == {401: 5, 429: 35}, codes
        refused = [r for r in answers if r.status_code == 429]
        assert all(int(r.headers["Retry-After"]) > 0 for r in refused)
        assert all("try again in" in r.json()["message"] for r in refused)
        right = post_login(server, "amy", PASSWORD)
        assert right.status_code == 429, right.text  # locked here, even with the password
        # A name that does not exist is answered alike: the limits do not tell who exists.
        ghost = in_parallel(server, [("ghost", f"guess-{i}", None) for i in range(12)])
        assert Counter(r.status_code for r in ghost) == {401: 5, 429: 7}
        assert {r.json()["message"] for r in ghost if r.status_code == 401} == {
            "wrong user name or password"
        }
    finally:
        server.stop()


def test_rotating_forwarded_addresses_meet_the_per_user_limit_but_not_a_known_desk(
    database_url: str, tmp_path: Path
) -> None:
    """Loopback is a trusted proxy by default, so each guess may claim its own client address
    (as 60 machines behind the site's nginx would)."""
    server = start_server(database_url, tmp_path, users={"amy": USERS["amy"]},
                          extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "5",
                                     "HOTLINE_LOGIN_USER_MAX_FAILURES": "10"})  # fmt: skip
    desk = "198.51.100.7"
    try:
        assert post_login(server, "amy", PASSWORD, desk).status_code == 200  # her usual desk
        answers = in_parallel(server, [("amy", f"guess-{i}", f"203.0.113.{i}") for i in range(60)])
        codes = Counter(r.status_code for r in answers)
        assert codes == {401: 10, 429: 50}, codes
        new_place = post_login(server, "amy", PASSWORD, "192.0.2.50")
        assert new_place.status_code == 429, new_place.text
        assert [f["field"] for f in new_place.json()["fields"]] == ["username"]
        assert int(new_place.headers["Retry-After"]) > 0
        at_desk = post_login(server, "amy", PASSWORD, desk)
        assert at_desk.status_code == 200, at_desk.text  # others' guesses do not lock her out
        # ... but her desk's address is still held to its own limit
        typos = [post_login(server, "amy", "wrong!", desk).status_code for _ in range(6)]
        assert typos == [401] * 5 + [429]
        assert post_login(server, "amy", PASSWORD, desk).status_code == 429
    finally:
        server.stop()


def test_two_servers_on_one_database_count_together(database_url: str, tmp_path: Path) -> None:
    """A city runs several `serve` instances on one database: guesses spread over both are
    counted against one limit."""
    first = start_server(database_url, tmp_path, users={"amy": USERS["amy"]},
                         extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "5"})  # fmt: skip
    second = start_server(database_url, tmp_path, extra_env={"HOTLINE_LOGIN_MAX_FAILURES": "5"})
    try:
        servers = [first, second]
        with ThreadPoolExecutor(max_workers=40) as pool:
            answers = list(pool.map(lambda i: post_login(servers[i % 2], "amy", f"guess-{i}"),
                                    range(40)))  # fmt: skip
        assert Counter(r.status_code for r in answers) == {401: 5, 429: 35}
        assert post_login(second, "amy", PASSWORD).status_code == 429
        assert post_login(first, "amy", PASSWORD).status_code == 429
    finally:
        first.stop()
        second.stop()
