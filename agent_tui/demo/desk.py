"""The desk as the demo runs it: the real app plus one key that drops the demo's link.

``demo.cut_link`` (default ``alt+l``; ``ctrl+f12`` in the function-key map) cuts the link
between the desk and the embedded server for :data:`CUT_SECONDS`, exactly as
``agent-tui demo --cut-link`` does from a second terminal: the desk goes offline, keeps
saving into its cache and catches up when the link returns. The binding exists only here,
on the demo's app, so the real desk has no such key.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from textual.app import SystemCommand
from textual.screen import Screen

import agent_tui.app as desk_app
from agent_tui.actions import BY_ID, bindings_for
from agent_tui.config import Settings
from agent_tui.i18n import t
from agent_tui.services import DeskServices

DEMO_SCOPE = "demo"
CUT_LINK_ID = "demo.cut_link"
CUT_SECONDS = 30.0


class CutsLink(Protocol):
    """What the key needs of the demo world (``DemoWorld`` has it)."""

    def cut_link(self, seconds: float) -> float: ...


class DemoDeskApp(desk_app.DeskApp):
    """``DeskApp`` with the demo's own bindings; ``demo_world`` is the running world."""

    # The stylesheet sits next to the desk's module, not this one.
    CSS_PATH = str(Path(desk_app.__file__).with_name("app.tcss"))

    def __init__(
        self, settings: Settings, desk: DeskServices, *, world: CutsLink | None = None, **kw: Any
    ) -> None:
        super().__init__(settings, desk, **kw)
        self.demo_world = world
        for binding in bindings_for(DEMO_SCOPE):
            self._bindings._add_binding(binding)

    def action_demo_cut_link(self) -> None:
        world = self.demo_world
        if world is None:
            self.notify(t("demo.cut_link.no_world"), severity="warning")
            return
        try:
            world.cut_link(CUT_SECONDS)
        except OSError as exc:  # the demo's directory is gone: it is stopping
            self.notify(t("demo.cut_link.failed", reason=str(exc)), severity="error")
            return
        self.notify(t("demo.link_cut", seconds=f"{CUT_SECONDS:.0f}"), timeout=10)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        action = BY_ID[CUT_LINK_ID]
        yield SystemCommand(
            action.description(),
            f"{action.id} · {self.key_for(action.id)}",
            partial(self.call_later, self.run_action, action.action),
        )
