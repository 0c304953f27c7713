"""The core tables (migration ``0001_core``); the live tables attach to the same ``metadata``.

Why some tables exist:
- ``seq_counter``: one row whose value is advanced INSIDE each writing transaction; its row
  lock orders commits, so the change log's ``seq`` is gap-free in commit order (a PostgreSQL
  sequence can commit out of order and make a ``cursor=`` reader skip rows; SYNC.md).
- ``sync_results``: the first answer to every mutation, so a retried push after a lost answer
  can still tell the client why a mutation was rejected.
- ``ticket_numbers``: per local day counter for the human number ``YYYYMMDD-NNNNNN``.
"""

from __future__ import annotations

import sqlalchemy as sa

from hotline_server.db.types import UtcDateTime

TS = UtcDateTime
metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("team", sa.String(64)),
    sa.Column("display_name", sa.String(100)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TS(), nullable=False),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # sha256 hex of the token
    sa.Column("username", sa.String(64), sa.ForeignKey("users.username"), nullable=False),
    sa.Column("created_at", TS(), nullable=False),
    sa.Column("expires_at", TS(), nullable=False),
    sa.Column("revoked_at", TS()),
)
sa.Index("ix_tokens_username", tokens.c.username)

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", TS(), nullable=False),
    sa.Column("success", sa.Boolean, nullable=False),
)
sa.Index("ix_login_attempts_username_at", login_attempts.c.username, login_attempts.c.at)
sa.Index("ix_login_attempts_address_at", login_attempts.c.address, login_attempts.c.at)

# An address each user has signed in from (migration 0004_auth_limits): from it, the user's
# correct password still works while others' guesses have the user locked elsewhere.
login_known_addresses = sa.Table(
    "login_known_addresses",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("address", sa.String(64), primary_key=True),
    sa.Column("last_ok_at", TS(), nullable=False),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("number", sa.String(20), unique=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("disposition", sa.String(16), nullable=False),
    sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"),
    # TicketFields
    sa.Column("caller_name", sa.String(50), nullable=False, server_default=""),
    sa.Column("phone", sa.String(20), nullable=False, server_default=""),
    sa.Column("id_card", sa.String(18)),
    sa.Column("address", sa.String(200), nullable=False, server_default=""),
    sa.Column("district", sa.String(20), nullable=False, server_default=""),
    sa.Column("community", sa.String(50)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("category", sa.String(40), nullable=False),
    sa.Column("urgent_subcategory", sa.String(20)),
    sa.Column("urgency", sa.String(8), nullable=False),
    sa.Column("account", sa.Text, nullable=False, server_default=""),
    sa.Column("answer", sa.Text),
    sa.Column("handling_unit", sa.String(60)),
    sa.Column("promise", sa.String(500)),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("extra", sa.JSON, nullable=False),
    # the fields of migration 0007_form_fields (issue 13's norms)
    sa.Column("street", sa.String(40)),
    sa.Column("caller_number", sa.String(20)),
    sa.Column("reply_needed", sa.Boolean),
    sa.Column("reply_method", sa.String(16)),
    sa.Column("respondent", sa.String(100)),
    sa.Column("topic", sa.String(40)),
    sa.Column("privacy", sa.String(16), nullable=False, server_default="normal"),
    # server-kept
    sa.Column("call_started_at", TS(), nullable=False),
    sa.Column("created_at", TS(), nullable=False),  # as the agent saw it
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("team", sa.String(64)),
    sa.Column("assignee", sa.String(64)),
    sa.Column("merged_into", sa.String(36)),
    sa.Column("first_response_at", TS()),
    sa.Column("dispatched_at", TS()),
    sa.Column("closed_at", TS()),
    sa.Column("overdue", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("satisfaction", sa.String(24)),  # hotline.model.Satisfaction (评价)
    sa.Column("callback_at", TS()),
    sa.Column("received_at", TS(), nullable=False),  # server time of the first apply
    sa.Column("updated_at", TS(), nullable=False),
    # {field: revision that last changed it}: what "changed since base_revision" reads
    sa.Column("field_revisions", sa.JSON, nullable=False),
)
for _c in ("status", "urgency", "category", "district", "assignee", "created_by", "phone", "topic"):
    sa.Index(f"ix_tickets_{_c}", tickets.c[_c])
sa.Index("ix_tickets_call_started_at", tickets.c.call_started_at)
sa.Index("ix_tickets_team", tickets.c.team)

ticket_numbers = sa.Table(
    "ticket_numbers",
    metadata,
    sa.Column("day", sa.String(8), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)

ticket_history = sa.Table(
    "ticket_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("at", TS(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),  # {field: {"from": old, "to": new}}
    sa.Column("reason", sa.Text),
    sa.Column("conflict", sa.JSON),  # {field: {"mine": lost, "theirs": kept}}
    sa.Column("client_id", sa.String(36)),
    sa.Column("mutation_id", sa.BigInteger),
)
sa.Index("ix_ticket_history_ticket_id", ticket_history.c.ticket_id, ticket_history.c.id)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("ticket_id", sa.String(36), sa.ForeignKey("tickets.id"), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("created_at", TS(), nullable=False),
    sa.Column("received_at", TS(), nullable=False),
)
sa.Index("ix_notes_ticket_id", notes.c.ticket_id)

change_log = sa.Table(
    "change_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("entity", sa.String(16), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("op", sa.String(8), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("team", sa.String(64)),
    sa.Column("owner", sa.String(64)),
    sa.Column("server_time", TS(), nullable=False),
)

seq_counter = sa.Table(
    "seq_counter",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("value", sa.BigInteger, nullable=False),
)

sync_clients = sa.Table(
    "sync_clients",
    metadata,
    sa.Column("client_id", sa.String(36), primary_key=True),
    # the owner: the user who first used this client id, never changed (0003_client_owner)
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("last_mutation_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", TS(), nullable=False),
    sa.Column("updated_at", TS(), nullable=False),
)

sync_results = sa.Table(
    "sync_results",
    metadata,
    sa.Column("client_id", sa.String(36), primary_key=True),
    sa.Column("mutation_id", sa.BigInteger, primary_key=True),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", TS(), nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("created_at", TS(), nullable=False),
)

server_meta = sa.Table(
    "server_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

CORE_TABLES = (
    users,
    tokens,
    login_attempts,
    tickets,
    ticket_numbers,
    ticket_history,
    notes,
    change_log,
    seq_counter,
    sync_clients,
    sync_results,
    idempotency_keys,
    server_meta,
)

# The live side's tables attach to this metadata (migration 0002_live).
# Imported for its side effect; works in either import order (live.schema imports us).
from hotline_server.live import schema as _live_schema  # noqa: E402, F401
