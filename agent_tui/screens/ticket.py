"""One ticket: fields, history, notes, status along the closed loop, escalation, callback,
and the server's conflicts side by side.

Every change is saved to the cache (ticket change + outbox row, one transaction) in a thread
worker; the screen then reloads from the cache, so what it shows is what was saved.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static

from agent_tui.i18n import has, language, t
from agent_tui.labels import category_label, form_field_labels, subcategory_label
from agent_tui.reasons import change_name, reason_text
from agent_tui.screens.base import DeskScreen, when_composed
from agent_tui.screens.dialogs import ChoiceDialog, TextDialog
from agent_tui.widgets.queue_table import countdown
from hotline.clocks import resolve_zone
from hotline.districts import district_label
from hotline.field_messages import FIELD_LABELS
from hotline.model import CALLER_FIELDS, Satisfaction, Status
from hotline.states import TRANSITIONS, IllegalTransition
from hotline.topics import topic_label
from hotline.validators import FieldError
from offline_cache.errors import CacheError, InvalidChange
from offline_cache.records import LocalTicket

SHOWN_FIELDS = (
    "caller_name",
    "phone",
    "caller_number",
    "id_card",
    "address",
    "district",
    "street",
    "community",
    "privacy",
    "kind",
    "category",
    "topic",
    "urgent_subcategory",
    "urgency",
    "respondent",
    "account",
    "answer",
    "handling_unit",
    "promise",
    "satisfaction",
    "reply_needed",
    "reply_method",
)


def field_label(name: str) -> str:
    pair = FIELD_LABELS.get(name)
    if pair is None:
        return name
    return pair[0] if language() == "zh" else pair[1]


def shown_value(name: str, value: Any) -> str:
    if value is None or value == "":
        return "-"
    if name == "topic":
        return topic_label(str(value), language())
    if name in ("privacy", "reply_method"):
        return t(f"{name}.{value}")
    if isinstance(value, bool):
        return t("answer.yes" if value else "answer.no")
    if name == "kind":
        return t(f"kind.{value}")
    if name == "urgency":
        return t(f"urgency.{value}")
    if name == "satisfaction" and has(f"satisfaction.{value}"):
        return t(f"satisfaction.{value}")
    if name == "status":
        return t(f"status.{value}")
    if name == "category":
        return category_label(value)
    if name == "urgent_subcategory":
        return subcategory_label(value)
    if name == "district":
        return district_label(str(value), language())
    return str(value)


def readable_error(exc: Exception) -> str:
    """Why a change was refused, in the UI language, naming the field (never a raw repr)."""
    lang = language()
    if isinstance(exc, FieldError):
        return exc.message(lang)
    if isinstance(exc, InvalidChange):
        return t("ticket.refused.field", field=field_label(exc.field), reason=exc.detail)
    if isinstance(exc, CacheError):
        return exc.message(lang)
    if isinstance(exc, IllegalTransition):
        return t(
            "ticket.refused.status",
            current=t(f"status.{exc.current.value}"),
            target=t(f"status.{exc.target.value}"),
        )
    if isinstance(exc, ValidationError):
        err = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in err.get("loc", ())) or "?"
        return t("ticket.refused.field", field=field_label(field), reason=err.get("msg", ""))
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _when(value: Any) -> str:
    """A time as the hotline's wall clock shows it (Asia/Shanghai by default)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value[:16]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(resolve_zone()).strftime("%m-%d %H:%M")
    return ""


