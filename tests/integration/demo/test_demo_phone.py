"""The demo phone rings with a number that has tickets, so the call offer the desk gets
carries that caller's recent tickets (the intake lists them beside the form)."""

from __future__ import annotations

import asyncio

import httpx

from agent_tui.demo.world import AGENT, DemoWorld
from tests.integration.live.conftest import read_events


def test_the_call_offer_lists_the_callers_recent_tickets() -> None:
    with DemoWorld(tickets=60, simulate=False) as world:
        assert world.seeded_numbers
        agent = world.accounts[AGENT]
        r = httpx.post(
            world.desk_url + "/api/v1/auth/login",
            json={"username": agent.username, "password": agent.password},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        events = asyncio.run(
            read_events(
                world.desk_url,
                token,
                until=lambda got: any(e[0] == "call_offer" for e in got),
                timeout=60,
            )
        )
    offer = next(data for name, data, _ in events if name == "call_offer")
    assert offer["agent"] == AGENT
    number = offer["caller_number"]
    assert number in world.seeded_numbers
    recent = offer["recent_tickets"]
    assert recent, offer
    assert all(t["phone"] == number for t in recent)
    assert all(t["caller_name"] for t in recent)
