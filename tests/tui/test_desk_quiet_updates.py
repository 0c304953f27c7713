"""What happens between the agent's keys costs no more than what changed (issue 14).

- the footer does not make and draw its keys again when the keys it shows did not change:
  not when the sync status changes, the outbox count moves, or the focus goes from field to
  field; it does when they do;
- moving the focus from field to field does not repaint the whole intake screen (Textual's
  ``Screen.focused`` repaints every widget of the screen when it changes, ~5 ms a move and
  25-80 ms the first time), and the terminal still ends up showing, cell for cell, what a
  full repaint shows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.cells import cell_len
from rich.segment import ControlType
from textual.reactive import Reactive
from textual.screen import Screen

from agent_tui.messages import SyncStateChanged
from agent_tui.screens.intake import IntakeScreen
from agent_tui.widgets.desk_footer import DeskFooter, FooterKeySpan
from offline_cache import save_token
from offline_cache.replicator import LinkState, SyncSnapshot
from tests.support.server import RunningServer, free_port
from tests.tui.conftest import make_app, sign_in, until, until_focused
from tests.tui.test_desk_footer import label_cells
from tests.tui.test_desk_form_rows import intake


@pytest.fixture
def footer_keys_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The action of every footer key made (the footer makes all its keys again, and draws
    them, when the keys it shows change)."""
    made: list[str] = []
    original = DeskFooter._make_keys

    def counted(self: DeskFooter) -> None:
        original(self)
        made.extend(key.action for key in self.keys)

    monkeypatch.setattr(DeskFooter, "_make_keys", counted)
    return made


def actions(footer: DeskFooter) -> list[str]:
    return [key.action for key in footer.keys]


async def test_the_footer_is_rebuilt_only_when_its_keys_change(
    server: RunningServer, footer_keys_made: list[str]
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot)
        await until(pilot, lambda: app.status.link == "online", "online")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        footer = screen.query_one(DeskFooter)
        await until(pilot, lambda: footer.keys, "the footer's keys")
        await pilot.pause(0.3)
        shown = actions(footer)
        assert "app.open_queue" in shown
        footer_keys_made.clear()

        # the link goes down and comes back, the outbox fills: the bar changes, the keys not
        session = app._sync_session
        for state, outbox in (
            (LinkState.SYNCING, 0),
            (LinkState.OFFLINE, 3),
            (LinkState.SYNCING, 3),
            (LinkState.ONLINE, 0),
        ):
            snapshot = SyncSnapshot(state, outbox, None, 0, None, datetime.now(UTC), app._cursor)
            app.post_message(SyncStateChanged(session, snapshot))
            await pilot.pause(app.STATUS_SETTLE_SECONDS * 2)
        # field to field: each move refreshes the screen's bindings twice (blur, focus)
        for field_id in ("phone", "caller_name", "address", "phone"):
            screen.query_one(f"#f-{field_id}").focus()
            await until_focused(pilot, f"f-{field_id}")
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        assert footer_keys_made == [], f"the footer was rebuilt: {footer_keys_made}"
        assert actions(footer) == shown

        # keys that do change are shown: the desk's own actions go while it is held (the
        # keyring locked), and come back after
        app._held = True
        screen.refresh_bindings()
        await until(pilot, lambda: footer_keys_made, "the footer without the desk's keys")
        await until(
            pilot,
            lambda: "app.open_queue" not in actions(footer),
            "the queue key gone",
        )
        app._held = False
        screen.refresh_bindings()
        await until(
            pilot,
            lambda: actions(footer) == shown,
            "the keys back",
        )


class Terminal:
    """The cells a terminal shows after the frames the app wrote to it (headless Textual
    composes each frame and skips only the write): each cell's character and style."""

    def __init__(self, app: Any) -> None:
        self.app = app
        width, height = app.size
        self.cells: list[list[tuple[str, Any]]] = [[(" ", None)] * width for _ in range(height)]

    def write(self, update: Any) -> None:
        console = self.app.console
        x = y = 0
        for segment in console.render(update, console.options):
            if segment.control:
                for control in segment.control:
                    if control[0] == ControlType.CURSOR_MOVE_TO:
                        x, y = control[1], control[2]
                continue
            if segment.text == "\n":
                x, y = 0, y + 1
                continue
            for ch in segment.text:
                width = cell_len(ch)
                if 0 <= y < len(self.cells) and 0 <= x < len(self.cells[y]):
                    self.cells[y][x] = (ch, segment.style)
                    for extra in range(1, width):
                        if x + extra < len(self.cells[y]):
                            self.cells[y][x + extra] = ("", segment.style)
                x += width

    def write_lines(self, strips: list[Any]) -> None:
        for y, strip in enumerate(strips):
            x = 0
            for segment in strip:
                for ch in segment.text:
                    width = cell_len(ch)
                    self.cells[y][x] = (ch, segment.style)
                    for extra in range(1, width):
                        self.cells[y][x + extra] = ("", segment.style)
                    x += width

    def lines(self) -> list[list[tuple[str, Any]]]:
        return [list(line) for line in self.cells]


