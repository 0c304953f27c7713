"""A fixed morning at the hotline for the panel's snapshot tests: same data, same clock.

The figures are computed by the server's own code (``hotline.metrics``) from hand-made call,
seat and ticket records at a fixed "now", then turned into JSON as the server sends it. Only
the transport is left out: the snapshots are about layout in both languages; what the
figures say is checked against a real server in test_lead_live.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent_tui.lead.source import ActionResult
from hotline import metrics as M

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 15, 10, 30, 0, tzinfo=TZ)


def _at(minutes_before_now: float) -> datetime:
    return NOW - timedelta(minutes=minutes_before_now)


def _calls() -> list[M.CallRecord]:
    """Three hours of calls, one every 3 minutes; every 7th abandons, waits grow lately."""
    calls = []
    for i in range(60):
        offered = _at(180 - 3 * i)
        wait = 5 + (i % 4) * 6 + (20 if i > 50 else 0)
        if i % 7 == 3:
            calls.append(
                M.CallRecord(f"c{i}", offered, queue="general", caller_number=f"1380000{i:04d}",
                             abandoned_at=offered + timedelta(seconds=wait + 2))
            )  # fmt: skip
            continue
        answered = offered + timedelta(seconds=wait)
        ended = answered + timedelta(seconds=120 + (i % 5) * 30)
        ended_at = None if ended > NOW else ended
        calls.append(
            M.CallRecord(f"c{i}", offered, queue="medical" if i % 3 == 0 else "general",
                         caller_number=f"1380000{i:04d}", agent=f"agent{i % 8:02d}",
                         answered_at=answered, ended_at=ended_at,
                         after_call_ended_at=ended + timedelta(seconds=30) if ended_at else None)
        )  # fmt: skip
    # two callers waiting right now
    calls.append(M.CallRecord("w1", _at(1.5), queue="general", caller_number="13900000001"))
    calls.append(M.CallRecord("w2", _at(0.5), queue="medical", caller_number="13900000002"))
    return calls


CATEGORIES = ("epidemic", "medical", "transport", "housing", "other")
KINDS = ("consultation", "help", "complaint", "report", "consultation", "suggestion", "praise")
SCORES = ("satisfied", "satisfied", "basically_satisfied", "dissatisfied")


def _tickets() -> list[M.TicketRecord]:
    out = []
    for i in range(24):
        started = _at(170 - 7 * i)
        out.append(
            M.TicketRecord(
                id=f"t{i}",
                created_at=started + timedelta(minutes=4),
                call_started_at=started,
                phone=f"1380000{i:04d}",
                category=CATEGORIES[i % 5] if i % 3 else "epidemic",
                urgency="red" if i % 6 == 0 else "normal",
                status="closed" if i % 4 else "dispatched",
                disposition="on_spot" if i % 4 else "dispatch",
                dispatched=i % 4 == 0,
                overdue=i == 0,
                created_by=f"agent{i % 8:02d}",
                # outcomes: kinds in turn; red answered 9, 15, 21, 27 min after the call (18
                # on average), others at intake; every fourth closed ticket evaluated
                kind=KINDS[i % len(KINDS)],
                first_response_at=started + timedelta(minutes=9 + i if i % 6 == 0 else 4),
                satisfaction=SCORES[(i // 4) % len(SCORES)] if i % 4 == 1 else None,
            )
        )
    return out


SEATS: list[dict[str, Any]] = [
    # agent, state, minutes in state, reason, call seconds, tickets today, unsynced, offline min
    {"agent": "agent00", "state": "on_call", "m": 3.2, "call": 190, "n": 4},
    {"agent": "agent01", "state": "ready", "m": 0.5, "n": 3},
    {"agent": "agent02", "state": "break", "m": 22, "reason": "午休", "n": 2},
    {"agent": "agent03", "state": "after_call", "m": 0.8, "call": 260, "n": 3},
    {"agent": "agent04", "state": "link_down", "m": 6, "n": 3, "unsynced": 5, "off": 6},
    {"agent": "agent05", "state": "on_call", "m": 1.1, "call": 66, "n": 3},
    {"agent": "agent06", "state": "break", "m": 4, "reason": "休息", "n": 3},
    {"agent": "agent07", "state": "ready", "m": 2.4, "n": 3, "unsynced": 1},
    {"agent": "手语坐席", "state": "signed_out", "m": 95, "n": 0},
]


def _seats_table() -> list[dict[str, Any]]:
    rows = []
    for s in SEATS:
        since = _at(s["m"])
        call = s.get("call")
        rows.append(
            {
                "agent": s["agent"],
                "state": s["state"],
                "reason": s.get("reason"),
                "since": since,
                "last_seen": NOW,
                "offline_since": _at(s["off"]) if "off" in s else None,
                "call_id": "x" if call else None,
                "call_started_at": NOW - timedelta(seconds=call) if call else None,
                "current_call_seconds": float(call) if call else None,
                "tickets_today": s["n"],
                "unsynced": s.get("unsynced"),
            }
        )
    return rows


def _summary(window: str) -> dict[str, Any]:
    calls, tickets = _calls(), _tickets()
    changes = [M.SeatChange(s["agent"], s["state"], _at(s["m"])) for s in SEATS]
    out = M.summary(calls, changes, tickets, window=window, now=NOW, tz=TZ)
    out["urgent"] = M.urgent_now(tickets).__dict__
    # 漏接回拨: every abandon is an entry; the first three were called back 20 minutes later
    missed = [c for c in calls if c.is_abandoned and c.abandoned_at is not None]
    entries = [
        M.CallbackRecord(c.call_id, c.abandoned_at,
                         done_at=c.abandoned_at + timedelta(minutes=20) if i < 3 else None,
                         outcome="reached" if i < 3 else None)
        for i, c in enumerate(missed) if c.abandoned_at is not None
    ]  # fmt: skip
    out["callbacks"] = M.callback_measures(entries, M.day_start(NOW, TZ), NOW).as_dict()
    out["seats_table"] = _seats_table()
    out["seats"] = M.seats_by_state(s["state"] for s in SEATS)
    out["link_down_after_seconds"] = 90.0
    out["service_level_seconds"] = 15
    return json.loads(json.dumps(out, default=lambda v: v.isoformat()))


RED_TICKETS: list[dict[str, Any]] = [
    {"id": "r1", "number": "20260315-000007", "urgency": "red", "status": "dispatched",
     "category": "medical", "urgent_subcategory": "dialysis", "escalation_level": 1,
     "overdue": True, "assignee": "agent00", "revision": 3},
    {"id": "r2", "number": "20260315-000019", "urgency": "red", "status": "accepted",
     "category": "medical", "urgent_subcategory": "rabies_vaccine", "escalation_level": 0,
     "deadline": (NOW + timedelta(minutes=3, seconds=20)).isoformat(), "assignee": "agent05",
     "revision": 1},
    {"id": "r3", "number": "20260315-000023", "urgency": "red", "status": "handling",
     "category": "medical", "urgent_subcategory": "maternity", "escalation_level": 2,
     "deadline": (NOW + timedelta(hours=2, minutes=10)).isoformat(), "assignee": "agent02",
     "revision": 5},
    {"id": "n1", "number": "20260312-000311", "urgency": "normal", "status": "handling",
     "category": "housing", "escalation_level": 0, "overdue": True, "assignee": "agent06",
     "revision": 4},
]  # fmt: skip


class FrozenSource:
    """Answers like the server would at ``NOW``; the event stream stays open and silent."""

    def __init__(self) -> None:
        self.summaries = {w: _summary(w) for w in M.WINDOWS}
        self.escalated: list[tuple[str, str]] = []

    async def summary(self, window: str) -> dict[str, Any]:
        return self.summaries[window]

    async def red_tickets(self) -> list[dict[str, Any]]:
        return [dict(t) for t in RED_TICKETS]

    async def events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        yield "hello", {"seq": 0}
        await asyncio.Event().wait()

    async def ticket(self, ticket_id: str) -> dict[str, Any]:
        return next(dict(t) for t in RED_TICKETS if t["id"] == ticket_id)

    async def escalate(self, ticket_id: str, reason: str) -> ActionResult:
        self.escalated.append((ticket_id, reason))
        return ActionResult(True)

    async def reassign(self, ticket_id: str, assignee: str, base_revision: int) -> ActionResult:
        return ActionResult(True)

    async def daily_report_csv(self, day: date | None) -> tuple[str, bytes]:
        return f"hotline-daily-{day}.csv", b"date,queue\n"

    async def aclose(self) -> None:
        return None
