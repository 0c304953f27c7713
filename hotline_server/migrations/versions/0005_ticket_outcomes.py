"""Ticket outcomes: the evaluation (评价) score is one of three levels, stored as text.

``tickets.satisfaction`` was an integer 1-5; it becomes ``satisfied`` / ``basically_satisfied``
/ ``dissatisfied`` (hotline.model.Satisfaction): 5 and 4 are satisfied, 3 basically satisfied,
2 and 1 dissatisfied, the reading hotline.model.LEGACY_SATISFACTION gives an old desk's score.

Revision ID: 0005_ticket_outcomes
Revises: 0004_auth_limits
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_ticket_outcomes'
down_revision = '0004_auth_limits'
branch_labels = None
depends_on = None

_TO_TEXT = (
    "CASE WHEN satisfaction IN ('5', '4') THEN 'satisfied' "
    "WHEN satisfaction = '3' THEN 'basically_satisfied' "
    "WHEN satisfaction IN ('2', '1') THEN 'dissatisfied' ELSE NULL END"
)
_TO_DIGIT = (
    "CASE satisfaction WHEN 'satisfied' THEN '5' WHEN 'basically_satisfied' THEN '3' "
    "WHEN 'dissatisfied' THEN '1' ELSE NULL END"
)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == 'postgresql')


# SQLite keeps the column's declared type and stores the text in place (a column of SQLite
# holds any type; rebuilding ``tickets`` to retype it would trip the foreign keys of its
# history and notes, which the server keeps ON).


def upgrade() -> None:
    if _postgresql():
        op.alter_column('tickets', 'satisfaction', existing_type=sa.Integer(),
                        type_=sa.String(length=24), existing_nullable=True,
                        postgresql_using='satisfaction::text')  # fmt: skip
    op.execute(f"UPDATE tickets SET satisfaction = {_TO_TEXT} WHERE satisfaction IS NOT NULL")


def downgrade() -> None:
    op.execute(f"UPDATE tickets SET satisfaction = {_TO_DIGIT} WHERE satisfaction IS NOT NULL")
    if _postgresql():
        op.alter_column('tickets', 'satisfaction', existing_type=sa.String(length=24),
                        type_=sa.Integer(), existing_nullable=True,
                        postgresql_using='satisfaction::integer')  # fmt: skip
