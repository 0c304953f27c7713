"""Known-good sign-in addresses: a user's correct password still works from an address they
signed in from before, while guesses by others hold the user's global limit.

Revision ID: 0004_auth_limits
Revises: 0002_live
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hotline_server.db.types

revision = '0004_auth_limits'
down_revision = '0003_client_owner'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_known_addresses',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('last_ok_at', hotline_server.db.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username', 'address')
    )


def downgrade() -> None:
    op.drop_table('login_known_addresses')
