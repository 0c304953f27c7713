"""`agent-tui demo --cut-link --seconds N` from a second terminal, against a demo world
running in another process: the desk's line (the link relay) goes down, the server itself
stays up, and the line comes back after the given seconds."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from agent_tui.demo.link import cut_until

WORLD = """
import json, sys
from agent_tui.demo.world import DemoWorld, control_path
with DemoWorld(tickets=5, simulate=False) as w:
    print(json.dumps({"desk": w.desk_url, "server": w.server.url,
                      "control": str(control_path()), "link": str(w.relay.control_file)}),
          flush=True)
    sys.stdin.readline()
"""
START_SECONDS = 180.0
CUT_SECONDS = 3


def _agent_tui(*args: str) -> subprocess.CompletedProcess[str]:
    code = "import sys; from agent_tui.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def _line_up(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _wait(check: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    for _ in range(1000):
        if check():
            return
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_cut_link_from_a_second_terminal_drops_the_line_and_it_heals() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-c", WORLD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert demo.stdout is not None and demo.stdin is not None
    out, lines = demo.stdout, queue.Queue[str]()
    threading.Thread(target=lambda: lines.put(out.readline()), daemon=True).start()
    try:
        where = json.loads(lines.get(timeout=START_SECONDS))
        assert Path(where["control"]).is_file()
        assert _line_up(where["desk"])

        done = _agent_tui("--lang", "en", "demo", "--cut-link", "--seconds", str(CUT_SECONDS))
        assert done.returncode == 0, done.stderr
        assert f"Demo link cut for {CUT_SECONDS} s" in done.stdout
        assert cut_until(Path(where["link"])) > 0

        _wait(lambda: not _line_up(where["desk"]), "the desk's line to go down")
        assert _line_up(where["server"])  # only the desk's line is down
        _wait(lambda: _line_up(where["desk"]), "the desk's line to come back")
    finally:
        demo.stdin.close()
        demo.wait(timeout=60)
    assert demo.returncode == 0
    assert not Path(where["control"]).exists()
    # The demo is gone: a second --cut-link says so instead of reporting a cut.
    again = _agent_tui("--lang", "en", "demo", "--cut-link")
    assert again.returncode == 1
    assert "no demo is running" in again.stderr
