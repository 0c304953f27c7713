"""Shared by the push tests that go through the app in-process (``TestClient``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hotline_server.app import create_app
from hotline_server.db.migrate import upgrade
from hotline_server.settings import Settings
from hotline_server.users import add_user

PASSWORD = "correct horse battery"


@pytest.fixture
def amy_app(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The server's app on a new SQLite database, with agent ``amy`` (team north) signed in:
    the client and her token."""
    url = f"sqlite:///{tmp_path / 'server.db'}"
    upgrade(url)
    add_user(url, "amy", PASSWORD, "agent", team="north")
    with TestClient(create_app(Settings.from_env(url), live=False)) as client:
        token = client.post(
            "/api/v1/auth/login", json={"username": "amy", "password": PASSWORD}
        ).json()["access_token"]
        yield client, token
