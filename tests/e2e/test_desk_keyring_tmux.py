"""End to end: the installed ``agent-tui`` with the real keyrings.cryptfile in a real terminal
(tmux). The keyring's password is asked by the desk on its own screen (not by a prompt hidden
behind it), a mistyped one is said and asked again, and Ctrl+Q leaves a normal terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_desk_tmux import Tmux, agent_tui, server  # noqa: F401  (fixture)
from tests.support.server import RunningServer

pytestmark = pytest.mark.e2e
cryptfile = pytest.importorskip("keyrings.cryptfile.cryptfile")
PASSWORD = "keyring-pw-e2e"


def test_cryptfile_password_asked_on_the_desk_screen_and_ctrl_q_quits(
    server: RunningServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required (.ci/run installs it)")
    existing = cryptfile.CryptFileKeyring()  # under this test's XDG_DATA_HOME
    existing.keyring_key = PASSWORD  # the keyring made on an earlier day
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.cryptfile.cryptfile.CryptFileKeyring",
        "AGENT_TUI_HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
    }
    tmux = Tmux(f"desk-keyring-{os.getpid()}", env)
    desk = " ".join(shlex.quote(p) for p in (agent_tui(), "--server", server.url))
    command = f"sh -c {shlex.quote(desk + '; echo DESK-EXITED-$?; sleep 60')}"
    tmux.run("new-session", "-d", "-s", "desk", "-x", "120", "-y", "40", command)
    try:
        tmux.wait_for("解锁钥匙串")
        tmux.text("mistyped")
        tmux.keys("Enter")
        tmux.wait_for("钥匙串密码不正确")
        tmux.text(PASSWORD)
        tmux.keys("Enter")
        tmux.wait_for("登录 " + server.url)  # the cache opened: now the sign-in dialog
        tmux.keys("C-q")
        screen = tmux.wait_for("DESK-EXITED-0")
        assert "Traceback" not in screen
        assert tmux.run("display-message", "-p", "-t", "desk", "#{alternate_on}").strip() == "0"
    finally:
        subprocess.run(["tmux", "-L", tmux.socket, "kill-server"], capture_output=True, timeout=20)
