"""Tables of the live side, on the core's ``metadata`` (migration ``0002_live``)."""

from __future__ import annotations

import sqlalchemy as sa

from hotline_server.db.schema import metadata
from hotline_server.db.types import UtcDateTime

__all__ = ["LIVE_TABLES", "metadata"]


TS = UtcDateTime

live_calls = sa.Table(
    "live_calls",
    metadata,
    sa.Column("call_id", sa.String(64), primary_key=True),
    sa.Column("queue", sa.String(40)),
    sa.Column("caller_number", sa.String(20)),
    sa.Column("agent", sa.String(64)),
    sa.Column("offered_at", TS()),
    sa.Column("seat_offered_at", TS()),
    sa.Column("answered_at", TS()),
    sa.Column("abandoned_at", TS()),
    sa.Column("ended_at", TS()),
    sa.Column("after_call_ended_at", TS()),
    sa.Column("hold_seconds", sa.Float, nullable=False, server_default="0"),
    # the earliest time known for the call: what windows and the daily report select on
    sa.Column("first_at", TS(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # telephony | desk
    sa.Column("updated_at", TS(), nullable=False),
    # migration 0006_callbacks: a call that never got an end event is ended by the server
    # (expired: the phone system stopped sending; or the seat that held it signed out)
    sa.Column("expired_at", TS()),
    sa.Column("end_reason", sa.String(20)),
)
sa.Index("ix_live_calls_first_at", live_calls.c.first_at)
sa.Index("ix_live_calls_caller_number", live_calls.c.caller_number)
sa.Index("ix_live_calls_agent", live_calls.c.agent)
# the calls still waiting (no outcome yet), which the expiry job reads every few seconds:
# a partial index, so it never walks the table's history (0006_callbacks)
WAITING_CALL = sa.and_(
    live_calls.c.answered_at.is_(None),
    live_calls.c.abandoned_at.is_(None),
    live_calls.c.ended_at.is_(None),
    live_calls.c.expired_at.is_(None),
)
sa.Index(
    "ix_live_calls_waiting",
    live_calls.c.first_at,
    sqlite_where=WAITING_CALL,
    postgresql_where=WAITING_CALL,
)

live_call_events = sa.Table(
    "live_call_events",
    metadata,
    sa.Column("event_id", sa.String(100), primary_key=True),
    sa.Column("call_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("at", TS(), nullable=False),
    sa.Column("received_at", TS(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
)
sa.Index("ix_live_call_events_call_id", live_call_events.c.call_id)

live_seats = sa.Table(
    "live_seats",
    metadata,
    sa.Column("agent", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(100)),
    sa.Column("since", TS(), nullable=False),
    sa.Column("last_seen", TS()),
    sa.Column("offline_since", TS()),
    sa.Column("state_before_link_down", sa.String(16)),
    sa.Column("call_id", sa.String(64)),
    sa.Column("call_started_at", TS()),
    sa.Column("unsynced", sa.Integer),
    sa.Column("client_id", sa.String(36)),
)

live_seat_changes = sa.Table(
    "live_seat_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(100)),
    sa.Column("at", TS(), nullable=False),
    sa.Column("recorded_at", TS(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),  # agent | telephony | server
)
sa.Index("ix_live_seat_changes_at", live_seat_changes.c.at)
sa.Index("ix_live_seat_changes_agent_at", live_seat_changes.c.agent, live_seat_changes.c.at)

kb_articles = sa.Table(
    "kb_articles",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("valid_from", TS()),
    sa.Column("valid_to", TS()),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_at", TS(), nullable=False),
    sa.Column("updated_at", TS(), nullable=False),
    # space-separated search tokens (CJK bigrams, words): LIKE '% tok %' on both databases
    sa.Column("search_text", sa.Text, nullable=False),
)

live_form_sets = sa.Table(
    "live_form_sets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("forms", sa.JSON, nullable=False),
    sa.Column("updated_at", TS(), nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)

# ---------------------------------------------------------------- callbacks (0006_callbacks)

# 漏接回拨: one entry per caller number while open (``open_number`` is the number while the
# entry is open, NULL once done: the unique index allows one open entry per number).
live_callbacks = sa.Table(
    "live_callbacks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("caller_number", sa.String(20), nullable=False),
    sa.Column("open_number", sa.String(20), unique=True),
    sa.Column("status", sa.String(12), nullable=False),  # open | claimed | done
    sa.Column("reason", sa.String(16), nullable=False),  # abandoned | expired
    sa.Column("queue", sa.String(40)),
    sa.Column("first_call_id", sa.String(64), nullable=False),
    sa.Column("last_call_id", sa.String(64), nullable=False),
    sa.Column("missed_calls", sa.Integer, nullable=False),
    sa.Column("first_missed_at", TS(), nullable=False),
    sa.Column("last_missed_at", TS(), nullable=False),
    sa.Column("last_wait_seconds", sa.Float, nullable=False),
    sa.Column("longest_wait_seconds", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_at", TS()),
    sa.Column("outcome", sa.String(20)),
    sa.Column("done_at", TS()),
    sa.Column("done_by", sa.String(64)),
    sa.Column("created_at", TS(), nullable=False),
    sa.Column("updated_at", TS(), nullable=False),
)
sa.Index("ix_live_callbacks_status", live_callbacks.c.status)
sa.Index("ix_live_callbacks_done_at", live_callbacks.c.done_at)
sa.Index("ix_live_callbacks_first_missed_at", live_callbacks.c.first_missed_at)

# Every callback attempt, recorded against the missed call it answers.
live_callback_attempts = sa.Table(
    "live_callback_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("callback_id", sa.String(36), nullable=False),
    sa.Column("call_id", sa.String(64), nullable=False),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("note", sa.String(500)),
    sa.Column("at", TS(), nullable=False),
)
sa.Index("ix_live_callback_attempts_callback_id", live_callback_attempts.c.callback_id)

LIVE_TABLES = (
    live_calls,
    live_call_events,
    live_seats,
    live_seat_changes,
    kb_articles,
    live_form_sets,
    live_callbacks,
    live_callback_attempts,
)