async def test_a_focus_move_repaints_only_what_changed_and_shows_what_a_full_repaint_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = Screen.__dict__["focused"]
    assert isinstance(declared, Reactive)  # Textual's, read for QuietFocus (textual_overrides)
    assert not declared._layout and not declared._recompose
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        await until_focused(pilot, "f-kind")
        await pilot.pause(0.3)

        terminal = Terminal(app)
        whole: list[bool] = []
        original_display = app._display

        def display(shown: Screen[Any], update: Any) -> None:
            if shown is screen and update is not None:
                terminal.write(update)
            original_display(shown, update)

        original_update = Screen._on_timer_update

        def update(self: Screen[Any]) -> None:
            if self is screen:
                whole.append(self._repaint_required or self._layout_required)
            original_update(self)

        monkeypatch.setattr(Screen, "_on_timer_update", update)
        app._display = display  # type: ignore[method-assign]
        screen.refresh()  # a first full frame: the terminal starts equal to the screen
        await pilot.pause(0.1)

        for field_id in ("phone", "caller_name", "address", "phone", "kind"):
            whole.clear()
            screen.query_one(f"#f-{field_id}").focus()
            await until_focused(pilot, f"f-{field_id}")
            await pilot.pause(0.1)
            assert whole and not any(whole), f"{field_id}: the whole screen was redrawn"
            full = Terminal(app)
            full.write_lines(screen._compositor.render_strips())
            assert terminal.lines() == full.lines(), f"{field_id}: the terminal differs"


async def test_the_footer_shows_the_desks_keys_once_a_slow_cache_opens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The desk's own keys (queue, knowledge base, seat) wait for the cache; the form and its
    footer come first, those keys dimmed on it. A cache that opens after the footer is drawn
    (a large or slow one) undims them when it opens, not at the agent's first move to
    another field, and by the footer redrawing itself (no widget made). (A token from
    yesterday and no server: the desk works on its cache, no dialog comes up.)"""
    dead = f"http://127.0.0.1:{free_port()}"
    save_token("default", dead, "a-token-from-yesterday")
    app = make_app(dead)
    opening = app.desk._open

    def slow_open() -> Any:
        time.sleep(1.0)
        return opening()

    monkeypatch.setattr(app.desk, "_open", slow_open)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await until(
            pilot, lambda: isinstance(app.screen, IntakeScreen) and app.screen, "the form"
        )
        footer = screen.query_one(DeskFooter)
        await until(pilot, lambda: footer.keys, "the footer's keys")
        assert app.desk.store is None

        def queue_key() -> FooterKeySpan:
            return next(k for k in footer.keys if k.action == "app.open_queue")

        def queue_look() -> list[Any]:
            key = queue_key()
            return [look for _, look in label_cells(app, f"{key.key_display} {key.description}")]

        assert not queue_key().enabled
        dimmed = queue_look()
        await pilot.press("ctrl+o")  # shown, not run: nothing to open yet
        assert isinstance(app.screen, IntakeScreen)
        await until(pilot, lambda: queue_key().enabled, "the queue key once the cache is open")
        await pilot.pause(0.1)
        # drawn as the keys that ran all along (the same colours), no longer dimmed
        undimmed = queue_look()
        assert undimmed != dimmed
        new_form = next(k for k in footer.keys if k.action == "app.open_intake")
        assert new_form.enabled
        first = label_cells(app, f"{new_form.key_display} {new_form.description}")
        assert undimmed[0] == first[0][1] and undimmed[-1] == first[-1][1]
        assert screen.query_one(DeskFooter) is footer and not footer.children
        assert isinstance(app.screen, IntakeScreen)  # no dialog came and went meanwhile


async def test_a_screen_opened_later_draws_its_footer_once(
    monkeypatch: pytest.MonkeyPatch, footer_keys_made: list[str]
) -> None:
    """The queue, opened with the cache open: its footer's keys are made as the screen
    composes, not by a second compose (and a second layout of the screen) after it."""
    recomposed: list[str] = []
    original = DeskFooter.recompose

    async def counted(self: DeskFooter) -> None:
        recomposed.append(type(self.screen).__name__)
        await original(self)

    monkeypatch.setattr(DeskFooter, "recompose", counted)
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        await intake(pilot)
        await pilot.pause(0.3)
        footer_keys_made.clear()
        recomposed.clear()
        await pilot.press(app.key_for("app.queue"))
        queue = await until(
            pilot, lambda: type(app.screen).__name__ == "QueueScreen" and app.screen, "the queue"
        )
        footer = queue.query_one(DeskFooter)
        await until(pilot, lambda: footer.keys, "the queue's footer keys")
        await pilot.pause(0.3)
        shown = actions(footer)
        assert recomposed == [] and footer_keys_made == shown, (recomposed, footer_keys_made)


async def test_a_lookup_with_the_same_answer_changes_nothing_on_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The caller and address lookups run again as the agent types on and mostly find the
    same tickets: the side panel is updated (and the screen laid out) only when they differ."""
    from textual.widgets import Static

    updated: list[str] = []
    original = Static.update

    def counted(self: Static, *args: Any, **kwargs: Any) -> None:
        updated.append(self.id or "")
        original(self, *args, **kwargs)

    monkeypatch.setattr(Static, "update", counted)
    app = make_app(f"http://127.0.0.1:{free_port()}")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await intake(pilot)
        assert isinstance(screen, IntakeScreen)
        await pilot.pause(0.3)
        screen._show_lookup([], [])  # nothing found (perhaps shown already)
        updated.clear()
        screen._show_lookup([], [])
        assert updated == [], updated
        screen._offer_recent = [{"id": "t1", "number": "0001", "status": "open", "kind": "k"}]
        screen._show_lookup([], [])
        screen._show_lookup([], [])
        assert updated == ["intake-history"], updated
        assert "0001" in str(screen.query_one("#intake-history", Static).render())
