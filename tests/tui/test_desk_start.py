"""The desk's start: what it imports, and keys typed before it is all there.

- ``agent-tui`` (the desk, not the demo) run in a fresh interpreter imports nothing of the
  server (FastAPI, SQLAlchemy, uvicorn, alembic), nor the lead panel or its charts, by the
  time the agent can type, nor once the desk is signed in and syncing; importing the desk's
  modules does not import the phone-number tables (loaded after the first frame); the
  command has frozen its imports' objects out of the garbage collector's walks by then, and
  ``agent_tui.app`` imports its tree with the collector paused (then frozen); opening the
  cache does not build the wire protocol's models (``hotline.wire_names`` is enough);
- pydantic is not imported before the desk's first frame is drawn (the forms are read and
  checked, and the form's per-key checks run, without it); the desk warms it up after;
- keys an agent types the moment the form shows, while the cache is still opening, land in
  the form and stay there once the cache is open; a ticket typed and saved (its key pressed)
  before the cache is open is in the cache once it opens;
- a theme switched in a running desk recolours it (the desk keeps its parsed CSS while the
  theme's colours stay the same, and parses it again when they change).
"""

from __future__ import annotations

import gc
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.color import Color
from textual.keys import _character_to_key

import agent_tui.app as desk_app
from agent_tui.app import build_app
from agent_tui.config import Settings
from agent_tui.screens import intake as intake_module
from agent_tui.screens.intake import IntakeScreen
from agent_tui.services import DeskServices
from offline_cache import KeyringKeyProvider, save_token
from tests.support.child import run_python
from tests.support.server import RunningServer
from tests.tui.conftest import run_in_thread, sign_in, until

NOT_FOR_THE_DESK = (
    "fastapi",
    "sqlalchemy",
    "uvicorn",
    "alembic",
    "textual_plotext",
    "plotext",
    "agent_tui.lead",
    "hotline_server",
)

# What keyring's import brings in and reading the token or the cache key from a named backend
# never runs (offline_cache.deferred_imports): not run before the desk is interactive.
KEYRING_UNUSED = (
    "urllib.request",
    "http.client",
    "email",
    "importlib_metadata",
    "more_itertools",
    "configparser",
)

# Runs in the child: ``agent-tui --server URL`` through its own entry point (click's
# ``main``); the one change is that Textual runs headless (no terminal here) with a pilot
# that waits, bounded, for the desk to be interactive, then for the replicator's link, and
# writes what ``sys.modules`` held at each point.
CHILD = r"""
import asyncio, gc, json, sys, threading, time
from textual.app import App

OUT = sys.argv[1]
KEYRING_UNUSED = KEYRING_UNUSED_HERE
seen = {}
real_run = App.run
drawn = []

class FirstPydantic:  # where pydantic is first imported: before the first frame was drawn?
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic" and "pydantic" not in seen:
            seen["pydantic"] = {"drawn": bool(drawn), "thread": threading.current_thread().name}
        return None

sys.meta_path.insert(0, FirstPydantic())
import agent_tui.app as desk_app
seen["threshold_before"] = gc.get_threshold()
collections = []  # the collector's collections, by generation

def note_collection(phase, info):
    if phase == "start":
        collections.append(info["generation"])

gc.callbacks.append(note_collection)
real_init = desk_app.DeskApp.__init__

def init_then_noted(self, *args, **kwargs):
    seen["collections_before_app"] = len(collections)
    real_init(self, *args, **kwargs)

desk_app.DeskApp.__init__ = init_then_noted
real_drawn = desk_app.DeskApp._screen_drawn

async def drawn_then_noted(self):
    await real_drawn(self)
    drawn.append(1)

desk_app.DeskApp._screen_drawn = drawn_then_noted
real_status_now = desk_app.DeskApp._show_status_now

async def status_then_noted(self):  # the cached user shown: with the form up, interactive
    await real_status_now(self)
    seen.setdefault("ran_at_user_shown", sorted(  # in sys.modules with their code run
        m for m in KEYRING_UNUSED if type(sys.modules.get(m)).__name__ == "module"
    ))
    seen.setdefault("signin_at_user_shown", "agent_tui.screens.signin" in sys.modules)
    seen.setdefault("collections_to_user_shown", len(collections) - seen["collections_before_app"])
    records = vars(sys.modules["offline_cache.records"])
    seen.setdefault("records_at_user_shown", sorted(  # the cache's record classes made
        name for name, value in records.items() if hasattr(value, "__dataclass_fields__")
    ))

desk_app.DeskApp._show_status_now = status_then_noted

def interactive(app):
    from agent_tui.screens.intake import IntakeScreen
    focused = app.focused
    return (
        bool(app.screen_stack)
        and isinstance(app.screen, IntakeScreen)
        and app.screen.form is not None
        and focused is not None
        and str(focused.id or "").startswith("f-")
        and app.status.user == "agent1"
    )

async def until(check, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return False

async def watch(pilot):
    app = pilot.app
    seen["interactive"] = await until(lambda: interactive(app))
    seen["at_interactive"] = sorted(sys.modules)
    seen["frozen"] = gc.get_freeze_count()
    seen["online"] = await until(lambda: app.status.link == "online")
    seen["at_online"] = sorted(sys.modules)
    seen["threshold_online"] = gc.get_threshold()
    with open(OUT, "w") as f:
        json.dump(seen, f)
    app.exit()

def headless_run(self, *args, **kwargs):
    kwargs.update(headless=True, size=(120, 40), auto_pilot=watch)
    return real_run(self, *args, **kwargs)

App.run = headless_run
from agent_tui.cli import main
main(["--server", sys.argv[2]], standalone_mode=False)
""".replace("KEYRING_UNUSED_HERE", repr(KEYRING_UNUSED))


