"""Core tables: users, tokens, tickets, history, notes, change log, sync.

Revision ID: 0001_core
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hotline_server.db.types

revision = '0001_core'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_log',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('server_time', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_table('idempotency_keys',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username', 'key')
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_login_attempts_address_at', 'login_attempts', ['address', 'at'], unique=False)
    op.create_index('ix_login_attempts_username_at', 'login_attempts', ['username', 'at'], unique=False)
    op.create_table('seq_counter',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('server_meta',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('sync_clients',
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('last_mutation_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('sync_results',
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('mutation_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('client_id', 'mutation_id')
    )
    op.create_table('ticket_numbers',
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('tickets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('disposition', sa.String(length=16), nullable=False),
    sa.Column('escalation_level', sa.Integer(), server_default='0', nullable=False),
    sa.Column('caller_name', sa.String(length=50), server_default='', nullable=False),
    sa.Column('phone', sa.String(length=20), server_default='', nullable=False),
    sa.Column('id_card', sa.String(length=18), nullable=True),
    sa.Column('address', sa.String(length=200), server_default='', nullable=False),
    sa.Column('district', sa.String(length=20), server_default='', nullable=False),
    sa.Column('community', sa.String(length=50), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('urgent_subcategory', sa.String(length=20), nullable=True),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('account', sa.Text(), server_default='', nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('handling_unit', sa.String(length=60), nullable=True),
    sa.Column('promise', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('call_started_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('merged_into', sa.String(length=36), nullable=True),
    sa.Column('first_response_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('overdue', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('callback_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.Column('received_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('field_revisions', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    op.create_index('ix_tickets_assignee', 'tickets', ['assignee'], unique=False)
    op.create_index('ix_tickets_call_started_at', 'tickets', ['call_started_at'], unique=False)
    op.create_index('ix_tickets_category', 'tickets', ['category'], unique=False)
    op.create_index('ix_tickets_created_by', 'tickets', ['created_by'], unique=False)
    op.create_index('ix_tickets_district', 'tickets', ['district'], unique=False)
    op.create_index('ix_tickets_phone', 'tickets', ['phone'], unique=False)
    op.create_index('ix_tickets_status', 'tickets', ['status'], unique=False)
    op.create_index('ix_tickets_team', 'tickets', ['team'], unique=False)
    op.create_index('ix_tickets_urgency', 'tickets', ['urgency'], unique=False)
    op.create_table('users',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=True),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    op.create_table('notes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('received_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_notes_ticket_id', 'notes', ['ticket_id'], unique=False)
    op.create_table('ticket_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('conflict', sa.JSON(), nullable=True),
    sa.Column('client_id', sa.String(length=36), nullable=True),
    sa.Column('mutation_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ticket_history_ticket_id', 'ticket_history', ['ticket_id', 'id'], unique=False)
    op.create_table('tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('created_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_tokens_username', 'tokens', ['username'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tokens_username', table_name='tokens')
    op.drop_table('tokens')
    op.drop_index('ix_ticket_history_ticket_id', table_name='ticket_history')
    op.drop_table('ticket_history')
    op.drop_index('ix_notes_ticket_id', table_name='notes')
    op.drop_table('notes')
    op.drop_table('users')
    op.drop_index('ix_tickets_urgency', table_name='tickets')
    op.drop_index('ix_tickets_team', table_name='tickets')
    op.drop_index('ix_tickets_status', table_name='tickets')
    op.drop_index('ix_tickets_phone', table_name='tickets')
    op.drop_index('ix_tickets_district', table_name='tickets')
    op.drop_index('ix_tickets_created_by', table_name='tickets')
    op.drop_index('ix_tickets_category', table_name='tickets')
    op.drop_index('ix_tickets_call_started_at', table_name='tickets')
    op.drop_index('ix_tickets_assignee', table_name='tickets')
    op.drop_table('tickets')
    op.drop_table('ticket_numbers')
    op.drop_table('sync_results')
    op.drop_table('sync_clients')
    op.drop_table('server_meta')
    op.drop_table('seq_counter')
    op.drop_index('ix_login_attempts_username_at', table_name='login_attempts')
    op.drop_index('ix_login_attempts_address_at', table_name='login_attempts')
    op.drop_table('login_attempts')
    op.drop_table('idempotency_keys')
    op.drop_table('change_log')
