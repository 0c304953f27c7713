"""``hotline-server simulate``: the live side's command on the core's click group."""

from __future__ import annotations

import os
import sys
from datetime import datetime

import click

from hotline_server.live.simulator import (
    SimConfig,
    SimulationError,
    parse_duration,
    run_simulation,
)


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command("simulate")
@click.option(
    "--server",
    default="http://127.0.0.1:8000",
    show_default=True,
    envvar="HOTLINE_SERVER",
    help="base URL of a running hotline-server",
)
@click.option(
    "--calls-per-hour",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="mean arrival rate over a day; the daily curve shapes it",
)
@click.option("--agents", type=click.IntRange(min=1, max=2000), required=True)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="simulated seconds per wall-clock second",
)
@click.option(
    "--duration", callback=_duration, default=None, help="simulated time to run, e.g. 90s, 15m, 24h"
)
@click.option(
    "--calls",
    type=click.IntRange(min=1),
    default=None,
    help="stop after this many calls were offered (and handled)",
)
@click.option(
    "--telephony-token",
    envvar="HOTLINE_TELEPHONY_TOKEN",
    default=None,
    help="the phone-system integration token [env HOTLINE_TELEPHONY_TOKEN]",
)
@click.option(
    "--agent-prefix",
    default="sim",
    show_default=True,
    help="simulated agents are PREFIX001, PREFIX002, ...",
)
@click.option(
    "--agent-password",
    envvar="HOTLINE_SIM_PASSWORD",
    default=None,
    help="their password [env HOTLINE_SIM_PASSWORD]",
)
@click.option(
    "--create-agents", is_flag=True, help="create missing simulated agents first (needs --database)"
)
@click.option(
    "--database",
    envvar="HOTLINE_DATABASE_URL",
    default=None,
    help="database URL, only for --create-agents",
)
@click.option(
    "--start-at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    default=None,
    help="simulated start (default now), e.g. 2026-03-15T00:00+0800",
)
@click.option("--flat", is_flag=True, help="a constant arrival rate (no daily curve)")
@click.option("--seed", type=int, default=12345, show_default=True)
def simulate(
    server: str,
    calls_per_hour: float,
    agents: int,
    speed: float,
    duration: float | None,
    calls: int | None,
    telephony_token: str | None,
    agent_prefix: str,
    agent_password: str | None,
    create_agents: bool,
    database: str | None,
    start_at: datetime | None,
    flat: bool,
    seed: int,
) -> None:
    """Drive a running server as a phone system and a crowd of agents would."""
    if duration is None and calls is None:
        raise click.UsageError("give --duration or --calls so the run stops by itself")
    if not telephony_token:
        raise click.UsageError(
            "the telephony token is missing (--telephony-token or HOTLINE_TELEPHONY_TOKEN)"
        )
    password = agent_password or os.environ.get("HOTLINE_SIM_PASSWORD") or "simulated-agent"
    if create_agents:
        if not database:
            raise click.UsageError("--create-agents needs --database")
        from hotline_server.live import core

        made = core.ensure_agents(
            database, [f"{agent_prefix}{i:03d}" for i in range(1, agents + 1)], password
        )
        click.echo(f"simulate: created {made} agent account(s)")
    cfg = SimConfig(
        server=server.rstrip("/"),
        calls_per_hour=calls_per_hour,
        agents=agents,
        speed=speed,
        duration_seconds=duration,
        calls=calls,
        telephony_token=telephony_token,
        agent_prefix=agent_prefix,
        agent_password=password,
        seed=seed,
        start_at=start_at,
        flat=flat,
    )
    try:
        run_simulation(cfg, out=click.echo)
    except SimulationError as exc:
        click.echo(f"simulate: {exc}", err=True)
        sys.exit(1)


def register_cli(group: click.Group) -> None:
    """Add the live commands to the core's ``hotline-server`` group."""
    group.add_command(simulate)
