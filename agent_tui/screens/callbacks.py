"""The missed-call callback list (漏接回拨): who called, when, how long they waited.

A dialog over whatever the agent was doing (``app.callbacks``). The list lives on the
server (two agents must never ring the same citizen), so it is read and changed there, in
async workers; offline the dialog says so and keeps nothing half-done. ``callbacks.take``
takes the highlighted caller (the server's claim) and asks how the callback went; the
outcome is recorded against the missed call. The rules (what closes an entry, how many
attempts) are ``hotline.callbacks``'; this screen only shows and asks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label, Static

from agent_tui.cells import fit, fit_right
from agent_tui.i18n import t
from agent_tui.screens.base import install_bindings, when_composed
from hotline.callbacks import AGENT_OUTCOMES

# (column key, i18n key of its title, width in terminal cells)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("number", "callbacks.col.number", 13),
    ("missed", "callbacks.col.missed", 6),
    ("wait", "callbacks.col.wait", 9),
    ("calls", "callbacks.col.calls", 4),
    ("reason", "callbacks.col.reason", 8),
    ("status", "callbacks.col.status", 16),
    ("attempts", "callbacks.col.attempts", 4),
)
REFRESH_SECONDS = 10.0


def wait_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    n = max(0, round(seconds))
    return t("callbacks.wait", m=n // 60, s=n % 60)


def _clock(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone().strftime("%H:%M")
    except ValueError:
        return "-"


def status_text(entry: dict[str, Any]) -> str:
    status = entry.get("status")
    if status == "claimed":
        return t("callbacks.status.claimed", who=entry.get("claimed_by") or "")
    if status == "done":
        return t("callbacks.status.done", outcome=t(f"callbacks.outcome.{entry.get('outcome')}"))
    return t("callbacks.status.open")


def row_cells(entry: dict[str, Any]) -> list[str]:
    """The row's texts, each fitted to its column by terminal cells (Chinese is 2 wide)."""
    values = {
        "number": str(entry.get("caller_number") or ""),
        "missed": _clock(entry.get("last_missed_at")),
        "wait": wait_text(entry.get("longest_wait_seconds")),
        "calls": str(entry.get("missed_calls") or 0),
        "reason": t(f"callbacks.reason.{entry.get('reason')}"),
        "status": status_text(entry),
        "attempts": str(entry.get("attempts") or 0),
    }
    right = {"wait", "calls", "attempts"}
    return [(fit_right if key in right else fit)(values[key], width) for key, _, width in COLUMNS]


