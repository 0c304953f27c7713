"""End to end: the installed ``agent-tui`` in a real terminal (tmux), typing a ticket with
Chinese text like an agent would, then reading it back from the server; and a call offered
in the middle of typing one, both tickets reaching the server.

Nothing is driven from inside the app: keys go in through tmux (``send-keys -l`` for the
Chinese text, as an input method delivers it) and the screen is read with ``capture-pane``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.keyring_backend import subprocess_env
from tests.support.server import RunningServer, start_server

pytestmark = pytest.mark.e2e

AGENT = ("agent1", "pw-agent1-e2e")
NAME = "欧阳小红"
ADDRESS = "徐汇区漕溪北路100号"
ACCOUNT = "小区门口垃圾三天没清运，请尽快处理！"
PHONE = "13812340001"
TELEPHONY = "telephony-e2e-token"
CALLER = "13600007777"
CALL_ACCOUNT = "来电询问小区停水什么时候恢复"
ANSWER = "已告知办理进度"


_tokens: dict[str, str] = {}


def server_search(server: RunningServer, text: str) -> dict[str, Any]:
    """What the server's ticket list says for ``text``, as the agent who typed it."""
    token = _tokens.get(server.url)
    if token is None:
        token = _tokens[server.url] = httpx.post(
            server.url + "/api/v1/auth/login",
            json={"username": AGENT[0], "password": AGENT[1]},
            timeout=10,
        ).json()["access_token"]
    answer: dict[str, Any] = httpx.get(
        server.url + "/api/v1/tickets",
        params={"text": text},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    return answer


def agent_tui() -> str:
    """The console script of this installation (what a user runs)."""
    beside = Path(sys.executable).with_name("agent-tui")
    found = str(beside) if beside.exists() else shutil.which("agent-tui")
    if not found:
        pytest.fail("agent-tui is not installed in this environment")
    return found


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(
        f"sqlite:///{tmp_path / 'e2e.db'}", tmp_path, users={AGENT[0]: ("agent", AGENT[1])}
    )
    yield running
    running.stop()


@pytest.fixture
def phone_server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(
        f"sqlite:///{tmp_path / 'e2e-phone.db'}",
        tmp_path,
        users={AGENT[0]: ("agent", AGENT[1])},
        extra_env={"HOTLINE_TELEPHONY_TOKEN": TELEPHONY},
    )
    yield running
    running.stop()


def ring(server: RunningServer, call_id: str, number: str) -> None:
    """The phone system offers a call to the agent's seat."""
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": f"{call_id}-q", "type": "offered", "call_id": call_id, "at": now,
         "caller_number": number, "queue": "main"},
        {"event_id": f"{call_id}-s", "type": "offered_to_seat", "call_id": call_id, "at": now,
         "caller_number": number, "agent": AGENT[0]},
    ]  # fmt: skip
    answer = httpx.post(
        server.url + "/api/v1/telephony/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {TELEPHONY}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def desk_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        **subprocess_env(tmp_path / "keyring.json"),
        "AGENT_TUI_HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
    }


