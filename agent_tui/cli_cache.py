"""``agent-tui status`` and ``agent-tui sync``: the offline cache from a shell or a script.

``status`` prints what the status bar shows (online?, outbox size, oldest pending change,
needs attention, cursor, epoch); ``--json`` for scripts. ``sync --once`` pushes and pulls once
and exits with a code scripts can use:

====  ==========================================================================
0     everything pushed and pulled, nothing waiting for the agent
3     offline: the server could not be reached (or failed); the outbox is kept
4     needs sign-in: no token, or the server refused it (401); the outbox is kept
5     synced, but some changes were rejected and wait for the agent ("needs attention")
6     the cache cannot be opened: no usable keyring, or the disk refused
====  ==========================================================================

(2 is click's own code for a wrong command line.) Without ``--once``, ``sync`` keeps
replicating and prints each state change until Ctrl-C.

Settings (server, profile, language) come from the ``agent-tui`` group (config file <
environment < options); ``--server``/``--profile`` here override them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

EXIT_OK = 0
EXIT_OFFLINE = 3
EXIT_NEEDS_SIGN_IN = 4
EXIT_REJECTED = 5
EXIT_CACHE = 6

_TEXT = {
    "zh": {
        "profile": "配置",
        "server": "服务器",
        "cache": "缓存文件",
        "client": "本机编号",
        "user": "登录用户",
        "signed_in": "已登录",
        "not_signed_in": "未登录",
        "link": "连接",
        "online": "在线",
        "offline": "离线",
        "outbox": "待同步",
        "oldest": "最早未同步",
        "attention": "需处理",
        "cursor": "同步位置",
        "epoch": "服务器纪元",
        "last_pull": "上次下载",
        "last_push": "上次上传",
        "never": "从未",
        "recovered": "注意",
        "done": "同步完成：全部上传并下载。",
        "rejected": "同步完成，但有 {n} 项修改被服务器拒绝，需要处理。",
        "offline_msg": "无法连接服务器，修改仍保存在本机：{error}",
        "sign_in": "需要登录：请运行 agent-tui login（本机修改不会丢失）。",
        "cache_msg": "本机缓存无法写入（只读或磁盘已满），修改仍保存在本机，稍后重试：{error}",
        "wrong_user": (
            "本机缓存属于首次从这里同步的用户，当前登录的是其他用户：请以该用户登录，"
            "或用自己的配置（--profile）。本机修改不会丢失。"
        ),
        "ago": "{age} 前",
    },
    "en": {
        "profile": "profile",
        "server": "server",
        "cache": "cache file",
        "client": "client id",
        "user": "user",
        "signed_in": "signed in",
        "not_signed_in": "not signed in",
        "link": "link",
        "online": "online",
        "offline": "offline",
        "outbox": "outbox",
        "oldest": "oldest pending",
        "attention": "needs attention",
        "cursor": "cursor",
        "epoch": "server epoch",
        "last_pull": "last pull",
        "last_push": "last push",
        "never": "never",
        "recovered": "note",
        "done": "Synced: everything pushed and pulled.",
        "rejected": "Synced, but {n} change(s) were rejected and need attention.",
        "offline_msg": "Cannot reach the server; changes stay on this laptop: {error}",
        "sign_in": "Sign-in needed: run agent-tui login (nothing saved here is lost).",
        "cache_msg": (
            "The local cache cannot be written (read-only or full disk); your changes are"
            " still in it, retry later: {error}"
        ),
        "wrong_user": (
            "This cache syncs as the user who first synced from it, and another user is"
            " signed in: sign in as that user, or use a profile of your own (--profile)."
            " Nothing saved here is lost."
        ),
        "ago": "{age} ago",
    },
}


def _settings(ctx: click.Context, server: str | None, profile: str | None) -> tuple[str, str, str]:
    """(server, profile, lang) from the group's settings, overridden by this command."""
    obj = ctx.find_root().obj
    group = obj.get("settings") if isinstance(obj, dict) else None
    settings = group
    if settings is None or (profile and profile != getattr(settings, "profile", None)):
        from agent_tui.config import ConfigError, load_settings

        try:
            settings = load_settings(profile)
        except (ConfigError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
    lang = str(getattr(group or settings, "lang", "zh"))
    url = server or settings.server
    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{url!r} must start with http:// or https://", param_hint="--server"
        )
    return url.rstrip("/"), profile or settings.profile, lang if lang in _TEXT else "zh"


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


def _open(profile: str, lang: str) -> Any:
    from offline_cache import CacheError, open_cache

    try:
        store = open_cache(profile)
    except CacheError as exc:
        click.echo(exc.message(lang), err=True)
        sys.exit(EXIT_CACHE)
    if store.recovery is not None:
        message = store.recovery.message_en if lang == "en" else store.recovery.message_zh
        click.echo(f"{_TEXT[lang]['recovered']}: {message}", err=True)
    return store


def _token(profile: str, server: str) -> str | None:
    from offline_cache import load_token

    return load_token(profile, server)


def _probe(server: str) -> bool:
    import httpx

    try:
        return httpx.get(server + "/healthz", timeout=3.0).status_code == 200
    except httpx.HTTPError:
        return False


