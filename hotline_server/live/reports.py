"""Metrics summary, the lead panel and the daily report, from the live tables and tickets.

The figures themselves are computed by :mod:`hotline.metrics` (one definition each, per
METRICS.md); this module only selects the rows a window needs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline import metrics as M
from hotline_server.live import callbacks, store
from hotline_server.live.schema import live_calls

TicketLoader = Callable[[Connection, datetime, datetime], Sequence[M.TicketRecord]]
OpenRedLoader = Callable[[Connection], Sequence[M.TicketRecord]]
TicketsTodayLoader = Callable[[Connection, datetime], dict[str, int]]


def _fcr_calls(conn: Connection, start: datetime, end: datetime) -> list[M.CallRecord]:
    """Calls needed for first-call resolution: the window plus the 7 days after it."""
    return store.load_call_records(conn, start, end + timedelta(days=M.FCR_REPEAT_DAYS))


def summary(
    conn: Connection,
    *,
    window: str,
    now: datetime,
    tz: tzinfo,
    load_tickets: TicketLoader,
    load_open_red: OpenRedLoader,
    tickets_today: TicketsTodayLoader,
    service_level_seconds: int = M.DEFAULT_SERVICE_LEVEL_SECONDS,
    link_down_seconds: float = 90.0,
) -> dict[str, Any]:
    start, _end = M.window_bounds(window, now, tz)
    day0 = M.day_start(now, tz)
    calls = store.load_call_records(conn, min(start, day0), now + timedelta(seconds=1))
    seat_changes = store.load_seat_changes(conn, start, now + timedelta(seconds=1))
    tickets = list(load_tickets(conn, start, now + timedelta(seconds=1)))
    out = M.summary(
        calls,
        seat_changes,
        tickets,
        window=window,
        now=now,
        tz=tz,
        service_level_seconds=service_level_seconds,
    )
    # First-call resolution looks 7 days past the ticket; repeat calls can only be in the past.
    out["tickets"] = M.ticket_measures(
        tickets, _fcr_calls(conn, start, now), start, now + timedelta(seconds=1)
    ).as_dict()
    out["urgent"] = M.urgent_now(load_open_red(conn)).__dict__
    out["seats_table"] = seats_table(conn, now=now, tz=tz, tickets_today=tickets_today)
    out["seats"] = M.seats_by_state(s["state"] for s in out["seats_table"])
    out["callbacks"] = callbacks_today(conn, now=now, tz=tz)  # 漏接回拨
    out["link_down_after_seconds"] = link_down_seconds
    out["service_level_seconds"] = service_level_seconds
    return out


def seats_table(
    conn: Connection, *, now: datetime, tz: tzinfo, tickets_today: TicketsTodayLoader
) -> list[dict[str, Any]]:
    counts = tickets_today(conn, M.day_start(now, tz))
    out = []
    for s in store.list_seats(conn):
        started = s["call_started_at"]
        on_call = s["state"] in ("on_call", "after_call") and started is not None
        out.append(
            {
                "agent": s["agent"],
                "state": s["state"],
                "reason": s["reason"],
                "since": s["since"],
                "last_seen": s["last_seen"],
                "offline_since": s["offline_since"],
                "call_id": s["call_id"],
                "call_started_at": started,
                "current_call_seconds": (
                    max(0.0, (now - started).total_seconds()) if on_call and started else None
                ),
                "tickets_today": counts.get(s["agent"], 0),
                "unsynced": s["unsynced"],
            }
        )
    return out


def panel(
    conn: Connection,
    *,
    now: datetime,
    tz: tzinfo,
    load_open_red: OpenRedLoader,
    service_level_seconds: int = M.DEFAULT_SERVICE_LEVEL_SECONDS,
) -> dict[str, Any]:
    """The light-weight live panel pushed to leads (at most once a second): the last 15
    minutes of calls, the queue now, seats by state and red tickets."""
    start, _end = M.window_bounds("15m", now, tz)
    calls = store.load_call_records(conn, start, now + timedelta(seconds=1))
    m15 = M.call_measures(calls, start, now, service_level_seconds=service_level_seconds)
    day0 = M.day_start(now, tz)
    today = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(live_calls.c.answered_at),
        ).where(live_calls.c.first_at >= day0)
    ).one()
    seats = store.list_seats(conn)
    return {
        "at": now.isoformat(),
        "calls_15m": m15.as_dict(),
        "today": {
            "offered": int(today[0]),
            "answered": int(today[1]),
            "answer_rate": (int(today[1]) / int(today[0])) if today[0] else None,
        },
        "queue_now": M.queue_now(calls, now).__dict__,
        "seats": M.seats_by_state(s["state"] for s in seats),
        "urgent": M.urgent_now(load_open_red(conn)).__dict__,
        "callbacks": callbacks_today(conn, now=now, tz=tz),  # 漏接回拨
    }


def callbacks_today(conn: Connection, *, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """The lead's callback figures: ``open_now`` (due: waiting for a callback now), and for
    today ``due`` (open at some moment today) and ``done`` / ``reached`` (closed today)."""
    day0 = M.day_start(now, tz)
    end = now + timedelta(seconds=1)
    records = callbacks.load_callback_records(conn, day0, end)
    return M.callback_measures(records, day0, end).as_dict()


def daily_report(
    conn: Connection,
    *,
    first: date,
    last: date,
    tz: tzinfo,
    load_tickets: TicketLoader,
    service_level_seconds: int = M.DEFAULT_SERVICE_LEVEL_SECONDS,
) -> list[dict[str, Any]]:
    start, _ = M.local_day_bounds(first, tz)
    _, end = M.local_day_bounds(last, tz)
    calls = store.load_call_records(conn, start, end + timedelta(days=M.FCR_REPEAT_DAYS))
    seat_changes = store.load_seat_changes(conn, start, end)
    tickets = list(load_tickets(conn, start, end))
    missed = callbacks.load_callback_records(conn, start, end)  # the call side's lines
    return M.daily_report(
        calls,
        seat_changes,
        tickets,
        first=first,
        last=last,
        tz=tz,
        service_level_seconds=service_level_seconds,
        callbacks=missed,
    )


def report_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(M.REPORT_COLUMNS), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(_csv_row(row))
        for name, cat in (row.get("by_category") or {}).items():
            writer.writerow(
                _csv_row(
                    {
                        "date": row["date"],
                        "queue": row["queue"],
                        "category": name,
                        "tickets_created": cat["created"],
                        "dispatched": cat["dispatched"],
                        "resolved": cat["resolved"],
                        "resolution_rate": cat["resolution_rate"],
                    }
                )
            )
    return buf.getvalue()


def _csv_row(row: dict[str, Any]) -> dict[str, str]:
    return {k: ("" if row.get(k) is None else _fmt(row.get(k))) for k in M.REPORT_COLUMNS}


def _fmt(v: Any) -> str:
    if isinstance(v, list):  # top_topics: "name:count; name:count"
        return "; ".join(f"{t['topic']}:{t['tickets']}" for t in v)
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)
