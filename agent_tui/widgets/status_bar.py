"""The always-visible line: link state, outbox, oldest unsynced change, needs-attention, seat.

SYNC.md promises the agent sees these at all times. The bar holds no logic: the app sets a
``DeskStatus`` on it (attributes down) whenever the replicator or the seat changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from agent_tui.i18n import t


@dataclass(frozen=True)
class DeskStatus:
    link: str = "offline"  # online | offline | syncing | signed_out
    outbox: int = 0
    oldest_seconds: float | None = None  # age of the oldest unsynced change
    attention: int = 0
    seat: str = "signed_out"  # hotline.protocol.SeatState value
    user: str = ""
    detail: str = ""  # last sync error, shortened


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return t("age.seconds", n=s)
    if s < 3600:
        return t("age.minutes", n=s // 60)
    return t("age.hours", h=s // 3600, m=(s % 3600) // 60)


_LINK_CLASSES = frozenset(
    f"-{link}"
    for link in ("online", "offline", "syncing", "signed_out", "cache_error", "wrong_user")
)


class StatusBar(Widget):
    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $panel; }
    StatusBar.-offline { background: $error 40%; }
    StatusBar.-syncing { background: $warning 30%; }
    """

    status: reactive[DeskStatus] = reactive(DeskStatus, layout=False)

    def watch_status(self, status: DeskStatus) -> None:
        """The link's class (its colour), changed with one restyle of the bar: a class
        added or removed one by one restyled it each time (twice per change of link)."""
        wanted = {f"-{status.link}"} & _LINK_CLASSES
        have = _LINK_CLASSES & self.classes
        if have == wanted:
            return
        self.remove_class(*(have - wanted), update=False)
        self.add_class(*wanted, update=False)
        self.update_node_styles()

    def render(self) -> Text:
        s = self.status
        link_style = {
            "online": "bold green",
            "offline": "bold white on red",
            "syncing": "bold yellow",
            "signed_out": "bold",
            "cache_error": "bold white on red",
            "wrong_user": "bold white on red",
        }.get(s.link, "bold")
        text = Text()
        text.append(f" {t('link.' + s.link)} ", style=link_style)
        text.append("  ")
        text.append(t("status.outbox", n=s.outbox))
        text.append("  ")
        text.append(t("status.oldest", age=age_text(s.oldest_seconds)))
        text.append("  ")
        text.append(
            t("status.attention", n=s.attention),
            style="bold reverse" if s.attention else "",
        )
        text.append("  ")
        text.append(t("status.seat", seat=t("seat." + s.seat)), style="bold")
        if s.user:
            text.append(f"  {s.user}")
        if s.detail and s.link == "offline":  # why we are offline, in the server's words
            text.append(f"  {s.detail}", style="dim")
        return text
