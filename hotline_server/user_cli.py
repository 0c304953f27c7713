"""``hotline-server user add / passwd / disable / enable``: add a user, reset a password,
stop or restore a user's sign-in. A reset and a disable revoke every token the user holds, so
the desks signed in with them are signed out at their next request (an account taken over, a
person who left).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from hotline_server.cli import DB_HELP, _db_error, fail
from hotline_server.settings import ConfigError


def _on_user(database: str | None, action: Callable[..., int], *args: object) -> int:
    """Run ``action(engine, *args)`` on a migrated database; any failure is one line."""
    import sqlalchemy.exc

    from hotline_server.db.engine import make_engine
    from hotline_server.db.migrate import is_up_to_date
    from hotline_server.settings import resolve_database_url
    from hotline_server.users import UserError

    revoked = 0
    try:
        engine = make_engine(resolve_database_url(database))
        try:
            if not is_up_to_date(engine):
                fail("the database is not migrated: run `hotline-server migrate` first")
            revoked = action(engine, *args)
        finally:
            engine.dispose()
    except ConfigError as exc:
        fail(str(exc))
    except UserError as exc:
        fail(f"{exc.field}: {exc}")
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot write the user: {_db_error(exc)}")
    return revoked


def _read_password(prompt: str) -> str:
    """Asked twice, hidden, at a terminal; otherwise one line of stdin (scripts, tests)."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@click.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["agent", "lead", "admin"]), required=True)
@click.option("--team", default=None)
@click.option("--display-name", default=None)
@click.option("--replace", is_flag=True,
              help="reset an existing user's password, role and team; signs them out")  # fmt: skip
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def user_add(name: str, role: str, team: str | None, display_name: str | None, replace: bool,
             database: str | None) -> None:  # fmt: skip
    """Add a user; the password is read from stdin (one line)."""
    from sqlalchemy.engine import Engine

    from hotline_server.users import add_user

    password = _read_password("password")

    def add(engine: Engine) -> int:
        add_user(engine, name, password, role, team, display_name, replace=replace)
        return 0

    _on_user(database, add)
    click.echo(f"user {name} ({role}) saved")


@click.command("passwd")
@click.argument("name")
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def user_passwd(name: str, database: str | None) -> None:
    """Reset a user's password (read from stdin, one line) and sign them out everywhere."""
    from hotline_server.users import set_password

    revoked = _on_user(database, set_password, name, _read_password("new password"))
    click.echo(f"password of {name} reset; {revoked} sign-in(s) revoked")


@click.command("disable")
@click.argument("name")
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def user_disable(name: str, database: str | None) -> None:
    """Stop a user signing in and revoke all their sign-ins (tickets and history stay)."""
    from hotline_server.users import set_active

    revoked = _on_user(database, set_active, name, False)
    click.echo(f"user {name} disabled; {revoked} sign-in(s) revoked")


@click.command("enable")
@click.argument("name")
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
def user_enable(name: str, database: str | None) -> None:
    """Let a disabled user sign in again (with their password)."""
    from hotline_server.users import set_active

    _on_user(database, set_active, name, True)
    click.echo(f"user {name} enabled")


def register_cli(group: click.Group) -> None:
    """Add these commands to ``hotline-server user``."""
    for command in (user_add, user_passwd, user_disable, user_enable):
        group.add_command(command)
