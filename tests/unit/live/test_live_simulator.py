"""The simulator's request building (no server needed)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest

from hotline.protocol import CreateTicketArgs, Mutation
from hotline_server.live.simmodel import CallGenerator, ModelConfig
from hotline_server.live.simulator import (
    Agent,
    SimConfig,
    SimulationError,
    Simulator,
    _uuid7,
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


def test_uuid7_is_valid_and_time_ordered() -> None:
    rng = random.Random(1)
    a = uuid.UUID(_uuid7(1_000, lambda: rng.getrandbits(76)))
    b = uuid.UUID(_uuid7(2_000, lambda: rng.getrandbits(76)))
    assert a.version == 7 and a.variant == uuid.RFC_4122
    assert str(a) < str(b)


def test_ticket_mutations_follow_the_wire_protocol() -> None:
    gen = CallGenerator(ModelConfig(calls_per_hour=1, agents=1, seed=5))
    agent = Agent("sim001")
    now = datetime(2026, 3, 15, 2, tzinfo=UTC)
    for i in range(300):
        prof = gen.profile()
        m = ticket_mutation(agent, prof, now, now, _uuid7(i, lambda: 12345))
        Mutation.model_validate(m)
        args = CreateTicketArgs.model_validate(m["args"])
        assert (args.urgency == "red") == (prof.urgent_subcategory is not None)
    assert agent.next_mutation == 301


def test_a_run_must_stop_by_itself() -> None:
    with pytest.raises(SimulationError, match="duration"):
        Simulator(SimConfig(server="http://x", calls_per_hour=1, agents=1))
