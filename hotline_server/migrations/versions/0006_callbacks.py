"""Missed-call callbacks (漏接回拨) and server-ended calls.

``live_callbacks``: one entry per caller number while open, made from abandoned (or
expired) calls; ``live_callback_attempts``: every callback, recorded against the missed
call. ``live_calls`` gains ``expired_at`` / ``end_reason``: a call without an end event is
ended by the server (timeout, or the seat that held it signed out).

Revision ID: 0006_callbacks
Revises: 0005_ticket_outcomes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hotline_server.db.types

revision = '0006_callbacks'
down_revision = '0005_ticket_outcomes'
branch_labels = None
depends_on = None


def _ts() -> hotline_server.db.types.UtcDateTime:
    return hotline_server.db.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('live_calls') as batch:
        batch.add_column(sa.Column('expired_at', _ts(), nullable=True))
        batch.add_column(sa.Column('end_reason', sa.String(length=20), nullable=True))
    waiting = sa.text(
        'answered_at IS NULL AND abandoned_at IS NULL AND ended_at IS NULL '
        'AND expired_at IS NULL'
    )
    op.create_index(
        'ix_live_calls_waiting',
        'live_calls',
        ['first_at'],
        unique=False,
        sqlite_where=waiting,
        postgresql_where=waiting,
    )
    op.create_table('live_callbacks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('caller_number', sa.String(length=20), nullable=False),
    sa.Column('open_number', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=True),
    sa.Column('first_call_id', sa.String(length=64), nullable=False),
    sa.Column('last_call_id', sa.String(length=64), nullable=False),
    sa.Column('missed_calls', sa.Integer(), nullable=False),
    sa.Column('first_missed_at', _ts(), nullable=False),
    sa.Column('last_missed_at', _ts(), nullable=False),
    sa.Column('last_wait_seconds', sa.Float(), nullable=False),
    sa.Column('longest_wait_seconds', sa.Float(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', _ts(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('done_at', _ts(), nullable=True),
    sa.Column('done_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('open_number')
    )
    op.create_index('ix_live_callbacks_status', 'live_callbacks', ['status'], unique=False)
    op.create_index('ix_live_callbacks_done_at', 'live_callbacks', ['done_at'], unique=False)
    op.create_index(
        'ix_live_callbacks_first_missed_at', 'live_callbacks', ['first_missed_at'], unique=False
    )
    op.create_table('live_callback_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('callback_id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('at', _ts(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(
        'ix_live_callback_attempts_callback_id',
        'live_callback_attempts',
        ['callback_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_live_callback_attempts_callback_id', table_name='live_callback_attempts')
    op.drop_table('live_callback_attempts')
    op.drop_index('ix_live_callbacks_first_missed_at', table_name='live_callbacks')
    op.drop_index('ix_live_callbacks_done_at', table_name='live_callbacks')
    op.drop_index('ix_live_callbacks_status', table_name='live_callbacks')
    op.drop_table('live_callbacks')
    op.drop_index('ix_live_calls_waiting', table_name='live_calls')
    with op.batch_alter_table('live_calls') as batch:
        batch.drop_column('end_reason')
        batch.drop_column('expired_at')
