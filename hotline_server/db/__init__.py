"""The server's database: engine set-up, tables and migrations (SQLAlchemy 2 Core, sync)."""
