"""The ``hotline-server`` command: serve, migrate, user add (passwd, disable, enable:
``hotline_server.user_cli``), simulate (live side).

Bad configuration gives one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
from typing import Any

import click

from hotline_server.settings import ConfigError

DB_HELP = "database URL [env HOTLINE_DATABASE_URL; default: SQLite in the user data dir]"


def fail(message: str, code: int = 2) -> None:
    click.echo(f"hotline-server: {message}", err=True)
    sys.exit(code)


def _db_error(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _OneLineUsage(click.UsageError):
    """A usage error shown as one line (click's own shows usage, a hint and a blank line)."""

    def __init__(self, original: click.UsageError) -> None:
        super().__init__(original.format_message(), original.ctx)

    def show(self, file: Any = None) -> None:
        command = " ".join(_command_names(self.ctx))
        where = f"hotline-server {command}".strip()
        click.echo(f"hotline-server: {self.format_message()} (see `{where} --help`)", err=True)


def _command_names(ctx: click.Context | None) -> list[str]:
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return names


class OneLineGroup(click.Group):
    """Every usage error of the command and its subcommands (which are parsed inside the
    parent's invoke) is one line on stderr, exit status 2."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            raise exc if isinstance(exc, _OneLineUsage) else _OneLineUsage(exc) from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise exc if isinstance(exc, _OneLineUsage) else _OneLineUsage(exc) from exc


@click.group(cls=OneLineGroup)
def main() -> None:
    """Central server of the 12345 hotline workstation."""


@main.command()
@click.option("--database", envvar="HOTLINE_DATABASE_URL", default=None, help=DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))  # fmt: skip
@click.option(
    "--policy",
    "policy_file",
    default=None,
    metavar="FILE",
    help="clock policy file (TOML, docs/policy.md) loaded at start [env HOTLINE_POLICY_FILE]",
)
@click.option(
    "--report-dir",
    default=None,
    metavar="DIR",
    help="write the daily report here every day [env HOTLINE_REPORT_DIR]",
)
@click.option(
    "--report-at",
    default=None,
    metavar="HH:MM",
    help="site time the daily report is written [env HOTLINE_REPORT_AT; 06:00]",
)
@click.option(
    "--report-format",
    default=None,
    metavar="csv,md",
    help="daily report files [env HOTLINE_REPORT_FORMATS; csv,md]",
)
def serve(
    database: str | None,
    host: str,
    port: int,
    log_level: str,
    policy_file: str | None,
    report_dir: str | None,
    report_at: str | None,
    report_format: str | None,
) -> None:
    """Run the HTTP server."""
    import dataclasses

    import sqlalchemy.exc
    import uvicorn

    from hotline_server.app import NotMigrated, create_app
    from hotline_server.settings import Settings, parse_report_at, parse_report_formats

    try:
        settings = Settings.from_env(database)
        chosen: dict[str, Any] = {}
        if policy_file:
            chosen["policy_file"] = policy_file
        if report_dir:
            chosen["report_dir"] = report_dir
        if report_at:
            chosen["report_at"] = parse_report_at(report_at, "--report-at")
        if report_format:
            chosen["report_formats"] = parse_report_formats(report_format, "--report-format")
        settings = dataclasses.replace(settings, **chosen)
        app = create_app(settings)
    except (ConfigError, NotMigrated) as exc:
        fail(str(exc))
    except sqlalchemy.exc.SQLAlchemyError as exc:
        fail(f"cannot open the database: {_db_error(exc)}")
    sock = listen(host, port)  # before uvicorn: a busy port is one line, not a log record
    from hotline.validators import warm_phone_rules

    warm_phone_rules()  # not in the first push's time (every create checks a phone)
    tune_gc()  # after it: the tables are frozen with the rest of start-up
    from hotline_server.logs import log_config

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, proxy_headers=False,
                            log_config=log_config())  # fmt: skip
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host  # uvicorn logs this only when it binds
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, sock.getsockname()[1]
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    if not server.started:
        sys.exit(3)


# Allocations between two collections of the youngest generation (CPython's default: 700).
# With the default and nothing frozen, the collector's runs were ~10% of the server's CPU
# per pushed ticket (``benchmarks.push_cpu``: 0.172-0.180 -> 0.144-0.158 ms with both
# settings); a push batch's objects are nearly all freed by reference counting anyway.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """The server process's garbage collector, set once before it serves: what start-up
    made is collected and then frozen (the modules, the app, the tables: never garbage, so
    no later collection walks them again), and the youngest generation is collected after
    GC_YOUNG_THRESHOLD allocations instead of 700. Reference cycles are still collected,
    just less often; memory held by them stays bounded by the threshold."""
    import gc

    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket as uvicorn would; a port in use (or a host this machine
    does not have) ends the command with one line. The bound socket goes to uvicorn, so no
    other process can take the port in between."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason = "the port is already in use (another server running?); choose --port"
        fail(f"cannot listen on {host}:{port}: {reason}")
    sock.set_inheritable(True)
    return sock


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
def policy() -> None:
    """The clock policy: holidays, surge mode, category rules (docs/policy.md)."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Check a policy file without loading it: every problem with its key and line."""
    from hotline.policy import PolicyError, parse_policy

    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}")
    try:
        site = parse_policy(text)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(f"hotline-server: {file}: {problem}", err=True)
        sys.exit(2)
    days = len(site.calendar.holidays)
    rules = len(site.escalation.categories)
    surge = "on" if site.surge else "off"
    click.echo(f"{file}: valid; surge {surge}, {rules} category rule(s), {days} holiday day(s)")


@main.group()
def user() -> None:
    """Manage user accounts."""


def _register_live() -> None:
    from hotline_server.live.cli import register_cli

    register_cli(main)


_register_live()


def _register_accounts() -> None:
    from hotline_server.user_cli import register_cli

    register_cli(user)


_register_accounts()