class CallbacksScreen(ModalScreen[None]):
    SCOPE = "callbacks"

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, self.SCOPE)
        self.entries: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        with Vertical(id="callbacks"):
            yield Label(t("callbacks.title"), classes="dialog-title")
            yield Static(t("callbacks.loading"), id="cb-summary")
            table: DataTable[str] = DataTable(id="cb-table", cursor_type="row", zebra_stripes=True)
            for key, title, width in COLUMNS:
                table.add_column(fit(t(title), width), width=width, key=key)
            yield table
            yield Static("", id="cb-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cb-table", DataTable).focus()
        self.load()
        self.set_interval(REFRESH_SECONDS, self.load)

    # ------------------------------------------------------------ reading

    @work(exclusive=True, group="callbacks-load", exit_on_error=False)
    async def load(self) -> None:
        try:
            data = await self.app.desk.callbacks_call("GET", "?state=all")  # type: ignore[attr-defined]
        except Exception as exc:
            self._note(self._problem_text(exc), error=True)
            return
        self._show(list(data.get("callbacks") or []), int(data.get("open") or 0))

    @when_composed
    def _show(self, entries: list[dict[str, Any]], waiting: int) -> None:
        table = self.query_one("#cb-table", DataTable)
        keep = self.highlighted_id()
        # open ones first (oldest miss first, as the server sends them), then today's done
        entries.sort(key=lambda e: e.get("status") == "done")
        self.entries = {str(e["id"]): e for e in entries}
        self.order = [str(e["id"]) for e in entries]
        table.clear()
        for entry in entries:
            table.add_row(*row_cells(entry), key=str(entry["id"]))
        if keep in self.entries:
            table.move_cursor(row=self.order.index(keep))
        done = sum(1 for e in entries if e.get("status") == "done")
        self.query_one("#cb-summary", Static).update(
            t("callbacks.summary", due=waiting, done=done) if entries else t("callbacks.empty")
        )
        self.loaded = True

    def highlighted_id(self) -> str | None:
        table = self.query_one("#cb-table", DataTable)
        if not self.order or table.cursor_row < 0 or table.cursor_row >= len(self.order):
            return None
        return self.order[table.cursor_row]

    @when_composed
    def _note(self, text: str, *, error: bool = False) -> None:
        note = self.query_one("#cb-note", Static)
        note.update(text)
        note.set_class(error, "-error")
        if error:
            self.app.notify(text, severity="warning")

    def _problem_text(self, exc: BaseException) -> str:
        from agent_tui.services import CallbackProblem, NotSignedIn, Unreachable

        if isinstance(exc, Unreachable):
            return t("callbacks.offline")
        if isinstance(exc, NotSignedIn):
            return t("callbacks.signed_out")
        if isinstance(exc, CallbackProblem) and exc.status == 404:
            return t("callbacks.err.gone")
        return t("callbacks.err.other", message=str(exc) or type(exc).__name__)

    async def _explain(self, exc: BaseException, entry_id: str) -> str:
        """Why the server refused, in the UI's language: a 409 is read back from the entry
        as it is now (done already, or taken by whom)."""
        from agent_tui.services import CallbackProblem

        if isinstance(exc, CallbackProblem) and exc.status == 409:
            try:
                now = await self.app.desk.callbacks_call("GET", f"/{entry_id}")  # type: ignore[attr-defined]
            except Exception:
                now = {}
            if now.get("status") == "done":
                return t("callbacks.err.done")
            if now.get("status") == "claimed":
                return t("callbacks.err.taken", who=now.get("claimed_by") or "?")
        return self._problem_text(exc)

    # ------------------------------------------------------------ actions

    def action_take(self) -> None:
        entry_id = self.highlighted_id()
        if entry_id is None:
            self._note(t("callbacks.none_chosen"), error=True)
            return
        if self.entries[entry_id].get("status") == "done":
            self._note(t("callbacks.err.done"), error=True)
            return
        self._take(entry_id)

    @work(exclusive=True, group="callbacks-write", exit_on_error=False)
    async def _take(self, entry_id: str) -> None:
        from agent_tui.screens.dialogs import ChoiceDialog

        try:
            entry = await self.app.desk.callbacks_call("POST", f"/{entry_id}/claim")  # type: ignore[attr-defined]
        except Exception as exc:
            self._note(await self._explain(exc, entry_id), error=True)
            self.load()
            return
        self._note(t("callbacks.taken", number=entry.get("caller_number") or ""))
        self.load()
        choices = [(o.value, t(f"callbacks.outcome.{o.value}")) for o in AGENT_OUTCOMES]
        title = t("callbacks.ask_outcome", number=entry.get("caller_number") or "")
        outcome = await self.app.push_screen_wait(ChoiceDialog(title, choices))
        if outcome:
            await self._record(entry_id, str(outcome))
        else:
            self._note(t("callbacks.kept", key=self.app.key_for("callbacks.release")))  # type: ignore[attr-defined]

    async def _record(self, entry_id: str, outcome: str) -> None:
        try:
            entry = await self.app.desk.callbacks_call(  # type: ignore[attr-defined]
                "POST", f"/{entry_id}/outcome", {"outcome": outcome}
            )
        except Exception as exc:
            self._note(await self._explain(exc, entry_id), error=True)
        else:
            key = (
                "callbacks.recorded_done" if entry.get("status") == "done" else "callbacks.recorded"
            )
            self._note(
                t(key, number=entry.get("caller_number") or "",
                  outcome=t(f"callbacks.outcome.{outcome}"))
            )  # fmt: skip
        self.load()

    def action_release(self) -> None:
        entry_id = self.highlighted_id()
        if entry_id is not None:
            self._release(entry_id)

    @work(exclusive=True, group="callbacks-write", exit_on_error=False)
    async def _release(self, entry_id: str) -> None:
        try:
            await self.app.desk.callbacks_call("POST", f"/{entry_id}/release")  # type: ignore[attr-defined]
        except Exception as exc:
            self._note(await self._explain(exc, entry_id), error=True)
        else:
            self._note(t("callbacks.released"))
        self.load()

    def action_refresh(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
