"""A newcomer's first minute, as README.md tells it: the two commands, run as written.

The install-and-demo command is read from README.md and typed into a tmux pane, in a copy of
this checkout, so it makes its own fresh virtual environment and installs the wheel exactly
as a newcomer would. The demo must show the desk with a call offer; a ticket with Chinese
text is typed and saved; quitting must leave no process of the demo behind. The test
command is the one `.ci/run` runs (this test is itself run by it).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
INSTALL_AND_START_SECONDS = 420.0  # a wheel build and a full install on a cold 2-core machine
STEP_SECONDS = 60.0


def readme_commands() -> list[str]:
    """The shell commands of README.md's "Two commands" section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    install_and_demo, install_and_test = commands
    assert install_and_demo.endswith("agent-tui demo")
    assert "[test]" in install_and_test and "pytest" in install_and_test
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _copy_checkout(dest: Path) -> Path:
    """What a clone would have: the committed tree of HEAD, nothing else (no venv, no
    caches, no one's uncommitted edits)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest


class Pane:
    """One tmux session on its own socket, so the test never touches the user's tmux."""

    def __init__(self, socket: Path, name: str) -> None:
        self.socket = socket
        self.name = name

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            ["tmux", "-u", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(self, seen: Callable[[str], bool], what: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if seen(screen):
                return screen
            time.sleep(0.5)
        raise AssertionError(f"waited {seconds:.0f} s for {what}; the screen:\n{screen}")


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    pane = Pane(tmp_path / "tmux.sock", "newcomer")
    yield pane
    pane.tmux("kill-server")


def _demo_processes(checkout: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    return [
        line for line in out.stdout.splitlines() if str(checkout) in line and "tmux" not in line
    ]


def _offered(screen: str) -> str | None:
    """The caller's number of a call offer on screen (the toast, or the number in the form;
    not the empty field's hint "13812345678 / 021...")."""
    found = re.search(r"来电 (1\d{10})|联系电话 \* (1\d{10})(?! /)", screen)
    return (found.group(1) or found.group(2)) if found else None


def _recent_tickets_shown(screen: str) -> bool:
    """A ticket number (date-sequence) under the caller's recent-tickets heading."""
    _, found, below = screen.partition("该号码近期工单")
    return bool(found) and re.search(r"\d{8}-\d{6} ", below) is not None


def _demo_dirs(tmpdir: Path) -> list[Path]:
    return sorted(p for p in tmpdir.glob("agent-tui-demo-*") if p.is_dir())


def _server_has_ticket(db: Path, account: str) -> bool:
    """The embedded server's database (read-only) holds a ticket with this account."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT count(*) FROM tickets WHERE account = ?", (account,))
            return bool(row.fetchone()[0])
    except sqlite3.Error:
        return False


def test_the_readme_demo_command_on_a_fresh_checkout(tmp_path: Path, pane: Pane) -> None:
    checkout = _copy_checkout(tmp_path / "agent-tui")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    control = tmpdir / f"agent-tui-demo-{os.getuid()}.json"
    install_and_demo = readme_commands()[0]
    pane.tmux(
        "new-session", "-d", "-s", pane.name, "-x", "160", "-y", "48",
        "-e", "LANG=C.UTF-8", "-e", "LC_ALL=C.UTF-8", "-e", f"TMPDIR={tmpdir}",
        "-c", str(checkout),
        f"{install_and_demo}; echo DEMO-EXIT=$?; sleep 600",
    )  # fmt: skip

    # The desk, signed in and online, with a call ringing at the demo agent's seat.
    pane.wait_for(lambda s: "在线" in s and "受理" in s, "the desk", INSTALL_AND_START_SECONDS)
    # The offer: a toast for a few seconds and the incoming strip until the agent takes the
    # call (alt+p, as the README says); then the form with the caller's number in it and
    # that number's recent tickets beside it (the demo phone rings with seeded callers).
    pane.wait_for(lambda s: bool(_offered(s)), "a call offer", STEP_SECONDS)
    pane.wait_for(lambda s: "接听" in s, "the incoming strip", STEP_SECONDS)
    pane.keys("M-p")
    pane.wait_for(_recent_tickets_shown, "the caller's recent tickets", STEP_SECONDS)
    assert control.is_file()
    (workdir,) = _demo_dirs(tmpdir)

    # Submit at once: the form refuses and puts the cursor on the first field at fault (the
    # account of the request; the number came with the call). Type it in Chinese, save.
    pane.keys("C-s")
    pane.wait_for(lambda s: "需要修改" in s, "the form's refusal", STEP_SECONDS)
    account = "小区封控第五天，家中老人缺少降压药，请协助配药"
    pane.type(account)
    pane.keys("Tab", "Tab")  # past the topic, to the answer: 当场解答 needs one
    pane.type("已告知社区卫生服务中心配药电话")
    time.sleep(1.0)
    pane.keys("C-s")
    saved = pane.wait_for(lambda s: "已保存" in s, "the saved message", STEP_SECONDS)
    assert "当场解答" in saved

    # The ticket reaches the embedded server (the desk's outbox drains through the link).
    deadline = time.monotonic() + STEP_SECONDS
    while not _server_has_ticket(workdir / "hotline.db", account):
        assert time.monotonic() < deadline, "the typed ticket never reached the demo server"
        time.sleep(0.5)

    pane.keys("C-q")
    pane.wait_for(lambda s: "DEMO-EXIT=0" in s, "the demo to quit cleanly", STEP_SECONDS)
    deadline = time.monotonic() + 15
    while _demo_processes(checkout) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _demo_processes(checkout) == []
    # Nothing of the demo is left on disk: its directory and its control file are gone.
    assert not workdir.exists()
    assert _demo_dirs(tmpdir) == []
    assert not control.exists()
