"""hotline_server: the central server of the 12345 hotline workstation.

What other parts use (embedding, tests, benchmarks, the demo):

- ``hotline_server.db.migrate.upgrade(database_url_or_engine) -> head`` runs the shipped
  Alembic migrations (no alembic.ini); ``is_up_to_date(engine)``; ``new_epoch(url)``.
- ``hotline_server.users.add_user(url_or_engine, username, password, role, team=None,
  display_name=None, *, replace=False)``, ``set_password(url_or_engine, username, password)``,
  ``set_active(url_or_engine, username, active)`` (a reset or a disable revokes the user's
  tokens); raise ``UserError`` (``.field``).
- ``hotline_server.app.create_app(settings=None, *, engine=None, clock=None, live=True)``
  -> FastAPI; ``app.state.engine`` is a sync SQLAlchemy Engine. Raises ``NotMigrated``.
- ``hotline_server.settings.Settings.from_env(database_url=None)``; env
  HOTLINE_DATABASE_URL, HOTLINE_TELEPHONY_TOKEN, HOTLINE_TZ, HOTLINE_TOKEN_TTL_SECONDS,
  HOTLINE_LOGIN_MAX_FAILURES, HOTLINE_LOGIN_WINDOW_SECONDS (per user and address),
  HOTLINE_LOGIN_USER_MAX_FAILURES, HOTLINE_LOGIN_USER_WINDOW_SECONDS (per user).
- Error bodies: see ``hotline_server.errors`` (top-level ``ErrorBody`` JSON).
- Sync appliers: ``hotline_server.sync.registry.register(name, fn)``.
"""
