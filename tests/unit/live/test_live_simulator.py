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


def test_breaks_and_ticket_moves_become_seat_states_and_desk_mutations() -> None:
    from hotline.protocol import ChangeStatusArgs, RecordCallbackArgs, UpdateTicketArgs
    from hotline_server.live.simmodel import SimEvent

    sim = Simulator(
        SimConfig(server="http://x", calls_per_hour=400, agents=30, duration_seconds=86_400.0)
    )
    cc = sim.model
    events = cc.advance(86_400.0, max_offered=2_000) + cc.advance(8 * 86_400.0)
    for ev in events:
        sim._handle(ev)
    moves = [m for a in sim.agents.values() for m in a.outbox if m["name"] != "create_ticket"]
    assert len([m for m in moves if m["name"] != "update_ticket"]) == sim.summary.ticket_moves
    assert sim.summary.ticket_moves > 500
    by_ticket: dict[str, list[int]] = {}
    replied_with_answer = 0
    for m in sorted(moves, key=lambda m: (m["client_time"], m["mutation_id"])):
        Mutation.model_validate(m)
        if m["name"] == "update_ticket":  # the reply (答复内容), which 已答复 requires
            args_u = UpdateTicketArgs.model_validate(m["args"])
            assert args_u.changes["answer"].strip()
            by_ticket.setdefault(args_u.ticket_id, []).append(args_u.base_revision)
        elif m["name"] == "change_status":
            args = ChangeStatusArgs.model_validate(m["args"])
            if args.to == "replied":
                assert by_ticket[args.ticket_id][-1] == args.base_revision - 1
                replied_with_answer += 1
            by_ticket.setdefault(args.ticket_id, []).append(args.base_revision)
        else:
            assert m["name"] == "record_callback"
            cb = RecordCallbackArgs.model_validate(m["args"])
            assert cb.reached and cb.satisfaction is not None
    assert replied_with_answer > 0
    # each move is based on the revision the previous one made (intake is revision 1)
    for revisions in by_ticket.values():
        assert revisions == list(range(1, len(revisions) + 1))
    assert not sim._tickets  # every finished ticket was forgotten
    # the seat follows the breaks: the last state queued per agent is what gets sent
    seat_events = [e for e in events if e.kind == "seat"]
    assert seat_events
    queued = {name: a.seat[-1] for name, a in sim.agents.items() if a.seat}
    last: dict[str, SimEvent] = {}
    for e in seat_events:
        assert e.agent is not None
        last[e.agent] = e
    for name, (state, reason) in queued.items():
        assert (state, reason) == (last[name].state, last[name].reason)