def log_in(server: RunningServer, env: dict[str, str]) -> None:
    login = subprocess.run(
        [agent_tui(), "--server", server.url, "login", "--username", AGENT[0]],
        input=AGENT[1] + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert login.returncode == 0, login.stderr


def server_total(server: RunningServer, text: str) -> int:
    """How many tickets the server finds for ``text``, asked until it finds one (bounded)."""
    found = server_search(server, text)
    for _ in range(120):
        if found["total"]:
            break
        time.sleep(0.5)
        found = server_search(server, text)
    return int(found["total"])


class Tmux:
    """One private tmux server (own socket) with one window running the desk."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-u", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=self.env,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "desk")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "desk", *keys)

    def text(self, text: str) -> None:
        self.run("send-keys", "-t", "desk", "-l", text)

    def wait_for(self, needle: str, seconds: float = 30.0) -> str:
        deadline = time.monotonic() + seconds
        screen = ""
        for _ in range(10_000):
            screen = self.screen()
            if needle in screen:
                return screen
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never appeared; the screen shows:\n{screen}")

    def wait_gone(self, needle: str, seconds: float = 30.0) -> str:
        deadline = time.monotonic() + seconds
        screen = ""
        for _ in range(10_000):
            screen = self.screen()
            if needle not in screen:
                return screen
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} never went away; the screen shows:\n{screen}")


def test_type_a_chinese_ticket_in_tmux_and_read_it_back_from_the_server(
    server: RunningServer, tmp_path: Path
) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required (.ci/run installs it)")
    home = tmp_path / "home"
    env = {
        **os.environ,
        **subprocess_env(tmp_path / "keyring.json"),
        "AGENT_TUI_HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
    }
    login = subprocess.run(
        [agent_tui(), "--server", server.url, "login", "--username", AGENT[0]],
        input=AGENT[1] + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert login.returncode == 0, login.stderr

    tmux = Tmux(f"desk-e2e-{os.getpid()}", env)
    command = " ".join(shlex.quote(p) for p in (agent_tui(), "--server", server.url))
    tmux.run("new-session", "-d", "-s", "desk", "-x", "120", "-y", "40", command)
    try:
        tmux.wait_for("在线")  # signed in silently with the token from `agent-tui login`
        tmux.wait_for("联系电话")
        # the first field (类型) has the focus; tab walks the form in order
        tmux.keys("Tab")
        tmux.text(NAME)
        tmux.keys("Tab")
        tmux.text(PHONE)
        tmux.keys("Tab", "Tab")  # past the ID-card number
        tmux.text(ADDRESS)
        for _ in range(4):  # district, community, urgent, then the account
            tmux.keys("Tab")
        tmux.text(ACCOUNT)
        tmux.wait_for("请尽快处理")
        tmux.keys("Tab", "Tab")  # past the topic, to the answer (当场解答 needs one)
        tmux.text(ANSWER)
        tmux.wait_for(ANSWER)
        tmux.keys("C-s")  # intake.on_spot
        tmux.wait_for("已保存")
        # The status bar may still show the outbox as it was before the save, so ask the
        # server itself, while the desk runs, until its replicator has pushed the ticket.
        found = server_search(server, PHONE)
        for _ in range(120):
            if found["total"]:
                break
            time.sleep(0.5)
            found = server_search(server, PHONE)
        tmux.wait_for("待上传 0")
        tmux.keys("C-q")
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True, timeout=20)

    items = found.get("items") or found.get("tickets") or []
    assert len(items) == 1, found
    ticket = items[0]
    assert ticket["caller_name"] == NAME
    assert ticket["address"] == ADDRESS
    assert ticket["account"] == ACCOUNT
    assert ticket["status"] == "closed"


def test_a_call_offered_mid_typing_waits_and_both_tickets_reach_the_server(
    phone_server: RunningServer, tmp_path: Path
) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required (.ci/run installs it)")
    server = phone_server
    env = desk_env(tmp_path)
    log_in(server, env)
    tmux = Tmux(f"desk-e2e-call-{os.getpid()}", env)
    command = " ".join(shlex.quote(p) for p in (agent_tui(), "--server", server.url))
    tmux.run("new-session", "-d", "-s", "desk", "-x", "120", "-y", "40", command)
    try:
        tmux.wait_for("在线")
        tmux.wait_for("联系电话")
        tmux.keys("C-t")  # app.seat: calls are offered to ready seats only
        tmux.wait_for("就绪")
        tmux.keys("1")  # the first choice: ready
        tmux.wait_for("坐席：就绪")
        tmux.wait_for("待上传 0")
        time.sleep(1.0)  # the event stream subscribes after the sync that sent the seat
        # a ticket typed at machine speed (send-keys -l delivers the text in one burst)
        tmux.keys("Tab")
        tmux.text(NAME)
        tmux.keys("Tab")
        tmux.text(PHONE)
        tmux.keys("Tab", "Tab")
        tmux.text(ADDRESS)
        for _ in range(4):
            tmux.keys("Tab")
        tmux.text(ACCOUNT[:8])
        ring(server, "e2e-call", CALLER)
        tmux.wait_for("接听")  # the incoming strip: the form is still there, focus too
        tmux.text(ACCOUNT[8:])
        screen = tmux.wait_for("请尽快处理")
        assert NAME in screen

        tmux.keys("M-p")  # app.accept_call
        tmux.wait_for("草稿")  # the typed form kept as a draft, one key away
        tmux.wait_gone(NAME)  # the call's own form is up (the typed one is in the draft)
        tmux.wait_for(CALLER)
        for _ in range(8):  # from 类型 to the account, in the call's form
            tmux.keys("Tab")
        tmux.text(CALL_ACCOUNT)
        tmux.wait_for("恢复")
        tmux.keys("Tab", "Tab")  # past the topic, to the answer
        tmux.text(ANSWER)
        tmux.wait_for(ANSWER)
        tmux.keys("C-s")  # intake.on_spot: the call's ticket
        assert server_total(server, CALLER) == 1

        tmux.keys("M-d")  # intake.drafts
        tmux.wait_for("选择后继续填写")
        tmux.keys("1")
        tmux.wait_gone("选择后继续填写")
        tmux.wait_for(ADDRESS)  # the typed form is back (the list named only phone and name)
        for _ in range(10):  # from 类型 to the answer
            tmux.keys("Tab")
        tmux.text(ANSWER)
        tmux.wait_for(ANSWER)
        tmux.keys("C-s")  # the ticket typed before the call
        assert server_total(server, PHONE) == 1
        tmux.wait_for("待上传 0")
        tmux.keys("C-q")
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True, timeout=20)

    typed, call = (server_search(server, n)["tickets"][0] for n in (PHONE, CALLER))
    assert (typed["caller_name"], typed["address"], typed["account"]) == (NAME, ADDRESS, ACCOUNT)
    assert (call["phone"], call["account"]) == (CALLER, CALL_ACCOUNT)
