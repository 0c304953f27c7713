"""Alembic environment: the connection is handed in by hotline_server.db.migrate."""

from __future__ import annotations

from alembic import context

from hotline_server.db.schema import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
