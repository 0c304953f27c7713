"""Ticket fields of the 12345 norms (issue 13): street/town, caller ID apart from the contact
number, reply needed and reply method, the party complained about, the topic, and whether
the caller is confidential or anonymous.

Revision ID: 0007_form_fields
Revises: 0006_callbacks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007_form_fields'
down_revision = '0006_callbacks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('street', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('caller_number', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('reply_needed', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('reply_method', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('respondent', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('topic', sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column('privacy', sa.String(length=16), nullable=False, server_default='normal')
        )
    op.create_index('ix_tickets_topic', 'tickets', ['topic'])


def downgrade() -> None:
    op.drop_index('ix_tickets_topic', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        for name in ('privacy', 'topic', 'respondent', 'reply_method', 'reply_needed',
                     'caller_number', 'street'):
            batch.drop_column(name)