class TicketScreen(DeskScreen):
    SCOPE = "ticket"

    def __init__(self, ticket_id: str) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.ticket: LocalTicket | None = None
        self.deadline: datetime | None = None
        # changes saved here whose outcome the agent waits for: mutation id -> (what, done text)
        self._awaiting: dict[int, tuple[str, str]] = {}
        self._attention: list[Any] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_bars()
        yield Label("", id="ticket-title")
        with Horizontal(id="ticket-body"):
            with VerticalScroll(id="ticket-fields"):
                yield Static("", id="fields")
            with VerticalScroll(id="ticket-side"):
                yield Static("", id="attention")
                yield Label(t("ticket.history"), classes="section")
                yield Static("", id="history")
                yield Label(t("ticket.notes"), classes="section")
                yield Static("", id="notes")
        key = self.app.key_for("ticket.note")  # type: ignore[attr-defined]
        yield Input(placeholder=t("ticket.note.placeholder", key=key), id="note")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()
        self.load()

    def cache_changed(self) -> None:
        self.load()

    # ------------------------------------------------------------------ loading

    @work(thread=True, exclusive=True, group="ticket-load", exit_on_error=False)
    def load(self) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        self._field_words = form_field_labels(desk.forms(), language())
        ticket = desk.ticket(self.ticket_id)
        notes = desk.notes(self.ticket_id) if ticket else []
        history = desk.history(self.ticket_id) if ticket else []
        attention = desk.attention_for(self.ticket_id) if ticket else []
        into_id = ticket.data.get("merged_into") if ticket else None
        self._merged_into = desk.ticket(str(into_id)) if into_id else None
        self.app.call_from_thread(self._show, ticket, notes, history, attention)
        if ticket is not None:
            self.app.call_from_thread(self.load_server_history)

    @work(exclusive=True, group="ticket-history", exit_on_error=False)
    async def load_server_history(self) -> None:
        """The server's audit trail (network: an async worker); the local one stays if none."""
        entries = await self.app.desk.server_history(self.ticket_id)  # type: ignore[attr-defined]
        if entries is None:
            return
        pending = await asyncio.to_thread(self.app.desk.history, self.ticket_id)  # type: ignore[attr-defined]
        kept = [e for e in pending if e.get("pending") or e.get("what") == "refused"]
        self._show_history(entries + kept)

    @when_composed
    def _show(
        self, ticket: LocalTicket | None, notes: list[Any], history: list[Any], attention: list[Any]
    ) -> None:
        self.ticket = ticket
        title = self.query_one("#ticket-title", Label)
        if ticket is None:
            title.update(t("ticket.missing"))
            return
        data = ticket.data
        status = data.get("status", "accepted")
        red = data.get("urgency") == "red"
        head = Text()
        head.append(t("ticket.title", number=ticket.display_number), style="bold")
        head.append(f"  [{t('status.' + status)}]", style="bold")
        if red:
            head.append(f"  {t('urgency.red')}", style="bold white on red")
        if ticket.pending:
            head.append("  " + t("ticket.pending", n=ticket.pending), style="italic")
        title.update(head)

        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        hidden = bool(data.get("caller_hidden"))  # 保密/匿名: not this agent's to see
        for name in SHOWN_FIELDS:
            if name in data and (name != "satisfaction" or data.get(name)):  # once evaluated
                value = shown_value(name, data.get(name))
                if hidden and name in CALLER_FIELDS:
                    value = t("ticket.caller_hidden")
                table.add_row(field_label(name), value)
        into = getattr(self, "_merged_into", None)
        if into is not None and data.get("merged_into") == into.id:  # 并单: both callers
            caller = " ".join(
                str(v) for v in (into.data.get("caller_name"), into.data.get("phone")) if v
            )
            table.add_row(
                t("ticket.merged_into"), t("ticket.merged_into.value",
                                           number=into.display_number, caller=caller or "-"),
            )  # fmt: skip
        words = getattr(self, "_field_words", {})
        for name, value in (data.get("extra") or {}).items():
            known = words.get(str(name))
            if known is None:
                table.add_row(str(name), shown_value(name, value))
            else:
                choice = known.choices.get(str(value)) if value is not None else None
                table.add_row(known.label, choice or shown_value(name, value))
        self.query_one("#fields", Static).update(table)

        self._show_history(history)

        note_text = Text()
        for note in notes:
            note_text.append(f"{_when(note.created_at)} {note.author or ''}", style="dim")
            note_text.append(" …" if note.pending else "", style="dim")
            note_text.append(f"\n{note.body}\n")
        self.query_one("#notes", Static).update(note_text or "-")

        problems = Text()
        for item in attention:
            if item.kind == "conflict" and item.conflict:
                for field, pair in item.conflict.items():
                    problems.append(
                        t("ticket.conflict.title", field=field_label(field)) + "\n", style="bold"
                    )
                    problems.append(f"  {t('ticket.conflict.mine')}: {pair.get('mine')}\n")
                    problems.append(f"  {t('ticket.conflict.theirs')}: {pair.get('theirs')}\n")
            else:
                problems.append(
                    t("ticket.attention", reason=reason_text(item.reason)) + "\n", style="bold"
                )
        if any(item.kind == "rejected" for item in attention):
            key = self.app.key_for("ticket.attention")  # type: ignore[attr-defined]
            problems.append(t("ticket.attention.hint", key=key) + "\n", style="italic")
        attention_widget = self.query_one("#attention", Static)
        attention_widget.update(problems)
        attention_widget.display = bool(attention)
        self._attention = attention

    @when_composed
    def _show_history(self, history: list[dict[str, Any]]) -> None:
        lines = Text()
        for entry in history:
            lines.append(f"{_when(entry.get('at'))} ", style="dim")
            key = f"history.{entry.get('what')}"
            lines.append(t(key) if has(key) else str(entry.get("what", "")))
            if entry.get("status"):
                lines.append(f" → {t('status.' + str(entry['status']))}", style="bold")
            if entry.get("reason"):
                lines.append(f"（{reason_text(str(entry['reason']))}）")
            if entry.get("by"):
                lines.append(f"  {entry['by']}", style="dim")
            if entry.get("pending"):
                lines.append(f"  {t('history.pending')}", style="italic")
            lines.append("\n")
        self.query_one("#history", Static).update(lines or "-")

    def tick(self, now: datetime) -> None:
        # countdown in the title is cheap: recompute from the cached deadline only
        if self.ticket is None:
            return
        deadline = self.ticket.data.get("deadline_at")
        if isinstance(deadline, str):
            try:
                deadline = datetime.fromisoformat(deadline)
            except ValueError:
                deadline = None
        if isinstance(deadline, datetime):
            self.sub_title = countdown(deadline, now)
        if self._awaiting:
            self._check_outcomes(dict(self._awaiting))

    @work(thread=True, exclusive=True, group="ticket-outcome", exit_on_error=False)
    def _check_outcomes(self, awaiting: dict[int, tuple[str, str]]) -> None:
        """Say what the server made of a change only once it has said it: accepted, or
        refused with its reason (the change then waits under needs attention)."""
        desk = self.app.desk  # type: ignore[attr-defined]
        for mutation_id, (what, done_text) in awaiting.items():
            outcome, reason = desk.mutation_outcome(mutation_id)
            if outcome != "pending":
                self.app.call_from_thread(self._outcome, mutation_id, what, done_text, reason)

    def _outcome(self, mutation_id: int, what: str, done_text: str, reason: str) -> None:
        if self._awaiting.pop(mutation_id, None) is None:
            return
        if reason:
            text = t(
                "ticket.change.refused", what=t(f"act.ticket.{what}"), reason=reason_text(reason)
            )
            self.notify(text, severity="error", timeout=30)
            self.load()
        else:
            self.notify(done_text)

    # ------------------------------------------------------------------ actions

    def _save(self, what: str, call: Any, done_text: str, confirmed: str | None = None) -> None:
        """Save a change; ``confirmed`` given: ``done_text`` says it is queued, and
        ``confirmed`` is said once the server accepts it (its refusal, if it refuses)."""

        @work(thread=True, group="ticket-save", exit_on_error=False)
        def run(screen: TicketScreen) -> None:
            try:
                saved = call()
            except (ValueError, CacheError) as exc:  # refused: the domain or the cache
                doing = t(f"act.ticket.{what}") if has(f"act.ticket.{what}") else ""
                doing = doing or t("ticket.answer.change")
                text = t("ticket.refused", what=doing, reason=readable_error(exc))
                screen.app.call_from_thread(screen.notify, text, severity="error", timeout=15)
                return
            if done_text:
                screen.app.call_from_thread(screen.notify, done_text)
            if confirmed is not None and saved is not None:
                awaiting = screen._awaiting
                screen.app.call_from_thread(
                    awaiting.__setitem__, saved.mutation_id, (what, confirmed)
                )
            screen.app.call_from_thread(screen.app.post_message, _cache_changed())
            screen.app.call_from_thread(screen.app.poke_sync)  # type: ignore[attr-defined]

        run(self)

    def action_add_note(self) -> None:
        note = self.query_one("#note", Input)
        body = note.value.strip()
        if not body or self.ticket is None:
            self.notify(t("ticket.note.empty"), severity="warning")
            return
        note.value = ""
        desk = self.app.desk  # type: ignore[attr-defined]
        self._save("note", lambda: desk.add_note(self.ticket_id, body), t("ticket.note.added"))

    def action_change_status(self) -> None:
        if self.ticket is None:
            return
        current = Status(self.ticket.data.get("status", "accepted"))
        targets = sorted(TRANSITIONS[current], key=lambda s: list(Status).index(s))
        targets = [s for s in targets if s != Status.MERGED]
        if not targets:
            self.notify(t("ticket.status.none"), severity="warning")
            return
        choices = [(s.value, t(f"status.{s.value}")) for s in targets]
        self.app.push_screen(
            ChoiceDialog(t("ticket.status.choose", status=t(f"status.{current.value}")), choices),
            self._status_chosen,
        )

    def _status_chosen(self, value: str | None) -> None:
        if not value or self.ticket is None:
            return
        if value == Status.EVALUATED.value:  # 评价 records the caller's score: ask for it
            self.action_callback(evaluate=True)
            return
        desk = self.app.desk  # type: ignore[attr-defined]
        revision = int(self.ticket.data.get("revision", 0))
        self._save(
            "status",
            lambda: desk.change_status(self.ticket_id, value, revision),
            t("ticket.status.changed", status=t(f"status.{value}")),
        )

    def action_escalate(self, reason: str = "") -> None:
        self.app.push_screen(TextDialog(t("ticket.escalate.reason"), reason), self._escalate)

    def _escalate(self, reason: str | None) -> None:
        if reason:
            desk = self.app.desk  # type: ignore[attr-defined]
            self._save(
                "escalate",
                lambda: desk.escalate(self.ticket_id, reason),
                t("ticket.escalate.queued"),
                confirmed=t("ticket.escalated"),
            )

    # ------------------------------------------------------------------ refused changes

    FIXABLE = ("add_note", "escalate", "change_status")  # changes this screen can redo

    def action_attention(self) -> None:
        """A change the server refused: dismiss it (kept on the ticket's record) or, for
        the changes this screen makes, fix it and submit it again."""
        refused = [a for a in self._attention if a.kind == "rejected"]
        if not refused:
            self.notify(t("ticket.attention.none"))
            return
        item = refused[0]
        what = change_name(item.name)
        choices = [("dismiss", t("ticket.attention.dismiss"))]
        if item.name in self.FIXABLE:
            choices.insert(0, ("fix", t("ticket.attention.fix")))
        title = t("ticket.attention.choose", what=what, reason=reason_text(item.reason))

        def chosen(choice: str | None) -> None:
            if choice is not None:
                self._deal_with(item, choice)

        self.app.push_screen(ChoiceDialog(title, choices), chosen)

    def _deal_with(self, item: Any, choice: str) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        self._save(
            "attention", lambda: desk.dismiss_attention(item.mutation_id), _dismissed(choice)
        )
        if choice != "fix":
            return
        if item.name == "add_note":
            note = self.query_one("#note", Input)
            note.value = str(item.args.get("body") or "")
            note.focus()
            key = self.app.key_for("ticket.note")  # type: ignore[attr-defined]
            self.notify(t("ticket.attention.fix_note", key=key))
        elif item.name == "escalate":
            self.action_escalate(str(item.args.get("reason") or ""))
        elif item.name == "change_status":
            self.action_change_status()

    def action_callback(self, evaluate: bool = False) -> None:
        """回访: the caller's verdict on the three-level scale (评价), or not reached.
        ``evaluate``: asked for by moving to 评价, which needs a score (not reached is no
        answer then)."""
        choices = [(level.value, t(f"satisfaction.{level.value}")) for level in Satisfaction]
        if not evaluate:
            choices.append(("unreached", t("ticket.callback.unreached")))
        title = t("ticket.callback.evaluate" if evaluate else "ticket.callback.satisfaction")
        self.app.push_screen(
            ChoiceDialog(title, choices), lambda value: self._callback(value, evaluate)
        )

    def _callback(self, value: str | None, evaluate: bool = False) -> None:
        if value is None:
            if evaluate:  # no score chosen: the ticket is not evaluated, and the agent knows why
                missing = FieldError("satisfaction", "satisfaction_required")
                self.notify(missing.message(language()), severity="warning")
            return
        desk = self.app.desk  # type: ignore[attr-defined]
        reached = value != "unreached"
        satisfaction = value if reached else None
        self._save(
            "callback",
            lambda: desk.record_callback(self.ticket_id, reached, satisfaction),
            t("ticket.callback.saved"),
        )

    def action_resolve_conflict(self) -> None:
        conflicts = [
            a for a in getattr(self, "_attention", []) if a.kind == "conflict" and a.conflict
        ]
        if not conflicts or self.ticket is None:
            self.notify(t("ticket.conflict.none"))
            return
        item = conflicts[0]
        field, pair = next(iter(item.conflict.items()))
        choices = [
            ("mine", f"{t('ticket.conflict.mine')}: {pair.get('mine')}"),
            ("theirs", f"{t('ticket.conflict.theirs')}: {pair.get('theirs')}"),
        ]

        def chosen(which: str | None) -> None:
            if which is None or self.ticket is None:
                return
            value = pair.get(which)
            desk = self.app.desk  # type: ignore[attr-defined]
            revision = int(self.ticket.data.get("revision", 0))
            self._save(
                "conflict",
                lambda: desk.resolve_conflict(
                    self.ticket_id, item.mutation_id, field, value, revision
                ),
                t("ticket.conflict.kept", value=value),
            )

        self.app.push_screen(
            ChoiceDialog(t("ticket.conflict.title", field=field_label(field)), choices), chosen
        )

    def insert_answer(self, text: str) -> None:
        """Knowledge-base text goes into the ticket's answer (one key in the KB dialog)."""
        if self.ticket is None:
            return
        current = self.ticket.data.get("answer") or ""
        answer = (current + "\n" + text).strip() if current else text
        desk = self.app.desk  # type: ignore[attr-defined]
        revision = int(self.ticket.data.get("revision", 0))
        self._save(
            "answer",
            lambda: desk.update_ticket(self.ticket_id, {"answer": answer}, revision),
            t("kb.inserted"),
        )

    def action_back(self) -> None:
        self.app.pop_screen()


def _dismissed(choice: str) -> str:
    return t("ticket.attention.dismissed") if choice == "dismiss" else ""


def _cache_changed():  # type: ignore[no-untyped-def]
    from agent_tui.messages import CacheChanged

    return CacheChanged()