def test_the_desk_imports_nothing_of_the_server_or_the_lead_panel(
    server: RunningServer, tmp_path: Path
) -> None:
    import keyring

    from tests.support.keyring_backend import FileKeyring

    # the child's keyring is the tests' file backend (tests/conftest.py): the token goes there
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    try:
        save_token("default", server.url, _token(server.url))
    finally:
        keyring.set_keyring(previous)
    out = tmp_path / "modules.json"
    run_python(CHILD, str(out), server.url, timeout=180)
    seen: dict[str, Any] = json.loads(out.read_text("utf-8"))
    assert seen["interactive"], "the desk never became interactive"
    assert seen["online"], "the desk never synced"
    for moment in ("at_interactive", "at_online"):
        loaded = set(seen[moment])
        wrong = sorted(
            m for m in loaded if any(m == p or m.startswith(p + ".") for p in NOT_FOR_THE_DESK)
        )
        assert not wrong, f"{moment}: the desk imported {wrong[:12]}"
    assert "agent_tui.screens.intake" in seen["at_interactive"]  # the child ran the real desk
    # keyring's unused modules not run before the cached user is shown (httpx runs
    # urllib.request's code later, for the sign-in check)
    assert seen["ran_at_user_shown"] == [], seen["ran_at_user_shown"]
    # the cache's records made by then: those the start returns, not the queue's, a save's, a
    # ticket's (~0.8 ms each; the warm-up makes them once the form is drawn)
    assert seen["records_at_user_shown"] == ["Draft", "OutboxStats", "Recovery", "SyncMeta"]
    # the sign-in screen's module: imported only for an agent who has to sign in
    assert not seen["signin_at_user_shown"]
    # pydantic (the ticket model a save builds, the protocol) first imported once the first
    # frame was drawn: by the warm-up, the sign-in check or the replicator
    assert seen["pydantic"]["drawn"], seen["pydantic"]
    # the command froze its imports' objects out of the collector's walks (agent_tui.app)
    assert seen["frozen"] > 10_000, seen["frozen"]
    # from the app object to its cached user shown, no collection walked what the start made
    # (~60 young and middle ones did), and the collector's thresholds are back once the
    # desk is up
    assert seen["collections_to_user_shown"] == 0, seen["collections_to_user_shown"]
    assert seen["threshold_online"] == seen["threshold_before"], seen["threshold_online"]


