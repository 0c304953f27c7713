"""What every desk screen shares: the status bar on top, the footer below, bindings by scope.

Bindings are built when the screen is made (not when the module is imported) so their
descriptions follow the UI language chosen at start; their ids come from ``agent_tui.actions``
so the keymap applies to them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.screen import Screen

from agent_tui.actions import bindings_for
from agent_tui.widgets.desk_footer import DeskFooter
from agent_tui.widgets.incoming import IncomingStrip
from agent_tui.widgets.status_bar import StatusBar

F = TypeVar("F", bound=Callable[..., Any])


def when_composed(method: F) -> F:
    """For a worker's callback (a ``call_from_thread`` target): the answer may come back
    after the screen was closed, or before it composed its widgets. Then there is nothing to
    draw on, and nothing is done, instead of a NoMatches error in the agent's face."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.is_attached or not self.is_mounted:
            return None
        try:
            return method(self, *args, **kwargs)
        except NoMatches:
            return None

    return guarded  # type: ignore[return-value]


def install_bindings(node: DOMNode, scope: str) -> None:
    """Add ``scope``'s actions to ``node``; an id-less Textual default on the same key (the
    screen's own tab/shift+tab) is dropped, so the keymap can move ours without a clash."""
    ours = bindings_for(scope)
    keys = node._bindings.key_to_bindings
    for binding in ours:
        for key in binding.key.split(","):
            kept = [b for b in keys.get(key.strip(), []) if b.id is not None]
            if kept:
                keys[key.strip()] = kept
            else:
                keys.pop(key.strip(), None)
    for binding in ours:
        node._bindings._add_binding(binding)


class DeskScreen(Screen[None]):
    SCOPE = ""

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPE)

    def compose_bars(self) -> ComposeResult:
        bar = StatusBar()
        bar.status = self.app.status  # type: ignore[attr-defined]
        yield bar
        strip = IncomingStrip()
        self._show_incoming(strip)
        self._strip = strip
        yield strip

    def _show_incoming(self, strip: IncomingStrip) -> None:
        """The call waiting at this seat (the app's), drawn on this screen's strip."""
        app: Any = self.app
        strip.key = app.key_for("app.accept_call")
        strip.now = app.clock()
        strip.call = getattr(app, "incoming", None)

    _strip: IncomingStrip | None = None

    def show_incoming(self) -> None:
        """Redraw the strip (every second, and when a call comes or goes): the one composed
        here, not a DOM query each time (the intake screen has ~100 widgets)."""
        strip = self._strip
        if strip is None or not strip.is_attached:
            return
        app: Any = self.app
        if strip.call is None and getattr(app, "incoming", None) is None:
            return  # nothing waits and nothing is shown: nothing to count up
        self._show_incoming(strip)

    def compose_footer(self) -> ComposeResult:
        yield DeskFooter()

    # Set once the screen has been suspended (another mode, a dialog on top): what changed
    # meanwhile (a theme, CSS refreshed while it was not in the stack) reaches it on return.
    _restyle_on_resume = False

    def on_screen_suspend(self) -> None:
        self._restyle_on_resume = True

    def on_screen_resume(self, event: events.ScreenResume | None = None) -> None:
        if event is not None and not self._restyle_on_resume:
            # First shown (Textual sends two resumes when a mode starts): its widgets got
            # their styles as they mounted, and a CSS refresh since restyled every screen in
            # the stack. Textual would restyle the whole screen again on each resume, ~30 ms
            # for the intake form each time, before the agent can type.
            event.refresh_styles = False
        for bar in self.query(StatusBar):
            bar.status = self.app.status  # type: ignore[attr-defined]
        self.show_incoming()

    def tick(self, now: datetime) -> None:
        """Called every second by the app with its clock (countdowns)."""

    def on_mount(self) -> None:
        self.set_interval(1.0, self.show_incoming)  # the waited time counts up

    def cache_changed(self) -> None:
        """Called when a pull or a save changed the cache."""
