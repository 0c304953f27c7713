"""The incoming strip: a call offered to this seat waits here until the agent takes it.

An offer must never erase what the agent is typing nor move the focus, so it does not open
a form by itself: it shows here (caller's number, how long it has waited at this seat, the
key that takes it) on every desk screen. The strip holds no logic: the app sets
``IncomingCall`` on it (attributes down) and clears it when the call is taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from agent_tui.i18n import t
from agent_tui.widgets.status_bar import age_text


@dataclass(frozen=True)
class IncomingCall:
    """One call offer waiting at this seat (from the server's ``call_offer`` event)."""

    caller_number: str
    call_id: str
    received_at: datetime  # the desk's clock when the offer arrived
    recent_tickets: list[Any] = field(default_factory=list)


class IncomingStrip(Widget):
    """One line under the status bar; hidden when no call is waiting."""

    call: reactive[IncomingCall | None] = reactive(None, layout=True)
    now: reactive[datetime | None] = reactive(None)

    def __init__(self) -> None:
        super().__init__(id="incoming", classes="incoming-strip")
        self.display = False
        self.key = ""

    def watch_call(self, call: IncomingCall | None) -> None:
        self.display = call is not None

    def render(self) -> Text:
        call = self.call
        if call is None:
            return Text("")
        waited = (self.now - call.received_at).total_seconds() if self.now else 0.0
        return Text(
            t(
                "incoming.strip",
                number=call.caller_number or t("incoming.unknown_number"),
                waited=age_text(max(0.0, waited)),
                key=self.key,
            ),
            style="bold",
        )