# Imported by the desk's modules or the cache it opens, they would be paid before its first
# frame and its cached user shown; they are loaded when first needed instead (phonenumbers:
# in a thread once the form is up; httpx: by the sign-in check after the first frame; the
# protocol's models: by the replicator, or the first save, once the desk is up; pydantic: by
# the warm-up after the first frame, the replicator or the first save).
NOT_BEFORE_THE_FIRST_FRAME = ("phonenumbers", "httpx", "hotline.protocol", "pydantic")


def test_the_desk_modules_leave_the_phone_tables_for_later() -> None:
    code = (
        "import sys, agent_tui.cli, agent_tui.app, agent_tui.screens.intake\n"
        "import offline_cache.keyring_unlock, offline_cache.store\n"
        f"print(sorted(m for m in {NOT_BEFORE_THE_FIRST_FRAME!r} if m in sys.modules))"
    )
    imported = run_python(code).strip()
    assert imported == "[]", f"imported with the desk: {imported}"


def test_the_desk_reads_its_forms_and_checks_keys_without_pydantic() -> None:
    """What the desk does with its forms before and just after its first frame -- read the
    shipped ones (as it does at start), build the form, check answers as keys come in --
    imports no pydantic: a key's check never waits for it (it is warmed up after the frame;
    a save builds ``TicketFields``)."""
    code = (
        "import sys, agent_tui.app, agent_tui.screens.intake\n"
        "from agent_tui.widgets.form_factory import field_specs\n"
        "from hotline.forms import is_red, load_shipped_forms, validate_values, visible_fields\n"
        "forms = load_shipped_forms(ticket_values=False)\n"
        "answers = {'kind': 'help', 'phone': '1381234567', 'caller_name': 'x' * 80,\n"
        "           'district': '浦东', 'urgent_subcategory': 'rabies_vaccine',\n"
        "           'bite_time': 'yesterday', 'account': '积水', 'urgent': 'yes'}\n"
        "problems = 0\n"
        "for form in forms.values():\n"
        "    field_specs(form)\n"
        "    for n in range(1, len(answers) + 1):\n"
        "        typed = dict(list(answers.items())[:n])\n"
        "        visible_fields(form, typed); is_red(form, typed)\n"
        "        problems += len(validate_values(form, typed, disposition='on_spot'))\n"
        "print(problems > 0, 'pydantic' in sys.modules)"
    )
    assert run_python(code).split() == ["True", "False"]


def test_the_desk_leaves_pydantic_plugins_unloaded_unless_told_otherwise() -> None:
    """Pydantic's plugin search reads every installed distribution's entry points before
    the desk's first form model: the desk turns it off, and keeps a value set by whoever
    runs it (an empty one: plugins loaded)."""
    code = (
        "import os, agent_tui.app\n"
        "from pydantic.plugin._loader import get_plugins\n"
        "print(repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')), list(get_plugins()))"
    )
    for given, expected in ((None, "'__all__' []"), ("", "'' []")):
        env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
        if given is not None:
            env["PYDANTIC_DISABLE_PLUGINS"] = given
        assert run_python(code, env=env).strip() == expected


