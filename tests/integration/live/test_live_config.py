"""A bad HOTLINE_LIVE_* value stops `hotline-server serve` with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.server import free_port, server_cli


def test_serve_refuses_a_bad_live_setting(sqlite_url: str) -> None:
    server_cli("migrate", "--database", sqlite_url)
    result = subprocess.run(
        [sys.executable, "-m", "hotline_server", "serve", "--database", sqlite_url,
         "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOTLINE_LIVE_QUEUE_SIZE": "lots"},
    )  # fmt: skip
    assert result.returncode != 0
    message = result.stderr.strip()
    assert "HOTLINE_LIVE_QUEUE_SIZE" in message and "'lots'" in message
    assert len(message.splitlines()) == 1, message  # one line, no traceback
