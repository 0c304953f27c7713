"""``agent-tui``: the desk (no subcommand) and its helpers (login, logout, keys, locate, ...).

Settings come from ``agent_tui.config`` (file < environment < these options); the app is
built by ``agent_tui.app.build_app`` so tests and this command make it the same way.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from concurrent.futures import Future
from typing import Any

import click

from agent_tui import i18n
from agent_tui.config import ConfigError, Settings, load_settings
from agent_tui.i18n import t


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings


@click.group(invoke_without_command=True)
@click.option("--server", help="Server base URL, e.g. http://127.0.0.1:8000")
@click.option("--keymap", help="Keymap name (default, function-keys) or a .toml path")
@click.option("--lang", type=click.Choice(["zh", "en"]), help="UI language (default zh)")
@click.option("--profile", help="Profile: its own config section, cache and token")
@click.option(
    "--mode", type=click.Choice(["agent", "lead"]), help="Open the desk or the lead panel"
)
@click.option("--theme", type=click.Choice(["desk", "desk-high-contrast"]), help="Colour theme")
@click.pass_context
def main(
    ctx: click.Context,
    server: str | None,
    keymap: str | None,
    lang: str | None,
    profile: str | None,
    mode: str | None,
    theme: str | None,
) -> None:
    """12345 hotline agent desk. Without a command, opens the desk."""
    keyring_found = _find_keyring() if ctx.invoked_subcommand is None else None
    try:
        settings = load_settings(profile).with_overrides(
            server=server, keymap=keymap, lang=lang, mode=mode, theme=theme
        )
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    i18n.set_language(settings.lang)
    ctx.obj = {"settings": settings}
    if ctx.invoked_subcommand is None:
        from agent_tui.app import build_app
        from offline_cache import KeyringUnavailable

        assert keyring_found is not None
        try:  # say it before the screen opens: without a keyring there is no cache key
            keyring_found.result()
        except KeyringUnavailable as exc:
            raise click.ClickException(exc.message(settings.lang)) from exc
        build_app(settings).run()


def _find_keyring() -> Future[Any]:
    """``usable_keyring()`` started on a thread of its own, for the desk to wait for once its
    modules are imported. keyring chooses its backend on first use: with neither
    ``PYTHON_KEYRING_BACKEND`` nor a keyring config file (as for most users) it reads the
    entry points of every installed distribution and asks each backend whether it works,
    ~50-60 ms on top of its ~15 ms import, which the desk paid before its own ~300 ms of
    imports; here the two overlap (the scan is mostly file reads). The same call, so the same
    backend and the same refusal; the thread is a daemon, so an interrupt does not wait."""
    found: Future[Any] = Future()

    def run() -> None:
        try:
            from offline_cache.keys import usable_keyring

            found.set_result(usable_keyring())
        except BaseException as exc:  # handed to the waiting thread as it is
            found.set_exception(exc)

    threading.Thread(target=run, name="keyring-find", daemon=True).start()
    return found


@main.command()
@click.option("--username", prompt=True)
@click.option("--password", prompt=True, hide_input=True)
@click.pass_context
def login(ctx: click.Context, username: str, password: str) -> None:
    """Sign in and keep the token in the OS keyring (never in a file)."""
    from agent_tui.services import DeskServices, SignInFailed, Unreachable

    desk = DeskServices(_settings(ctx))

    async def run() -> str:
        await desk.open_cache()
        try:
            user = await desk.sign_in(username, password)
        finally:
            await desk.close()
        return user.username

    try:
        name = asyncio.run(run())
    except Unreachable as exc:
        raise click.ClickException(t("signin.unreachable") + f" ({exc})") from exc
    except SignInFailed as exc:
        raise click.ClickException(t("signin.failed", reason=str(exc))) from exc
    except Exception as exc:  # keyring missing, cache unreadable: their messages are readable
        message = exc.message(i18n.language()) if hasattr(exc, "message") else str(exc)
        raise click.ClickException(message) from exc
    click.echo(t("signin.ok", user=name))


@main.command()
@click.option("--all", "everywhere", is_flag=True,
              help="Sign out on every desk: the server revokes all your tokens")  # fmt: skip
@click.pass_context
def logout(ctx: click.Context, everywhere: bool) -> None:
    """Sign out: the server revokes the token and keyring forgets it."""
    from agent_tui.services import DeskServices
    from offline_cache import CacheError

    if everywhere:
        _logout_everywhere(_settings(ctx))
        return
    desk = DeskServices(_settings(ctx))
    try:
        asyncio.run(desk.sign_out())
    except CacheError as exc:  # no usable keyring: the same message the desk gives
        raise click.ClickException(exc.message(i18n.language())) from exc
    click.echo(t("signin.signed_out"))


def _logout_everywhere(settings: Settings) -> None:
    from agent_tui.services import DeskServices, NotSignedIn, SignInFailed, Unreachable
    from offline_cache.errors import CacheError

    desk = DeskServices(settings)
    try:
        asyncio.run(desk.sign_out_everywhere())
    except NotSignedIn as exc:
        raise click.ClickException(t("signin.all_needs_sign_in")) from exc
    except (Unreachable, SignInFailed) as exc:
        raise click.ClickException(t("signin.all_failed", reason=str(exc))) from exc
    except CacheError as exc:  # no keyring: its message says what to install
        raise click.ClickException(exc.message(i18n.language())) from exc
    click.echo(t("signin.signed_out_all"))


@main.command()
@click.pass_context
def keys(ctx: click.Context) -> None:
    """List every binding id, its key and what it does (after keymap and user overrides)."""
    from agent_tui.keys import KeymapError, listing, resolve

    settings = _settings(ctx)
    try:
        keymap = resolve(settings.keymap, settings.user_keymap_path)
    except KeymapError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = listing(keymap)
    id_width = max(len(r[0]) for r in rows)
    key_width = max(len(r[1]) for r in rows)
    click.echo(f"# keymap: {', '.join(str(p) for p in keymap.sources)}")
    for binding_id, key, what in rows:
        click.echo(f"{binding_id:<{id_width}}  {key:<{key_width}}  {what}")
    for key, a, b in keymap.clashes:
        click.echo(t("keys.clash", key=key, a=a, b=b), err=True)
    if keymap.unknown_ids:
        click.echo(t("keys.unknown", ids=", ".join(keymap.unknown_ids)), err=True)
    if keymap.clashes:
        sys.exit(1)


@main.command()
@click.pass_context
def locate(ctx: click.Context) -> None:
    """Print where config, data (the cache), logs and the keymap file live."""
    from offline_cache.locations import locations

    settings = _settings(ctx)
    where = locations()
    click.echo(f"config   {where.config_file}")
    click.echo(f"keymap   {settings.user_keymap_path}")
    click.echo(f"data     {where.data_dir}")
    click.echo(f"cache    {where.cache_path(settings.profile)}")
    click.echo(f"log      {where.log_dir}")


@main.command()
@click.option("--as", "role", type=click.Choice(["agent", "lead"]), default="agent")
@click.option("--keep", is_flag=True, help="Keep the demo database for another look")
@click.option("--cut-link", is_flag=True, help="Cut the link of the running demo for a while")
@click.option("--seconds", type=click.FloatRange(1, 3600), default=60.0, show_default=True)
@click.pass_context
def demo(ctx: click.Context, role: str, keep: bool, cut_link: bool, seconds: float) -> None:
    """Embedded server, demo users, articles, tickets and simulated calls, then the desk."""
    from agent_tui.demo.embedded import DemoError

    if cut_link:
        from agent_tui.demo.world import cut_running_demo_link

        try:
            cut_running_demo_link(seconds)
        except DemoError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(t("demo.link_cut", seconds=f"{seconds:.0f}"))
        return
    from agent_tui.demo.run import run_demo

    settings = _settings(ctx)
    sys.exit(run_demo(role=role, keep=keep, lang=settings.lang, settings_template=settings))


def _add_cache_commands() -> None:
    """``status`` and ``sync`` are the cache's commands (agent_tui/cli_cache.py)."""
    try:
        from agent_tui import cli_cache  # type: ignore[attr-defined]
    except ImportError:
        return
    for name in ("status", "sync"):
        command = getattr(cli_cache, name, None)
        if isinstance(command, click.Command):
            main.add_command(command, name)


_add_cache_commands()