def test_imports_are_frozen_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Frozen before the first desk is built, not again for a second one (that would keep
    the first desk's garbage for good)."""
    froze: list[int] = []
    monkeypatch.setattr(desk_app, "_IMPORTS_FROZEN", False)
    monkeypatch.setattr(gc, "freeze", lambda: froze.append(1))
    first = desk_app.build_app(Settings(server="http://127.0.0.1:9"))
    second = desk_app.build_app(Settings(server="http://127.0.0.1:9"))
    assert first is not second
    assert froze == [1]
    assert desk_app.freeze_imports() is False


def test_the_desk_modules_are_imported_without_collections_then_frozen() -> None:
    """``agent_tui.app`` imports its tree with the collector paused and freezes what it made
    before resuming it; a collector the caller paused stays paused (and nothing frozen)."""
    code = (
        "import gc, sys\n"
        # what agent_tui.app imports before its paused block (the standard library's share)
        "import asyncio, contextlib, logging, weakref, dataclasses, functools, pathlib\n"
        "counts = []\n"
        "gc.callbacks.append(lambda phase, info: counts.append(1) if phase == 'start' else 0)\n"
        "paused = sys.argv[1] == 'paused'\n"
        "if paused: gc.disable()\n"
        "import agent_tui.app\n"
        "print(gc.isenabled(), len(counts), gc.get_freeze_count() > 10_000)\n"
    )
    seen = {}
    for how in ("running", "paused"):
        seen[how] = run_python(code, how).split()
    enabled, collections, frozen = seen["running"]
    assert (enabled, frozen) == ("True", "True")
    assert int(collections) < 10  # 88 over the same imports before the block paused them
    assert seen["paused"] == ["False", "0", "False"]


def test_the_wire_names_are_the_protocols_own() -> None:
    """What the cache imports from ``hotline.wire_names`` is what the protocol's models and
    the server use: the same classes, not copies."""
    from hotline import protocol, wire_names

    for name in ("MutationName", "MutationOutcome", "Entity", "SCHEMA_VERSION"):
        assert getattr(protocol, name) is getattr(wire_names, name)
    assert protocol.MUTATION_ARGS.keys() == set(wire_names.MutationName)


def _token(url: str) -> str:
    import httpx

    response = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": "agent1", "password": "pw-agent1"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


class GatedKey(KeyringKeyProvider):
    """The keyring's cache key, handed out only once the test opens the gate: the cache
    stays closed, for as long as the test needs, exactly as on a slow disk or keyring."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def get_key(self, profile: str, *, create: bool = True) -> bytes | None:
        self.gate.wait(30)
        return super().get_key(profile, create=create)


def burst(app: Any, keys: list[str]) -> None:
    """Every key queued at once, as a terminal delivers fast typing."""
    for key in keys:
        char = key if len(key) == 1 else None
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)


NAME = "欧阳小红"
PHONE = "13812340001"


async def test_keys_typed_while_the_cache_opens_land_in_the_form(server: RunningServer) -> None:
    settings = Settings(server=server.url)
    first = build_app(settings, desk=DeskServices(settings))
    async with first.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)  # the next start signs in silently, with the kept token
    gated = GatedKey()
    desk = DeskServices(settings, key_provider=gated)
    app = build_app(settings, desk=desk)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, IntakeScreen)
            assert app.desk.store is None  # the cache is still opening
            # the agent starts typing at once: 类型 has the focus, tab to the name, the phone
            burst(app, ["tab", *NAME, "tab", *PHONE])
            await until(pilot, lambda: screen.values().get("phone") == PHONE, "the phone typed")
            assert app.desk.store is None  # all of it typed before the cache was open
            gated.gate.set()
            await until(pilot, lambda: app.status.user == "agent1", "the silent sign-in")
            await until(pilot, lambda: app.status.link == "online", "the link")
            await pilot.pause(0.3)
            values = screen.values()
            assert values["caller_name"] == NAME
            assert values["phone"] == PHONE
            assert app.screen is screen  # no dialog took the keys
    finally:
        gated.gate.set()


ACCOUNT = "楼道灯坏了一周"
ANSWER = "已告知物业今天修好"


async def test_a_ticket_typed_and_saved_before_the_cache_opens_is_in_the_cache(
    server: RunningServer,
) -> None:
    settings = Settings(server=server.url)
    first = build_app(settings, desk=DeskServices(settings))
    async with first.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)  # the next start signs in silently, with the kept token
    gated = GatedKey()
    app = build_app(settings, desk=DeskServices(settings, key_provider=gated))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, IntakeScreen)
            burst(app, ["tab", *NAME, "tab", *PHONE])
            await until(pilot, lambda: screen.values().get("phone") == PHONE, "the phone typed")
            for field, text in (("account", ACCOUNT), ("answer", ANSWER)):
                screen.query_one(f"#f-{field}").focus()
                burst(app, list(text))
                await until(pilot, lambda f=field, x=text: screen.values().get(f) == x, field)
            burst(app, ["ctrl+s"])  # intake.on_spot: saved on the spot
            await pilot.pause(0.3)
            assert app.desk.store is None  # all of it before the cache was open
            gated.gate.set()
            await until(pilot, lambda: bool(screen.last_saved), "the saved message")
            rows = await run_in_thread(lambda: app.desk.recent_for_phone(PHONE))
            assert [(r.caller_name, r.id) for r in rows] == [(NAME, rows[0].id)]
            saved = app.desk.ticket(rows[0].id)
            assert saved is not None and saved.data["account"] == ACCOUNT
            assert screen.values().get("phone", "") == ""  # a fresh form for the next call
    finally:
        gated.gate.set()


async def test_a_theme_switched_in_a_running_desk_recolours_it(server: RunningServer) -> None:
    settings = Settings(server=server.url)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        screen = app.screen
        assert screen.styles.background == Color.parse("#0D1117")  # the desk theme's
        app.theme = "desk-high-contrast"
        await pilot.pause(0.2)
        assert screen.styles.background == Color.parse("#000000")
        app.theme = "desk"
        await pilot.pause(0.2)
        assert screen.styles.background == Color.parse("#0D1117")


async def test_the_intake_screen_is_laid_out_and_drawn_whole_at_most_twice_to_settle(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the app object to a settled desk (silent sign-in, cache open, online, the form
    focused, the first lookup answered), the intake screen is laid out whole at most twice:
    when first shown, and once more as its widgets report their first sizes (Textual asks
    for that layout itself). main had five: two same-size resizes, the screen's own mount
    await, the footer's keys coming with the cache, the empty side panel's first answer.
    Counted by a hook on the screen's layout (its compositor's reflow), not by time; full
    frames too (the first one, and the repaint Textual asks for as the screen resumes).
    The fields made after the first frame (``IntakeScreen._make_later``) are held back here:
    their timer fires before or after the cache opens depending on the machine's load, and
    their mounts are laid out in as many of the screen's update ticks as they span (2 on a
    quiet machine, 3 or more under load), which is not what this counts."""
    from agent_tui.textual_overrides import LineCompositor

    settings = Settings(server=server.url)
    first = build_app(settings, desk=DeskServices(settings))
    async with first.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)  # the next start signs in silently, with the kept token
    layouts: list[str] = []
    full_frames: list[int] = []
    reflow = LineCompositor.reflow
    render_full = LineCompositor.render_full_update

    def counted_reflow(self: LineCompositor, parent: Any, size: Any) -> Any:
        layouts.append(type(parent).__name__)
        return reflow(self, parent, size)

    def counted_full(self: LineCompositor, *args: Any, **kwargs: Any) -> Any:
        full_frames.append(1)
        return render_full(self, *args, **kwargs)

    monkeypatch.setattr(LineCompositor, "reflow", counted_reflow)
    monkeypatch.setattr(LineCompositor, "render_full_update", counted_full)
    monkeypatch.setattr(intake_module, "LATER_FIELDS_SECONDS", 600.0)  # made below
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await until(
            pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen, "the form"
        )
        await until(pilot, lambda: app.status.user == "agent1", "the silent sign-in")
        await until(pilot, lambda: app.status.link == "online", "the link")
        await until(pilot, lambda: screen._phone_looked_up, "the first lookup")
        await pilot.pause(0.5)
        assert app.screen is screen and str(app.focused.id).startswith("f-")  # type: ignore[union-attr]
        assert set(layouts) == {"IntakeScreen"}
        settled = len(layouts)
        assert settled <= 2, f"laid out {settled} times to settle"
        assert any(r.display and r.field_widget() is None for r in screen._rows)  # held back
        assert len(full_frames) <= 2, f"{len(full_frames)} full frames"
