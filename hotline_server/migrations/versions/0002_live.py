"""Live tables: calls, call events, seats, seat changes, KB articles, form sets.

Revision ID: 0002_live
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hotline_server.db.types

revision = '0002_live'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_articles',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('valid_from', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('valid_to', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('live_call_events',
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index('ix_live_call_events_call_id', 'live_call_events', ['call_id'], unique=False)
    op.create_table('live_calls',
    sa.Column('call_id', sa.String(length=64), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=True),
    sa.Column('caller_number', sa.String(length=20), nullable=True),
    sa.Column('agent', sa.String(length=64), nullable=True),
    sa.Column('offered_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('seat_offered_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('abandoned_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('after_call_ended_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('hold_seconds', sa.Float(), server_default='0', nullable=False),
    sa.Column('first_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('updated_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_id')
    )
    op.create_index('ix_live_calls_agent', 'live_calls', ['agent'], unique=False)
    op.create_index('ix_live_calls_caller_number', 'live_calls', ['caller_number'], unique=False)
    op.create_index('ix_live_calls_first_at', 'live_calls', ['first_at'], unique=False)
    op.create_table('live_form_sets',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.Column('updated_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('live_seat_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=True),
    sa.Column('at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_live_seat_changes_agent_at', 'live_seat_changes', ['agent', 'at'], unique=False)
    op.create_index('ix_live_seat_changes_at', 'live_seat_changes', ['at'], unique=False)
    op.create_table('live_seats',
    sa.Column('agent', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=True),
    sa.Column('since', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('offline_since', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('state_before_link_down', sa.String(length=16), nullable=True),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('call_started_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('unsynced', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('agent')
    )


def downgrade() -> None:
    op.drop_table('live_seats')
    op.drop_index('ix_live_seat_changes_at', table_name='live_seat_changes')
    op.drop_index('ix_live_seat_changes_agent_at', table_name='live_seat_changes')
    op.drop_table('live_seat_changes')
    op.drop_table('live_form_sets')
    op.drop_index('ix_live_calls_first_at', table_name='live_calls')
    op.drop_index('ix_live_calls_caller_number', table_name='live_calls')
    op.drop_index('ix_live_calls_agent', table_name='live_calls')
    op.drop_table('live_calls')
    op.drop_index('ix_live_call_events_call_id', table_name='live_call_events')
    op.drop_table('live_call_events')
    op.drop_table('kb_articles')
