"""A client id belongs to the user who first used it (issue 12): ``sync_clients.username``.

No column changes: ``sync_clients.username`` already exists, but until now every push rewrote
it with the pushing user (so it named the *last* user of a client id). From this revision on
it names the client id's owner, written once at first use and never changed; push and pull
refuse anyone else's client id (``hotline_server.sync.clients``). This migration turns the
existing rows into owners:

- A client id with applied or rejected mutations is bound to the user who pushed its earliest
  one: ``sync_results`` keeps the first answer to every mutation with the pushing user and
  is never pruned, so the lowest ``mutation_id`` there names the first user for sure. (A desk
  shared by two users until now stays with the first one; the other's desk is answered 403
  and keeps its outbox.)
- A client id with no mutation recorded and ``last_mutation_id`` 0 only ever pushed empty
  batches: nothing was applied under it, so its row is removed and the id is left to be
  claimed by its next first use. (Its stored user may be anyone who tried it.)
- A client id with no mutation recorded but ``last_mutation_id`` above 0 cannot occur from
  this server's code; if one exists it keeps its row and its stored user, because removing
  it would make the server forget what that desk has already had acknowledged.

Downgrade changes nothing: the owner is also a valid "last user" for the old code.

Revision ID: 0003_client_owner
Revises: 0002_live
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_client_owner'
down_revision = '0002_live'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE sync_clients SET username = ("
        " SELECT r.username FROM sync_results r WHERE r.client_id = sync_clients.client_id"
        " ORDER BY r.mutation_id LIMIT 1)"
        " WHERE EXISTS (SELECT 1 FROM sync_results r WHERE r.client_id = sync_clients.client_id)"
    ))
    op.execute(sa.text(
        "DELETE FROM sync_clients WHERE last_mutation_id = 0 AND NOT EXISTS"
        " (SELECT 1 FROM sync_results r WHERE r.client_id = sync_clients.client_id)"
    ))


def downgrade() -> None:
    pass
