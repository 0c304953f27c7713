"""The demo phone rings with a number that has tickets, so the call offer the desk gets
carries that caller's recent tickets (the intake lists them beside the form). Its first call
keeps ringing long enough for a desk that connects late (a slow first start) to get it."""

from __future__ import annotations

import asyncio
import time

import httpx

from agent_tui.demo.phone import PICK_UP_AFTER_SECONDS
from agent_tui.demo.world import AGENT, DemoWorld
from tests.integration.live.conftest import read_events


def test_the_call_offer_lists_the_callers_recent_tickets() -> None:
    with DemoWorld(tickets=60, simulate=False) as world:
        assert world.seeded_numbers and world.phone is not None
        for _ in range(600):  # bounded: the first call is offered a few seconds after start
            if world.phone.calls_offered:
                break
            time.sleep(0.1)
        assert world.phone.calls_offered == 1, world.phone.last_error
        # Connect later than an ordinary call would be picked up: the first one still rings.
        time.sleep(PICK_UP_AFTER_SECONDS + 3)
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
