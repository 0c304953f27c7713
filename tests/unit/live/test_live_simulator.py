"""The simulator's request building (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.ids import uuid7_at
from hotline.protocol import CreateTicketArgs, Mutation
from hotline_server.live.simmodel import CallGenerator, ModelConfig
from hotline_server.live.simulator import (
    Agent,
    SimConfig,
    SimulationError,
    Simulator,
    parse_duration,
    ticket_mutation,
)


def test_parse_duration() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("24h") == 86_400
    assert parse_duration("2") == 2
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")


def test_ticket_mutations_follow_the_wire_protocol() -> None:
    gen = CallGenerator(ModelConfig(calls_per_hour=1, agents=1, seed=5))
    agent = Agent("sim001")
    now = datetime(2026, 3, 15, 2, tzinfo=UTC)
    for i in range(300):
        prof = gen.profile()
        m = ticket_mutation(agent, prof, now, now, uuid7_at(i, 12345))
        Mutation.model_validate(m)
        args = CreateTicketArgs.model_validate(m["args"])
        assert (args.urgency == "red") == (prof.urgent_subcategory is not None)
    assert agent.next_mutation == 301


def test_a_run_must_stop_by_itself() -> None:
    with pytest.raises(SimulationError, match="duration"):
        Simulator(SimConfig(server="http://x", calls_per_hour=1, agents=1))
