"""The demo's link relay carries bytes both ways and, when cut, behaves like a dead line."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_tui.demo.link import LinkRelay, cut_link, cut_until


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _roundtrip(port: int, payload: bytes) -> bytes:
    """What comes back through the relay; a refused or reset line brings back nothing."""
    try:
        return _exchange(port, payload)
    except ConnectionError:
        return b""


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(10) == b""
    except ConnectionError:
        return True


def _exchange(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(4096)
            if not chunk:
                break
            got += chunk
        return got


def test_relay_carries_bytes_and_a_cut_drops_the_line_until_it_heals(
    echo_port: int, tmp_path: Path
) -> None:
    control = tmp_path / "cut"
    relay = LinkRelay(echo_port, control)
    port = relay.start()
    try:
        assert _roundtrip(port, "工单 12345".encode()) == "工单 12345".encode()

        held = socket.create_connection(("127.0.0.1", port), timeout=3)
        cut_link(control, 1.0)
        assert cut_until(control) > time.time()
        # The open connection is closed by the relay, and new ones get nothing through.
        held.settimeout(3)
        assert _closed_by_peer(held)
        held.close()
        assert _roundtrip(port, b"ping") == b""

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and cut_until(control) > time.time():
            time.sleep(0.1)
        assert _roundtrip(port, b"back") == b"back"
    finally:
        relay.stop()


def test_a_broken_control_file_means_the_link_is_up(tmp_path: Path) -> None:
    control = tmp_path / "cut"
    control.write_text("not a time")
    assert cut_until(control) == 0.0
    assert cut_until(tmp_path / "missing") == 0.0
