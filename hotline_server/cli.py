"""The ``hotline-server`` command: serve, migrate, user add, simulate (live side).

Bad configuration gives one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

from hotline_server.settings import ConfigError

DB_HELP = "database URL [env HOTLINE_DATABASE_URL; default: SQLite in the user data dir]"


def fail(message: str, code: int = 2) -> None:
    click.echo(f"hotline-server: {message}", err=True)
    sys.exit(code)


def _db_error(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@click.group()
def main() -> None:
    """Central server of the 12345 hotline workstation."""


@main.command()
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
def serve(database: str | None, host: str, port: int, log_level: str) -> None:
    """Run the HTTP server."""
    import sqlalchemy.exc
    import uvicorn

    from hotline_server.app import NotMigrated, create_app
    from hotline_server.settings import Settings

    try:
        settings = Settings.from_env(database)
        app = create_app(settings)
    except (ConfigError, NotMigrated) as exc:
        fail(str(exc))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot open the database: {_db_error(exc)}")
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False)


@main.command()
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def migrate(database: str | None) -> None:
    """Create or upgrade the database schema (safe to run again)."""
    import sqlalchemy.exc

    from hotline_server.db.migrate import upgrade
    from hotline_server.settings import resolve_database_url

    try:
        url = resolve_database_url(database)
        head = upgrade(url)
    except ConfigError as exc:
        fail(str(exc))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot migrate the database: {_db_error(exc)}")
    click.echo(f"database is at schema {head}")


@main.command("new-epoch")
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def new_epoch_command(database: str | None) -> None:
    """After restoring a backup: every desk refetches (and keeps its outbox)."""
    import sqlalchemy.exc

    from hotline_server.db.migrate import new_epoch
    from hotline_server.settings import resolve_database_url

    try:
        value = new_epoch(resolve_database_url(database))
    except ConfigError as exc:
        fail(str(exc))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot write the epoch: {_db_error(exc)}")
    click.echo(f"new epoch {value}: clients will refetch everything on their next pull")


@main.group()
def user() -> None:
    """Manage user accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "lead", "admin"]), required=True)
@click.option("--team", default=None)
@click.option("--display-name", default=None)
@click.option("--replace", is_flag=True, help="reset an existing user's password, role and team")
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def user_add(name: str, role: str, team: str | None, display_name: str | None, replace: bool,
             database: str | None) -> None:  # fmt: skip
    """Add a user; the password is read from stdin (one line)."""
    import sqlalchemy.exc

    from hotline_server.db.engine import make_engine
    from hotline_server.db.migrate import is_up_to_date
    from hotline_server.settings import resolve_database_url
    from hotline_server.users import UserError, add_user

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        engine = make_engine(resolve_database_url(database))
        try:
            if not is_up_to_date(engine):
                fail("the database is not migrated: run `hotline-server migrate` first")
            add_user(engine, name, password, role, team, display_name, replace=replace)
        finally:
            engine.dispose()
    except ConfigError as exc:
        fail(str(exc))
    except UserError as exc:
        fail(f"{exc.field}: {exc}")
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot write the user: {_db_error(exc)}")
    click.echo(f"user {name} ({role}) saved")


def _register_live() -> None:
    from hotline_server.live.cli import register_cli

    register_cli(main)


_register_live()