@click.command()
@click.option("--profile", help="Profile whose cache to read (default: the group's)")
@click.option("--server", help="Server base URL (default: from config)")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option("--no-probe", is_flag=True, help="Do not contact the server (link: unknown)")
@click.pass_context
def status(
    ctx: click.Context, profile: str | None, server: str | None, as_json: bool, no_probe: bool
) -> None:
    """Online?, outbox size, oldest unsynced change, needs attention, cursor."""
    url, prof, lang = _settings(ctx, server, profile)
    text = _TEXT[lang]
    store = _open(prof, lang)
    try:
        stats = store.outbox_stats()
        meta = store.sync_meta()
        path = str(store.path)
    finally:
        store.close()
    try:
        signed_in = _token(prof, url) is not None
    except Exception:
        signed_in = False
    online = None if no_probe else _probe(url)
    now = datetime.now(UTC)
    age = (
        max(0.0, (now - stats.oldest_client_time).total_seconds())
        if stats.oldest_client_time
        else None
    )
    data = {
        "profile": prof,
        "server": url,
        "cache": path,
        "client_id": meta.client_id,
        "user": meta.user,
        "signed_in": signed_in,
        "online": online,
        "outbox": stats.size,
        "oldest_pending": stats.oldest_client_time.isoformat()
        if stats.oldest_client_time
        else None,
        "oldest_pending_seconds": age,
        "needs_attention": stats.needs_attention,
        "cursor": meta.cursor,
        "epoch": meta.epoch,
        "last_pull": meta.last_pull_at.isoformat() if meta.last_pull_at else None,
        "last_push": meta.last_push_at.isoformat() if meta.last_push_at else None,
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    link = "?" if online is None else (text["online"] if online else text["offline"])
    rows = [
        (text["profile"], prof),
        (text["server"], url),
        (text["cache"], path),
        (text["client"], meta.client_id),
        (
            text["user"],
            f"{meta.user or '-'} ({text['signed_in' if signed_in else 'not_signed_in']})",
        ),
        (text["link"], link),
        (text["outbox"], str(stats.size)),
        (text["oldest"], text["ago"].format(age=_age(age)) if age is not None else "-"),
        (text["attention"], str(stats.needs_attention)),
        (text["cursor"], str(meta.cursor)),
        (text["epoch"], meta.epoch or "-"),
        (text["last_pull"], meta.last_pull_at.isoformat() if meta.last_pull_at else text["never"]),
        (text["last_push"], meta.last_push_at.isoformat() if meta.last_push_at else text["never"]),
    ]
    from rich.cells import cell_len

    width = max(cell_len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key}{' ' * (width - cell_len(key))}  {value}")


@click.command()
@click.option("--profile", help="Profile whose cache to sync (default: the group's)")
@click.option("--server", help="Server base URL (default: from config)")
@click.option("--once", is_flag=True, help="Push and pull once, then exit with a status code")
@click.option("--timeout", default=15.0, show_default=True, help="Seconds per request")
@click.pass_context
def sync(
    ctx: click.Context, profile: str | None, server: str | None, once: bool, timeout: float
) -> None:
    """Push the outbox and pull changes. Exit codes: 0 done, 3 offline, 4 needs sign-in
    (also: as the cache's own user), 5 rejected changes need attention, 6 cache cannot be
    opened."""
    from offline_cache import Replicator, SyncOutcome

    url, prof, lang = _settings(ctx, server, profile)
    text = _TEXT[lang]
    store = _open(prof, lang)
    try:
        try:
            token = _token(prof, url)
        except Exception as exc:
            message = exc.message(lang) if hasattr(exc, "message") else str(exc)
            click.echo(message, err=True)
            sys.exit(EXIT_CACHE)

        def show(snap: Any) -> None:
            click.echo(
                f"{snap.state.value}  {text['outbox']} {snap.outbox_size}"
                f"  {text['attention']} {snap.needs_attention}"
                + (f"  ({snap.last_error})" if snap.last_error else "")
            )

        rep = Replicator(
            store,
            url,
            token=token,
            request_timeout=timeout,
            listen=not once,
            on_state=None if once else show,
        )

        async def once_() -> SyncOutcome:
            try:
                return await rep.sync_once()
            finally:
                await rep.aclose()

        if not once:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(rep.run())
            return
        outcome = SyncOutcome.NEEDS_SIGN_IN if token is None else asyncio.run(once_())
        snap = rep.snapshot()
    finally:
        store.close()
    if outcome == SyncOutcome.DONE:
        click.echo(text["done"])
        sys.exit(EXIT_OK)
    if outcome == SyncOutcome.REJECTED:
        click.echo(text["rejected"].format(n=snap.needs_attention), err=True)
        sys.exit(EXIT_REJECTED)
    if outcome == SyncOutcome.NEEDS_SIGN_IN:
        click.echo(text["sign_in"], err=True)
        sys.exit(EXIT_NEEDS_SIGN_IN)
    if outcome == SyncOutcome.WRONG_USER:
        click.echo(text["wrong_user"], err=True)
        sys.exit(EXIT_NEEDS_SIGN_IN)
    if outcome == SyncOutcome.CACHE_ERROR:
        click.echo(text["cache_msg"].format(error=snap.last_error or "-"), err=True)
        sys.exit(EXIT_CACHE)
    click.echo(text["offline_msg"].format(error=snap.last_error or "-"), err=True)
    sys.exit(EXIT_OFFLINE)
