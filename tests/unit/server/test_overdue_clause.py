"""The list filter's overdue condition (SQL) agrees with ``hotline.clocks.is_overdue``."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hotline import clocks
from hotline.model import Kind, Status, UrgentSubcategory
from hotline_server import tickets
from hotline_server.db.schema import metadata
from hotline_server.db.schema import tickets as t

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=ZONE)
NOWS = [
    MONDAY,
    datetime(2026, 12, 8, tzinfo=ZONE),  # Tuesday 00:00: a handling deadline, still in time
    datetime(2026, 12, 12, 23, 59, tzinfo=ZONE),  # a Saturday night
    datetime(2026, 10, 9, 9, 0, tzinfo=ZONE),  # after the National Day holiday
]
OFFSETS = [timedelta(minutes=m) for m in (1, 30, 31, 119, 120, 121, 60 * 20)] + [
    timedelta(days=d, hours=h) for d in (1, 2, 3, 4, 5, 8, 12, 15, 20) for h in (0, 10)
]
POLICIES = {
    "default": clocks.EscalationPolicy(),
    "categories": clocks.EscalationPolicy(
        categories={
            "urgent_medical": clocks.CategoryRule(
                first_response=timedelta(minutes=10),
                supervision_after=timedelta(hours=1),
                handling_working_days={Kind.HELP: 1},
            ),
            UrgentSubcategory.DIALYSIS.value: clocks.CategoryRule(
                first_response=timedelta(minutes=5), supervision_after=timedelta(minutes=45)
            ),
            "utilities": clocks.CategoryRule(
                handling_working_days={Kind.COMPLAINT: 2, Kind.CONSULTATION: 1}
            ),
        }
    ),
    "surge": clocks.EscalationPolicy(surge=True),
}
CALENDAR = clocks.WorkCalendar.of(
    holidays=[date(2026, 10, d) for d in range(1, 9)] + [date(2026, 12, 4)],
    workdays=["2026-09-27", "2026-10-10"],
)


def rows_for(now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for i in range(400):
        started = now - rng.choice(OFFSETS)
        created = started + rng.choice([timedelta(0), timedelta(minutes=2)])
        soon = now + timedelta(seconds=1)  # responded, but not yet at now
        response = rng.choice([None, started + timedelta(minutes=10),
                               started + timedelta(minutes=40), soon])  # fmt: skip
        dispatched = rng.choice([None, created, created + timedelta(hours=rng.randint(1, 60))])
        category, sub = rng.choice([("other", None), ("urgent_medical", None),
                                    ("urgent_medical", UrgentSubcategory.DIALYSIS.value),
                                    ("utilities", UrgentSubcategory.DIALYSIS.value),
                                    ("utilities", None)])  # fmt: skip
        rows.append({
            "id": f"t{i:04d}", "number": None, "revision": 1,
            "status": rng.choice(list(Status)).value, "disposition": "pending",
            "kind": rng.choice(list(Kind)).value, "category": category,
            "urgent_subcategory": sub, "urgency": rng.choice(["red", "normal"]),
            "channel": "phone", "extra": {}, "call_started_at": started,
            "created_at": created, "created_by": "amy", "first_response_at": response,
            "dispatched_at": dispatched, "received_at": created, "updated_at": created,
            "field_revisions": {}, "overdue": rng.random() < 0.5,  # the stored flag: ignored
        })  # fmt: skip
    return rows


@pytest.mark.parametrize("policy_name", list(POLICIES))
@pytest.mark.parametrize("calendar", [None, CALENDAR], ids=["weekdays", "holidays"])
def test_overdue_clause_matches_the_clocks(policy_name: str, calendar: Any) -> None:
    policy = POLICIES[policy_name]
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine, tables=[t])
    rng = random.Random(f"{policy_name}-{calendar is None}")
    checked = overdue_seen = 0
    for now in NOWS:
        rows = rows_for(now, rng)
        with engine.begin() as conn:
            conn.execute(sa.delete(t))
            conn.execute(sa.insert(t), rows)
            clause = tickets.overdue_clause(now.astimezone(UTC), "Asia/Shanghai", policy,
                                            calendar)  # fmt: skip
            late = set(conn.execute(sa.select(t.c.id).where(clause)).scalars())
            in_time = set(conn.execute(sa.select(t.c.id).where(sa.not_(clause))).scalars())
        expected = set()
        for row in rows:
            ticket = tickets.to_ticket(row)
            if clocks.is_overdue(ticket, now, policy, calendar, ZONE,
                                 dispatched_at=row["dispatched_at"]):  # fmt: skip
                expected.add(row["id"])
        assert late == expected, sorted(late ^ expected)[:5]
        assert in_time == {r["id"] for r in rows} - expected
        checked += len(rows)
        overdue_seen += len(expected)
    assert 0 < overdue_seen < checked  # the grid has both kinds
    engine.dispose()
