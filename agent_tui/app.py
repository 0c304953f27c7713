"""The agent's desk: a Textual app with one mode per job (intake, queue, lead panel).

The app owns the session (who is signed in, the cache, the replicator) and the always-visible
state; screens ask ``self.app.desk`` for data in workers and react to messages. No business
rule lives here: validation, clocks and states come from ``hotline``, storage and sync from
``offline_cache`` (through ``agent_tui.services``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from agent_tui import imports_frozen, young_collections_held

# The desk's modules, Textual's widgets and pydantic's models: their objects kept out of the
# garbage collector's walks (see ``imports_frozen``).
with imports_frozen():
    from textual import events, work
    from textual.app import App, SystemCommand
    from textual.binding import Binding
    from textual.command import Provider
    from textual.screen import Screen
    from textual.worker import Worker, WorkerState

    from agent_tui import i18n
    from agent_tui.actions import ACTIONS, APP, BY_ID, bindings_for
    from agent_tui.config import Settings
    from agent_tui.i18n import t
    from agent_tui.keys import KeymapError, ResolvedKeymap, resolve
    from agent_tui.messages import (
        CacheChanged,
        CallOffered,
        SignedIn,
        StatusChanged,
        SyncEnded,
        SyncEvent,
        SyncStateChanged,
    )
    from agent_tui.palette import DeskCommands, translated
    from agent_tui.services import DeskServices, Unreachable
    from agent_tui.stylesheet import DeskStylesheet
    from agent_tui.textual_overrides import mounted_without_layout
    from agent_tui.theme import THEMES
    from agent_tui.widgets.incoming import IncomingCall
    from agent_tui.widgets.status_bar import DeskStatus, StatusBar
    from hotline.forms import FormDef, warm_ticket_rules
    from hotline.validators import load_phone_tables
    from offline_cache import typing_quiet

Clock = Callable[[], datetime]
# The desk's own app-wide actions (queue, knowledge base, seat, sync, sign-out...): they
# work on the cache, so not before it is open. Quitting always works.
_NEEDS_CACHE = frozenset(
    a.action.removeprefix("app.").split("(")[0] for a in ACTIONS if a.scope == APP
) - {"quit", "open_intake"}
log = logging.getLogger("agent_tui")


def system_clock() -> datetime:
    return datetime.now().astimezone()


class DeskApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "12345"
    ENABLE_COMMAND_PALETTE = True
    _held = False  # the keyring dialog or the cache stop is up: only quit works
    # finds a command by its binding id too
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {DeskCommands}
    # Where the lead panel writes its exports; None: the user's data dir at export time.
    lead_export_dir: Path | None = None

    def __init__(
        self,
        settings: Settings,
        desk: DeskServices,
        *,
        clock: Clock = system_clock,
        tick_seconds: float = 1.0,
    ) -> None:
        # the start's objects walked by the collector once it is up (young_collections_held)
        release_gc = young_collections_held()
        i18n.set_language(settings.lang)
        super().__init__()
        self._release_start_gc = release_gc
        weakref.finalize(self, release_gc)  # an app never run: its hold goes with it
        # no CSS source is in it yet: they are added when the app starts running; the
        # variables are those Textual's just got (the theme's colours worked out once)
        self.stylesheet = DeskStylesheet(variables=dict(self.stylesheet._variables))
        self.settings = settings
        self.desk = desk
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.status = DeskStatus()
        self.keymap_report: list[str] = []  # clash / unknown-id messages shown at start
        self.role = "agent"
        self._cursor = -1
        # Which replicator's reports count: bumped for each one started and at sign-out, so
        # one still finishing its round after a sign-out never reports into the next session.
        self._sync_session = 0
        self._offline_by_choice = False  # Esc at sign-in: do not ask again on every sync
        self._signed_in_as: tuple[str, str] | None = None  # (user, role) of the last sign-in
        self._lead_token: str | None = None  # the token the lead mode was built with
        self._back_to_lead = False  # the same lead signing in again returns to the panel
        self.incoming: IncomingCall | None = None  # a call offer waiting for the agent
        self._taken_calls: set[str] = set()  # offers taken (a re-sent one is not shown again)
        self._install_app_bindings()
        self.title = t("app.title")
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = settings.theme
        self.keymap = self._load_keymap()

    @property
    def ansi_theme(self) -> Any:
        """Textual's ANSI colours for the current theme, found without copying the theme
        registry: Textual's ``current_theme`` copies the registered themes (~25) twice per
        lookup, and every line of every widget drawn asks for this (~430 times in the
        desk's first frame, ~4 us each). A theme name Textual would resolve otherwise (a
        comma list, an unknown name) goes to Textual's own."""
        theme = self._registered_themes.get(self.theme)
        if theme is None:
            return super().ansi_theme
        return self.ansi_theme_dark if theme.dark else self.ansi_theme_light

    # ------------------------------------------------------------------ keys

    def _install_app_bindings(self) -> None:
        """Our app-wide actions, with ids; Textual's own ctrl+q quit (no id, so no keymap
        could move it) is replaced by ``app.quit``."""
        keys = self._bindings.key_to_bindings
        for key in list(keys):
            keys[key] = [b for b in keys[key] if not (b.action == "quit" and b.id is None)]
            if not keys[key]:
                del keys[key]
        for binding in bindings_for(APP):
            self._bindings._add_binding(binding)
        for key, found in keys.items():  # the palette's key, in the footer in our words
            keys[key] = [
                replace(b, description=t("palette.key"), tooltip=t("palette.tooltip"))
                if b.action == "command_palette"
                else b
                for b in found
            ]

    def _load_keymap(self) -> ResolvedKeymap | None:
        try:
            keymap = resolve(self.settings.keymap, self.settings.user_keymap_path)
        except KeymapError as exc:
            self.keymap_report.append(str(exc))
            return None
        for key, a, b in keymap.clashes:
            self.keymap_report.append(
                t(
                    "keys.clash",
                    key=key,
                    a=f"{a} ({BY_ID[a].description()})",
                    b=f"{b} ({BY_ID[b].description()})",
                )
            )
        if keymap.unknown_ids:
            self.keymap_report.append(t("keys.unknown", ids=", ".join(keymap.unknown_ids)))
        self.set_keymap(keymap.keys)
        return keymap

    def handle_bindings_clash(self, clashed_bindings: set[Binding], node: Any) -> None:
        """Textual found two bindings on one key in the chain: say which, never hide it."""
        ids = sorted(b.id or b.action for b in clashed_bindings)
        message = t(
            "keys.clash",
            key=", ".join(sorted({b.key for b in clashed_bindings})),
            a=ids[0],
            b=", ".join(ids[1:]) or ids[0],
        )
        if message not in self.keymap_report:
            self.keymap_report.append(message)
            self.notify(message, severity="error", timeout=30)

    def key_for(self, binding_id: str) -> str:
        keys = self.keymap.keys if self.keymap else {}
        return keys.get(binding_id, BY_ID[binding_id].key)

    # ------------------------------------------------------------------ palette

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        scope = getattr(screen, "SCOPE", None)
        for action in ACTIONS:
            if action.scope not in (APP, scope):
                continue
            if action.id == "app.lead" and self.role not in ("lead", "admin"):
                continue
            yield SystemCommand(
                action.description(),
                f"{action.id} · {self.key_for(action.id)}",
                partial(self._run_from_palette, action.action, screen),
            )
        more = getattr(screen, "palette_commands", None)  # a screen's own (the lead panel)
        if callable(more):
            yield from more()
        yield from translated(super().get_system_commands(screen))

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            placeholder = t("palette.placeholder")
            self.push_screen(CommandPalette(placeholder=placeholder, id="--command-palette"))

    def _run_from_palette(self, action: str, screen: Screen[Any]) -> None:
        self.call_later(self.run_action, action, screen)

    # ------------------------------------------------------------------ start

    def compose(self):  # type: ignore[no-untyped-def]
        yield from ()

    def call_next(self, callback: Any, *args: Any, **kwargs: Any) -> None:
        # a mode's first screen, laid out as it is shown, is not laid out again for having
        # mounted (textual_overrides.mounted_without_layout)
        super().call_next(mounted_without_layout(callback), *args, **kwargs)

    async def on_event(self, event: events.Event) -> None:
        """Every key the agent presses tells the replicator the agent is typing: a sync
        round due only to pull (another agent's change, the timer) waits until the keys
        pause, at most a few seconds (``Replicator._hold_while_typing``); a save's push never
        waits. One float stored per key, nothing posted."""
        if type(event) is events.Key and not event.is_forwarded:
            self._last_key = time.monotonic()
            self.desk.typed()
        await super().on_event(event)

    # The agent counts as typing this long after a key: the replicator's own rule, read from
    # the one module both use (it imports nothing: not the replicator, not httpx).
    TYPING_QUIET_SECONDS: ClassVar[float] = typing_quiet.TYPING_QUIET_SECONDS
    # While the agent types, the once-a-second status read waits at most this many ticks
    # since the last status read of any kind. A running replicator's rounds are held at most
    # TYPING_HOLD_MAX_SECONDS while the keys go on (past TYPING_HOLD_SECONDS, until a breath
    # of the keys), and each round's report reads the status: one tick more than that hold,
    # and the tick reads only when the replicator does not report.
    TICK_HOLD_TICKS: ClassVar[int] = int(typing_quiet.TYPING_HOLD_MAX_SECONDS) + 1
    _last_key = float("-inf")
    _ticks_held = 0

    def _typing(self) -> bool:
        return time.monotonic() - self._last_key < self.TYPING_QUIET_SECONDS

    def on_mount(self) -> None:
        from agent_tui.screens.intake import IntakeScreen

        self.add_mode("intake", IntakeScreen)
        self.add_mode("queue", _queue_screen)  # imported when the agent first opens it
        for message in self.keymap_report:
            self.notify(message, severity="error", timeout=30)
        self.switch_mode("intake")  # the form is built in its compose: typing works at once
        self.screen_change_signal.subscribe(self, self._screen_changed)  # reload what missed
        self.start_session()
        self.set_interval(self.tick_seconds, self._tick)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def start_session(self) -> None:
        """Open the cache, then sign in silently or ask; an unreachable server means offline.

        The form is up before this is done: keys typed meanwhile land in it, and what needs
        the cache (a save, a draft, a lookup) waits for it in its thread (``open_store``)."""
        try:
            if not await self._open_cache():
                return
            # Who last signed in here, from the cache, shown before anything goes to the
            # network: with the form up and focused, that is the desk ready for the agent.
            # What follows (httpx, the sign-in check, the replicator, the phone tables)
            # comes after it.
            await self._show_status_now()
            for screen in list(self.screen_stack):
                opened = getattr(screen, "cache_opened", None)
                if opened is not None:
                    opened()
            await self._screen_drawn()  # the form on screen first, then the network's share
        finally:
            self._release_start_gc()  # the desk is up (or stopped): collections as usual
        self._warm_up(tuple(self.desk.forms().values()))
        recovery = getattr(self.desk.store, "recovery", None)
        if recovery is not None:  # an unreadable cache was moved aside, never deleted
            text = recovery.message_zh if i18n.language() == "zh" else recovery.message_en
            self.notify(text, severity="warning", timeout=60)
        try:
            user = await self.desk.resume_session()
        except Unreachable:
            # We hold a token but cannot check it: work on the cache; the replicator uses the
            # token as soon as the server answers (and asks for a sign-in if it is refused).
            user = self.desk.cached_user()
            self.notify(t("signin.offline_opened"), severity="warning", timeout=10)
        else:
            if user is None:
                from agent_tui.screens.signin import SignInScreen  # not before it is needed

                result = await self.push_screen_wait(SignInScreen(self.settings.server))
                self._offline_by_choice = result is None
                user = self.desk.cached_user() if result is None else result
        if user is not None:
            self.post_message(SignedIn(user.username, user.role))
        self.start_sync()
        self.refresh_status()

    async def _show_status_now(self) -> None:
        """The status bar's figures read now (in a thread) and shown before this returns.
        A read that fails leaves it to the usual refresh (which says why): the session goes
        on to the sign-in regardless."""
        try:
            status = await asyncio.to_thread(self.desk.status, self.clock())
        except Exception:
            log.exception("the status read at start failed")
            self.refresh_status()
            return
        self._set_status(status)

    async def _screen_drawn(self) -> None:
        """Until the screen on top has processed what it was sent (its compose and mount:
        the form) and has been drawn: the sign-in check and the replicator import and run
        Python that would otherwise share the CPU with the first frame."""
        drawn = asyncio.Event()
        self.screen.call_after_refresh(drawn.set)
        await drawn.wait()

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _warm_up(self, forms: tuple[FormDef, ...]) -> None:
        """What the desk's modules leave for later, loaded once it is up (the cache open, its
        user shown, the form drawn), so that neither its start nor the agent's first digits
        or first save wait for it: the phone-number tables the first typed number needs,
        then pydantic and ``TicketFields`` a save builds (with the check of the values the
        desk's forms fix for their tickets: the server's, left out of the desk's start), and
        the cache's records a save, the queue or a ticket returns (``offline_cache.records``)."""
        load_phone_tables()
        import offline_cache.later_records  # noqa: F401

        for problem in warm_ticket_rules(forms):
            log.warning("a form fixes a value its tickets cannot take: %s", problem)

    async def _open_cache(self) -> bool:
        """The keyring's password first if it has one (asked here, never by the backend on
        the terminal Textual holds), then the cache. False: it cannot open, and the desk
        says why and what to do (the file untouched) until Ctrl+Q."""
        from offline_cache.errors import CacheError

        try:
            locked = await asyncio.to_thread(self.desk.keyring_to_unlock)
            if locked is not None:
                from agent_tui.screens.keyring import KeyringPasswordScreen

                backend, new = locked
                self._release_start_gc()  # a person answers now: no start to keep short
                self._held = True  # the password dialog is up: only quit works
                await self.push_screen_wait(KeyringPasswordScreen(backend, new=new))
            await self.desk.open_cache()
        except CacheError as exc:
            from agent_tui.screens.keyring import CacheStopScreen

            self._held = True
            log.error("the cache cannot be opened: %s", exc.message("en"))
            self.push_screen(CacheStopScreen(exc.message(i18n.language())))
            return False
        self._held = False
        self.screen.refresh_bindings()  # the desk's own keys work now: the footer shows them
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the keyring is locked or the cache cannot open, the desk's own actions
        (queue, knowledge base, seat...) have nothing to work on: only quitting is left.
        While the cache is still opening, only those wait (shown dimmed on the footer, not run:
        the footer's first frame already holds them, and the cache opening only undims them,
        where hiding them made the footer rebuild its keys and lay the whole screen out
        again); moving between fields (Tab is ``app.focus_next``) and typing work from the
        first frame."""
        if self._held and action != "quit":
            return False
        if self.desk.store is None and action in _NEEDS_CACHE:
            return None
        return super().check_action(action, parameters)

    def start_sync(self) -> None:
        """Run the replicator for the rest of the session, on a thread and event loop of its
        own: its requests, the event stream and the pulled pages never run between the
        agent's keystrokes. Its reports come back as messages (``post_message`` is
        thread-safe and does not wait), tagged with the session they belong to.

        Whether to start is decided by *this* session's replicator, not by any: a sign-out
        stops the old one after its round, and it may still be finishing that round (a pull,
        the unit directory) when the next agent has signed in. Waiting for it left the new
        agent's replicator never started, and their tickets unsent under "online"."""
        if self.desk.sync_running():
            return
        self._sync_session += 1
        session = self._sync_session
        self.desk.start_sync(
            partial(self._report_from_sync, SyncStateChanged, session),
            partial(self._report_from_sync, SyncEvent, session),
            partial(self._report_from_sync, SyncEnded, session),
        )

    def _report_from_sync(self, kind: type[Any], session: int, *payload: Any) -> None:
        """Called on the replicator's thread: hand the report to this app's loop."""
        with contextlib.suppress(RuntimeError):  # the app's loop has closed (quitting)
            self.post_message(kind(session, *payload))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background worker failed: tell the agent in words, keep the desk running."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            text = error.message(i18n.language()) if hasattr(error, "message") else str(error)
            log.error("worker %s failed", event.worker.name, exc_info=error)
            self.notify(t("worker.failed", what=event.worker.name, error=text), severity="error")

    def on_signed_in(self, message: SignedIn) -> None:
        """Someone signed in (at start, after a sign-out, or after a refused token). The lead
        mode belongs to one lead and one token: anyone else, or a new token, gets none built
        for them; only a lead gets one, made with the token they have now."""
        who = (message.username, message.role)
        back_to_lead = self._back_to_lead and who == self._signed_in_as
        self._back_to_lead = False
        if who != self._signed_in_as:
            self._drop_lead_mode()
        self._signed_in_as = who
        self.role = message.role
        self.status = DeskStatus(**{**self.status.__dict__, "user": message.username})
        self._push_status()
        if message.role in ("lead", "admin"):
            self._add_lead_mode()
            if "lead" in self._modes and (self.settings.mode == "lead" or back_to_lead):
                self.switch_mode("lead")
        else:
            self._drop_lead_mode()

    def _add_lead_mode(self) -> None:
        """The lead mode with the token held now (rebuilt when the token changed)."""
        if self.role not in ("lead", "admin"):
            return
        try:
            from agent_tui.lead import lead_mode
        except ImportError:  # the lead panel is built separately; the desk works without it
            return
        token = self.desk.token()
        if "lead" in self._modes and token != self._lead_token:
            self._drop_lead_mode()
        if "lead" not in self._modes and token:
            self.add_mode(
                "lead", lead_mode(self.settings.server, token, export_dir=self.lead_export_dir)
            )
            self._lead_token = token

    def _drop_lead_mode(self) -> None:
        """No lead panel any more: leave it for intake first (the active mode cannot be
        removed), then remove it with its screens and the token they were built with."""
        if self.current_mode == "lead":
            self.switch_mode("intake")
        if "lead" in self._modes:
            self.remove_mode("lead")
        self._lead_token = None

    # ------------------------------------------------------------------ sync + status

    # (The helpers below are not named _on_sync_*: Textual would take ``_on_sync_event`` for
    # the handler of SyncEvent, before ``on_sync_event``.)

    def on_sync_state_changed(self, message: SyncStateChanged) -> None:
        if message.session == self._sync_session:
            self._show_sync_state(message.snapshot)

    def on_sync_event(self, message: SyncEvent) -> None:
        if message.session == self._sync_session:
            self._handle_sync_event(message.kind, message.data)

    def on_sync_ended(self, message: SyncEnded) -> None:
        """The replicator's run ended by itself (it failed): say so; the outbox is kept."""
        error = message.error
        if error is None or message.session != self._sync_session:
            return
        text = error.message(i18n.language()) if hasattr(error, "message") else str(error)
        self.notify(t("worker.failed", what="sync", error=text), severity="error")
        self.refresh_status()

    # A sync round reports at least two states (syncing, then online with its time), several
    # a second while another agent pushes: each was a status read and a redraw of the bar
    # between the agent's keys. "Syncing" waits up to STATUS_SETTLE_SECONDS (a round that
    # ends sooner never flashes it); a round's end (any other state) is shown as soon as the
    # messages already queued are handled, the newest of them winning: one status read per
    # round, right after it, so a round the replicator ran in a pause of the keys is shown
    # in that pause too (a 0.25 s wait put the read into the next keys). The bar never lags
    # the replicator by more than the settle time, and its last state is always the
    # replicator's last one. A refused token is asked about at once.
    STATUS_SETTLE_SECONDS: ClassVar[float] = 0.25
    _sync_pending: tuple[int, Any] | None = None  # (session, snapshot) not yet shown
    _sync_flush: Any = None  # the timer that shows a "syncing"
    _sync_flush_queued = False  # a round's end: shown after the messages queued before it

    def _show_sync_state(self, snapshot: Any) -> None:
        """The replicator's new state (on this loop, by message): "syncing" shown within
        STATUS_SETTLE_SECONDS with the states that follow it, any other state once the
        messages queued now are handled (the newest wins)."""
        self._sync_pending = (self._sync_session, snapshot)
        state = getattr(snapshot.state, "value", snapshot.state)
        if state == "needs_sign_in":
            self._flush_sync_state()
        elif state != "syncing":
            if not self._sync_flush_queued:
                self._sync_flush_queued = True
                self.call_later(self._flush_sync_state)
        elif self._sync_flush is None:
            self._sync_flush = self.set_timer(self.STATUS_SETTLE_SECONDS, self._flush_sync_state)

    def _flush_sync_state(self) -> None:
        """The newest state reported since the last flush: reload on a pull, redraw the bar."""
        if self._sync_flush is not None:
            self._sync_flush.stop()
            self._sync_flush = None
        self._sync_flush_queued = False
        pending, self._sync_pending = self._sync_pending, None
        if pending is None or pending[0] != self._sync_session:
            return  # nothing new, or a replicator stopped at sign-out: not this session's
        snapshot = pending[1]
        if snapshot.cursor != self._cursor:
            self._cursor = snapshot.cursor
            self.post_message(CacheChanged())
        self.refresh_status()
        if getattr(snapshot.state, "value", snapshot.state) == "needs_sign_in":
            self._ask_to_sign_in_again()

    def _ask_to_sign_in_again(self) -> None:
        """The server refused the token (expired, revoked): the outbox is kept; ask once."""
        from agent_tui.screens.signin import SignInScreen

        if self._offline_by_choice or any(isinstance(s, SignInScreen) for s in self.screen_stack):
            return
        if any(w.group == "session" and w.is_running for w in self.workers):
            return
        # The panel was built with the refused token and whoever signs in next may not be
        # a lead: leave it now; the same lead signing in again comes back to it.
        was_on_lead = self.current_mode == "lead"
        self._drop_lead_mode()

        def signed_in(user: Any) -> None:
            if user is None:
                self._offline_by_choice = True
                return
            self._back_to_lead = was_on_lead
            self.post_message(SignedIn(user.username, user.role))
            self.desk.sync_now()

        self.push_screen(SignInScreen(self.settings.server, self.status.user), signed_in)

    def _handle_sync_event(self, kind: str, data: dict[str, Any]) -> None:
        """Server events that are not sync pokes: a call offered to this seat."""
        if kind == "call_offer":
            self.post_message(
                CallOffered(
                    str(data.get("caller_number") or ""),
                    str(data.get("call_id") or ""),
                    list(data.get("recent_tickets") or []),
                )
            )

    def _tick(self) -> None:
        """Every second: the screens' countdowns, and the status read. That read is a safety
        net (a change of the link, the outbox, the seat is read when it is reported); while
        the agent types with nothing unsynced (no age counting up on the bar) it waits, at
        most TICK_HOLD_TICKS ticks since the last status read of any kind (a sync round's
        report reads it too: with sync running, the tick's own read is not needed while the
        keys go on): a status read and its redraw between keys is a busy moment the keys
        wait behind."""
        now = self.clock()
        for screen in self.screen_stack:
            tick = getattr(screen, "tick", None)
            if tick is not None:
                tick(now)
        if self.status.outbox == 0 and self._ticks_held < self.TICK_HOLD_TICKS and self._typing():
            self._ticks_held += 1
            return
        self.refresh_status()

    # One status read at a time, in a thread of the loop's pool (a Textual thread worker
    # started a new thread per read, and its start waited for that thread to hold the GIL);
    # asked again while one is running: one more read after it, so the last answer shown is
    # never older than the last ask.
    _status_reading = False
    _status_again = False

    def refresh_status(self) -> None:
        """Read the status bar's figures (sqlite, in a thread); the result goes to every bar."""
        self._ticks_held = 0  # a read is coming: the tick's own waits from here
        if self._status_reading:
            self._status_again = True
            return
        self._status_reading, self._status_again = True, False
        loop = asyncio.get_running_loop()
        read = loop.run_in_executor(None, self._read_status)
        read.add_done_callback(self._status_read)

    def _read_status(self) -> DeskStatus:
        return self.desk.status(self.clock())

    def _status_read(self, read: asyncio.Future[DeskStatus]) -> None:
        self._status_reading = False
        if read.cancelled():
            return  # the loop is closing
        error = read.exception()
        if error is not None:
            # as a failed worker did: in words, and the desk keeps running
            text = error.message(i18n.language()) if hasattr(error, "message") else str(error)
            log.error("the status read failed", exc_info=error)
            self.notify(t("worker.failed", what="refresh_status", error=text), severity="error")
        else:
            self._set_status(read.result())
        if self._status_again and self.is_running:
            self.refresh_status()

    def _set_status(self, status: DeskStatus) -> None:
        if status == self.status:
            return  # the once-a-second read found nothing new: no redraw, no message
        self.status = status
        self._push_status()

    def _push_status(self) -> None:
        for screen in self.screen_stack:
            for bar in self._status_bars(screen):
                bar.status = self.status
        self.post_message(StatusChanged())

    _bars: weakref.WeakKeyDictionary[Screen[Any], list[StatusBar]] | None = None

    def _status_bars(self, screen: Screen[Any]) -> list[StatusBar]:
        """The screen's status bars, found once (a DOM query of the intake screen's ~100
        widgets cost more than redrawing the bar); again while it has none (not composed
        yet, a dialog) or one has left it."""
        if self._bars is None:
            self._bars = weakref.WeakKeyDictionary()
        bars = self._bars.get(screen)
        if not bars or not all(bar.is_attached and bar.screen is screen for bar in bars):
            bars = list(screen.query(StatusBar))
            self._bars[screen] = bars
        return bars

    def on_screen_resume(self) -> None:
        self._push_status()

    def on_call_offered(self, message: CallOffered) -> None:
        """A call rings at this seat: it waits in the incoming strip on every screen until
        the agent takes it (``app.accept_call``). Nothing else moves: not the mode, not the
        focus, not the form being typed. Only a signed-in desk shows offers (the server
        offers calls only to seats signed in and ready; this is the desk's safety net)."""
        if self._signed_in_as is None:
            log.info("call offer %s ignored: nobody is signed in", message.call_id)
            return
        if message.call_id and message.call_id in self._taken_calls:
            return  # re-sent on reconnect, already taken
        same = self.incoming is not None and self.incoming.call_id == message.call_id
        received = self.incoming.received_at if same and self.incoming else self.clock()
        self.incoming = IncomingCall(
            message.caller_number, message.call_id, received, list(message.recent_tickets)
        )
        self._show_incoming()
        if not same:
            self.notify(t("intake.call_offer", number=message.caller_number or "-"))

    def _show_incoming(self) -> None:
        for screen in self.screen_stack:
            show = getattr(screen, "show_incoming", None)
            if show is not None:
                show()

    def action_accept_call(self) -> None:
        """Take the waiting call: intake comes up; a form with typed content is kept as a
        draft first (one key away), then the call's form opens with the caller's number."""
        call = self.incoming
        if call is None:
            self.notify(t("incoming.none"), severity="warning")
            return
        if self.current_mode != "intake":
            self.switch_mode("intake")
        self.call_after_refresh(self._take_in_intake, call)

    def _take_in_intake(self, call: IncomingCall) -> None:
        # The intake screen may sit under a dialog (knowledge base, seat, restore offer):
        # the call goes to it there.
        for screen in reversed(self.screen_stack):
            take = getattr(screen, "take_call", None)
            if take is not None:
                take(call)
                return

    def call_taken(self, call: IncomingCall) -> None:
        """Intake opened the call's form (the typed one is safe): the strip empties."""
        if call.call_id:
            self._taken_calls.add(call.call_id)
        if self.incoming is not None and self.incoming.call_id == call.call_id:
            self.incoming = None
        self._show_incoming()

    # Screens of another mode (the queue while the agent types in intake) are not reloaded
    # by a change: they are not on screen. Each screen remembers which change it last saw;
    # one that comes back behind (switch of mode, a dialog closed) reloads then.
    _cache_generation = 0
    _seen_generation: weakref.WeakKeyDictionary[Screen[Any], int] | None = None

    def on_cache_changed(self, message: CacheChanged) -> None:
        self._cache_generation += 1
        self._reload_behind(self.screen_stack, changed=True)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        """A screen came up (``screen_change_signal``): reload what missed a change."""
        self._reload_behind(self.screen_stack, changed=False)

    def _reload_behind(self, screens: list[Screen[Any]], *, changed: bool) -> None:
        if self._seen_generation is None:
            self._seen_generation = weakref.WeakKeyDictionary()
        seen, now = self._seen_generation, self._cache_generation
        for screen in screens:
            reload = getattr(screen, "cache_changed", None)
            if reload is None:
                continue
            before = seen.get(screen)
            seen[screen] = now
            if changed or (before is not None and before < now):
                reload()

    # ------------------------------------------------------------------ app actions

    def action_open_intake(self) -> None:
        self.switch_mode("intake")

    def action_open_queue(self) -> None:
        self.switch_mode("queue")

    def action_open_kb(self) -> None:
        from agent_tui.screens.kb import KnowledgeBaseScreen

        self.push_screen(KnowledgeBaseScreen(), self._kb_chosen)

    def action_open_callbacks(self) -> None:
        from agent_tui.screens.callbacks import CallbacksScreen

        if not isinstance(self.screen, CallbacksScreen):
            self.push_screen(CallbacksScreen())

    def _kb_chosen(self, text: str | None) -> None:
        if not text:
            return
        insert = getattr(self.screen, "insert_answer", None)
        if insert is not None:
            insert(text)
            self.notify(t("kb.inserted"))

    def action_choose_seat(self) -> None:
        from agent_tui.screens.dialogs import ChoiceDialog

        choices = [(s, t("seat." + s)) for s in ("ready", "after_call", "break")]
        self.push_screen(ChoiceDialog(t("seat.choose"), choices), self._seat_chosen)

    def _seat_chosen(self, state: str | None) -> None:
        if state == "break":
            self.action_choose_break()
        elif state:
            self.action_seat(state)

    def action_choose_break(self) -> None:
        from agent_tui.screens.dialogs import ChoiceDialog

        reasons = [(r, t("seat.reason." + r)) for r in ("rest", "meal", "training", "meeting")]
        self.push_screen(
            ChoiceDialog(t("seat.choose_reason"), reasons),
            lambda reason: self.action_seat("break", reason) if reason else None,
        )

    def action_seat(self, state: str, reason: str | None = None) -> None:
        self._set_seat(state, reason)

    @work(thread=True, group="seat", exit_on_error=False)
    def _set_seat(self, state: str, reason: str | None) -> None:
        self.desk.set_seat(state, reason, self.clock())
        self.call_from_thread(self.notify, t("seat.changed", seat=t("seat." + state)))
        self.call_from_thread(self.refresh_status)

    def action_sync_now(self) -> None:
        self.desk.sync_now()

    def poke_sync(self) -> None:
        """After a local save: push soon (the save itself never waits for the network)."""
        self.desk.saved_locally()
        self.refresh_status()

    def action_open_lead(self) -> None:
        if self.role not in ("lead", "admin"):
            self.notify(t("lead.only"), severity="warning")
            return
        self._add_lead_mode()
        if "lead" in self._modes:
            self.switch_mode("lead")

    @work(exclusive=True, group="session", exit_on_error=False)
    async def action_sign_out(self) -> None:
        from agent_tui.screens.signin import SignInScreen

        self._drop_lead_mode()  # before anything else: nobody may see the panel signed out
        self.role = "agent"
        self._signed_in_as = None
        self._sync_session += 1  # what the old replicator still reports is not the next one's
        self.incoming = None  # a call offered to this agent is not for whoever signs in next
        self._show_incoming()
        await self.desk.sign_out()
        self.notify(t("signin.signed_out"))
        self.refresh_status()
        result = await self.push_screen_wait(SignInScreen(self.settings.server))
        if result is not None:
            self.post_message(SignedIn(result.username, result.role))
            self.start_sync()

    async def on_unmount(self) -> None:
        self._release_start_gc()
        await self.desk.close()


def _queue_screen() -> Screen[Any]:
    from agent_tui.screens.queue import QueueScreen

    return QueueScreen()


_IMPORTS_FROZEN = False


def freeze_imports() -> bool:
    """Once per process, before the first desk is built: move every object alive now (the
    modules imported so far: Textual, pydantic and the form models, ours) out of the
    garbage collector's reach (``gc.freeze``). They live as long as the process, yet every
    full collection walked all of them again: 15-60 ms of a new process's start and
    ~90 ms per collection in a test process, and the same pause later, under the agent's
    keys. Objects made after this (screens, widgets, tickets) are collected as before.
    Returns whether this call froze (False: an earlier one did)."""
    global _IMPORTS_FROZEN
    if _IMPORTS_FROZEN:
        return False
    _IMPORTS_FROZEN = True
    gc.freeze()
    return True


def build_app(settings: Settings, *, desk: DeskServices | None = None, **kwargs: Any) -> DeskApp:
    """The factory the CLI and the tests share: settings in, a ready-to-run app out."""
    freeze_imports()
    return DeskApp(settings, desk or DeskServices(settings), **kwargs)


__all__ = ["DeskApp", "build_app"]
