"""The demo world: a real server with demo data, a ringing phone, a link that can be cut,
and nothing left running once it is closed."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from agent_tui.demo.world import AGENT, LEAD, DemoWorld
from tests.integration.live.conftest import read_events


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_world_serves_data_rings_the_agent_and_leaves_nothing_behind() -> None:
    with DemoWorld(tickets=40, simulate=True) as world:
        pids = world.children.pids()
        assert len(pids) == 2  # the server and the simulator
        agent = world.accounts[AGENT]
        with httpx.Client(base_url=world.desk_url, timeout=10) as http:
            r = http.post(
                "/api/v1/auth/login", json={"username": agent.username, "password": agent.password}
            )
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            tickets = http.get("/api/v1/tickets", params={"limit": 100}, headers=auth)
            assert tickets.status_code == 200, tickets.text
            kb = http.get("/api/v1/kb", params={"q": "血透"}, headers=auth)
            assert kb.status_code == 200
            assert any("血透" in a["title"] for a in kb.json()["articles"])

        events = asyncio.run(
            read_events(
                world.desk_url,
                token,
                until=lambda got: any(e[0] == "call_offer" for e in got),
                timeout=30,
            )
        )
        offer = next(data for name, data, _ in events if name == "call_offer")
        assert offer["agent"] == AGENT
        assert offer["caller_number"]

        world.cut_link(30)
        with pytest.raises(httpx.TransportError), httpx.Client(timeout=3) as http:
            http.get(world.desk_url + "/healthz")
        # The server itself is fine: only the desk's line is down.
        assert httpx.get(world.server.url + "/healthz", timeout=3).status_code == 200
        lead = world.accounts[LEAD]
        assert lead.role == "lead"
    for pid in pids:
        assert not _alive(pid), f"process {pid} outlived the demo"
    assert not world.workdir.exists()


def test_demo_world_stops_its_children_even_when_start_up_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(self: object) -> None:
        raise RuntimeError("seeding failed")

    monkeypatch.setattr(DemoWorld, "_seed", boom)
    world = DemoWorld(tickets=1, simulate=False)
    with pytest.raises(RuntimeError, match="seeding failed"):
        world.__enter__()
    server = world.server.process
    assert server is not None and not server.alive()
    assert not world.workdir.exists()
