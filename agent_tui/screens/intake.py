"""The screen of a call: a form built from the definitions, checked as the agent types.

Flow: the form opens with a ticket id (UUIDv7) and the call's start time; every change is
validated (``hotline.forms``) with the message next to the field, autosaved as a draft
(debounced, thread worker), and a valid phone number pulls that caller's recent tickets and
open duplicates from the cache. Submit writes ticket + outbox row in one cache transaction:
no network on this path. The provisional number shows until the server's arrives.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches, QueryType
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from agent_tui.cells import fit
from agent_tui.i18n import language, t
from agent_tui.screens.base import DeskScreen, when_composed
from agent_tui.textual_overrides import (
    CachedBindingChain,
    LineCompositor,
    QuietFocus,
    SameSizeResize,
)
from agent_tui.widgets.desk_select import LightSelect
from agent_tui.widgets.field_row import FieldRow
from agent_tui.widgets.form_factory import FieldSpec, compact, field_specs, typed_first
from agent_tui.widgets.incoming import IncomingCall
from agent_tui.widgets.intake_head import IntakeHead
from hotline.forms import FormDef, is_red, to_ticket_fields, validate_values, visible_fields
from hotline.ids import provisional_number, uuid7
from hotline.validators import FieldError
from offline_cache.records import Draft

AUTOSAVE_SECONDS = 0.5
MESSAGE_SETTLE_SECONDS = 0.3  # a message line appears or goes once the keys pause this long
KEYS_LANDED_SECONDS = 5.0  # a bound, never reached in practice: a field drains in ms
# the fields made later come this long after the first frame (IntakeScreen._make_later)
LATER_FIELDS_SECONDS = 0.5
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    """A ticket taken off the form by its submit key, on its way to the cache."""

    form_id: str
    values: dict[str, Any]
    ticket_id: str
    draft_id: str | None
    call_started_at: datetime


class IntakeScreen(SameSizeResize, QuietFocus, CachedBindingChain, DeskScreen):
    SCOPE = "intake"
    # When the screen comes back (after the sign-in dialog, say) the focus goes to the first
    # field, never to the scrolling container: keys typed right away land in the form. Done
    # in on_screen_resume, not by Textual's AUTO_FOCUS: that scrolls the field into view
    # while the screen is still being laid out again, which scrolled the form past its
    # picker on an 80x24 terminal.
    AUTO_FOCUS = ""
    # laid out when first shown, with all its widgets: not again for having mounted
    # (textual_overrides.mounted_without_layout)
    LAID_OUT_ON_RESUME = True

    def __init__(self) -> None:
        super().__init__()
        # a key's frame renders only the widgets on the changed line (textual_overrides)
        self._compositor = LineCompositor()
        self.reported_call: tuple[str, str] | None = None  # (call id, number) answered, not ended
        self._call_reports: deque[tuple[str, str, str, datetime]] = deque()
        self._call_lock = threading.Lock()
        self.forms: dict[str, FormDef] = {}
        self.form: FormDef | None = None
        self.specs: list[FieldSpec] = []
        self.ticket_id = uuid7()
        self.draft_id: str | None = None
        self.call_started_at: datetime | None = None
        self.touched: set[str] = set()
        self.errors: dict[str, FieldError] = {}
        self.duplicate: Any = None
        self.last_saved: str = ""
        self.last_error: str = ""  # why the last submit saved nothing ("" after a save)
        # the draft is saved once the keys pause: one handle on the loop, moved on by every
        # key (_autosave_later)
        self._autosave: asyncio.TimerHandle | None = None
        self._settle: Timer | None = None  # checks and message lines waiting for a pause
        self._check_waits = False  # typed keys not checked yet (see _field_changed)
        self._drivers: tuple[Any, frozenset[str]] = (None, frozenset())
        self._phone_looked_up = ""
        self._units: Any = None  # the handling-unit directory, read with the forms
        self._offer_recent: list[dict[str, Any]] = []
        self._baseline: dict[str, Any] = {}
        self._building = asyncio.Lock()
        # The field rows, in form order: read on every keystroke, so kept here instead of
        # a DOM query per key (set when they are made: compose, a rebuild).
        self._rows: list[FieldRow] = []
        self._forms_ready = False
        self._restore_checked = False
        # Draft writes run in threads; one at a time, a ticket's draft keeps one id, and an
        # older snapshot never overwrites a newer one (a call offer stashes the form while an
        # autosave may be in flight).
        self._draft_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._draft_ids: dict[str, str] = {}  # ticket id -> its draft's id
        self._draft_seq = 0
        self._draft_written_seq: dict[str, int] = {}  # ticket id -> newest snapshot written
        self._stashing = False  # a stash is being written: one call or draft at a time
        self._held: dict[str, Draft] = {}  # ticket id -> a form set aside the cache refused
        self._side_shown: dict[str, Text | str] = {}  # side panel Static id -> what it shows

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The form is built here, from the shipped forms (or the cache's mirror when the
        # cache is already open): the first field has the focus on the first frame, so keys
        # typed while the desk is still opening its cache and signing in land in the form.
        self.forms = self.app.desk.forms()  # type: ignore[attr-defined]
        self._units = self.app.desk.units()  # type: ignore[attr-defined]
        lang = language()
        form = next(iter(self.forms.values()), None)
        if form is not None:
            self.form = form
            self.specs = field_specs(form, lang, self._units)
        yield from self.compose_bars()
        yield IntakeHead(id="intake-head")
        yield Static("", id="intake-red")
        with Horizontal(id="intake-body"):
            with VerticalScroll(id="intake-form"):
                yield compact(
                    LightSelect(
                        [(f.title.get(lang), f.id) for f in self.forms.values()],
                        id="form-choice",
                        prompt=t("intake.form"),
                        value=form.id if form is not None else Select.NULL,
                    )
                )
                with Vertical(id="fields"):
                    if form is not None:
                        self._rows = self._make_rows(form, self.specs, {}, later=True)
                    yield from self._rows
            with VerticalScroll(id="intake-side"):
                yield Static("", id="intake-duplicate")
                yield Label(t("intake.history"), classes="section")
                # what the first lookup answers for the empty form, there from the first
                # frame: its answer then changes nothing (it laid the screen out again)
                none = t("intake.history.none")
                self._side_shown["intake-history"] = none
                yield Static(none, id="intake-history")
                yield Static("", id="intake-last")
        yield from self.compose_footer()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.focused is None:
            first = self._first_field()
            if first is not None:
                self.set_focus(first, scroll_visible=False)

    def on_mount(self) -> None:
        self.query_one("#intake-red").display = False
        self.query_one("#intake-duplicate").display = False
        if self.form is None:
            self.notify(t("intake.no_forms"), severity="error")
            return
        self._baseline = self.values()  # what the widgets announce on mount is no change
        self._refresh_form()
        self._show_title()
        first = self._first_field()
        if first is not None and self.focused is None:
            # now: the first key typed lands in the first field. No scrolling to it: it is at
            # the top of a form that opens at its top, and scrolling before the first layout
            # measured a half-laid-out form and hid the form picker above it on 80x24
            self.set_focus(first, scroll_visible=False)
        # the fields made later (``_make_rows``) come this long after the form is first
        # drawn (the start's own work done by then), or when something reaches one
        self.call_after_refresh(self.set_timer, LATER_FIELDS_SECONDS, self._make_later)
        self._forms_ready = True
        self._maybe_offer_restore()

    def cache_opened(self) -> None:
        """The app opened the cache (after this screen mounted): its mirror of the server's
        forms may differ from the shipped ones; then the draft offer."""
        self._load_mirrored_forms()
        self._maybe_offer_restore()

    @work(thread=True, exclusive=True, group="intake-forms", exit_on_error=False)
    def _load_mirrored_forms(self) -> None:
        forms = self.app.desk.forms()  # type: ignore[attr-defined]
        units = self.app.desk.units()  # type: ignore[attr-defined]
        units_changed = units != self._units
        if forms != self.forms or units_changed:
            self._units = units
            self.app.call_from_thread(self._forms_loaded, forms, units_changed)

    def _maybe_offer_restore(self) -> None:
        """Once both the forms and the cache are there, offer the newest draft once."""
        if self._restore_checked or not self._forms_ready:
            return
        if self.app.desk.store is None:  # type: ignore[attr-defined]
            return  # the app calls cache_opened() when it has opened it
        self._restore_checked = True
        self._read_latest_draft()

    @work(thread=True, group="intake-draft-read", exit_on_error=False)
    def _read_latest_draft(self) -> None:
        draft = self.app.desk.latest_draft()  # type: ignore[attr-defined]
        if draft is not None:
            self.app.call_from_thread(self._offer_restore, draft)

    @when_composed
    def _offer_restore(self, draft: Any) -> None:
        # the form on screen's own draft (typed while the cache opened, autosaved as it
        # opened) is not a form left behind: offering it would take the agent's keys
        if draft.ticket_id == self.ticket_id or not self._worth_restoring(draft):
            return

        from agent_tui.screens.dialogs import ChoiceDialog

        when = draft.updated_at.astimezone().strftime("%H:%M")
        self.app.push_screen(
            ChoiceDialog(
                t("intake.restore", when=when),
                [("yes", t("intake.restore.yes")), ("no", t("intake.restore.no"))],
            ),
            lambda answer: self._restore(draft, answer == "yes"),
        )

    @when_composed
    def _forms_loaded(self, forms: dict[str, FormDef], units_changed: bool = False) -> None:
        """The cache holds the server's own forms: offered from now on; the form on screen
        is rebuilt with them only while nothing is typed in it (never under the agent's
        fingers: a typed form keeps its fields, the next ticket gets the new ones)."""
        self.forms = forms
        choice = self.query_one("#form-choice", Select)
        lang = language()
        choice.set_options([(f.title.get(lang), f.id) for f in forms.values()])
        if not forms:
            return
        if self.form is not None and self.form.id in forms:
            if choice.value != self.form.id:
                choice.value = self.form.id
            if not self._typed() and (forms[self.form.id] != self.form or units_changed):
                self.call_later(self._use_form, self.form.id)
        elif not self._typed():
            self.call_later(self._use_form, next(iter(forms)))

    def _worth_restoring(self, draft: Any) -> bool:
        """Only a draft with something the agent typed (not just the form's defaults)."""
        form = self.forms.get(draft.form_id)
        defaults = {f.id: f.default for f in form.fields} if form else {}
        return any(
            value not in (None, "", False) and value != defaults.get(key)
            for key, value in draft.values.items()
        )

    async def _use_form(self, form_id: str, values: dict[str, Any] | None = None) -> None:
        try:
            await self._build_form(form_id, values)
        except NoMatches:
            if self.is_attached and self.is_mounted:
                raise
            # the desk quit (or the screen closed) while the form was being rebuilt

    async def _build_form(self, form_id: str, values: dict[str, Any] | None) -> None:
        form = self.forms.get(form_id)
        if form is None:
            return
        async with self._building:  # one rebuild at a time; values() reads mounted rows only
            specs = field_specs(form, language(), self._units)
            holder = self.query_one("#fields", Vertical)
            self.specs = []
            self._rows = []
            await holder.remove_children()
            rows = self._make_rows(form, specs, values or {})
            self._rows = rows
            await holder.mount_all(rows)  # each widget made holding its answer
            self.form = form
            self.specs = specs
            self._baseline = self.values()
            choice = self.query_one("#form-choice", Select)
            if choice.value != form.id:
                choice.value = form.id  # its Changed event now matches self.form: no rebuild
        self._refresh_form()
        self._show_title()
        first = self._first_field()
        if first is not None:
            first.focus()

    def _make_rows(
        self, form: FormDef, specs: list[FieldSpec], values: dict[str, Any], later: bool = False
    ) -> list[FieldRow]:
        """The form's rows, each holding its answer (``values``, else the field's default);
        a field hidden by these answers gets its widget when it is first shown. ``later``
        (the form the screen opens with): the fields after those an agent types first
        (``typed_first``) get theirs right after the first frame (``_make_later``)."""
        answers = {spec.id: values.get(spec.id, spec.default) for spec in specs}
        shown = {f.id for f in visible_fields(form, answers)}
        first = typed_first(specs) if later else len(specs)
        rows = [
            FieldRow(spec, answers[spec.id], shown=spec.id in shown, later=index >= first)
            for index, spec in enumerate(specs)
        ]
        for row in rows:
            row.answer_changed = self._row_changed
        return rows

    def _make_later(self) -> None:
        """The widgets of the shown rows made later (``_make_rows``), all of them now: after
        the first frame, or before the focus moves (a Tab may reach one)."""
        for row in self._rows:
            # not into a row being taken down (the desk quitting as the timer fires)
            if row.display and row.field_widget() is None and row.is_attached and row.is_mounted:
                row.ensure_widget()

    def focus_next(self, selector: str | type[QueryType] = "*") -> Widget | None:
        self._make_later()  # every field in the focus chain before it moves
        return super().focus_next(selector)

    def focus_previous(self, selector: str | type[QueryType] = "*") -> Widget | None:
        self._make_later()
        return super().focus_previous(selector)

    def _first_field(self) -> Widget | None:
        """The widget of the first shown field, to take the focus; None under a dialog."""
        first = next((r for r in self._field_rows() if r.display), None)
        if first is None or self.app.screen.is_modal:
            return None
        return first.field_widget()

    def _row(self, field_id: str) -> FieldRow:
        return next(row for row in self._field_rows() if row.spec.id == field_id)

    def _widget(self, field_id: str) -> Widget | None:
        """The field's widget, made now if it is shown and was to come later (None: a field
        hidden since the form opened has none yet)."""
        row = self._row(field_id)
        return row.ensure_widget() if row.display else row.field_widget()

    def _show_title(self) -> None:
        if self.form is None:
            return
        self.query_one(IntakeHead).show(
            t("intake.title", form=self.form.title.get(language())),
            t("intake.number", number=provisional_number(self.ticket_id)),
        )

    # ------------------------------------------------------------------ values

    def _field_rows(self) -> list[FieldRow]:
        return self._rows

    def values(self) -> dict[str, Any]:
        """Every field's answer, shown or not (a hidden field keeps its answer)."""
        return {row.spec.id: row.value for row in self._rows}

    def _refresh_form(
        self, show_all: bool = False, disposition: str | None = None, typing: bool = False
    ) -> None:
        """Visibility, red banner and messages from the current answers (pure domain calls).
        ``typing``: a message line that would appear or go waits until the keys pause
        (``FieldRow.show_error``), so the rows below do not move under the agent's keys."""
        if self.form is None:
            return
        values = self.values()
        shown = {f.id for f in visible_fields(self.form, values)}
        rows = self._field_rows()
        for row in rows:
            row.show(row.spec.id in shown)
        self.errors = {
            e.field: e for e in validate_values(self.form, values, disposition=disposition)
        }
        lang = language()
        waiting = False
        for row in rows:
            error = self.errors.get(row.spec.id)
            visible_error = error is not None and (show_all or row.spec.id in self.touched)
            message = error.message(lang) if visible_error and error else None
            waiting = row.show_error(message, settle=typing) or waiting
        self._check_waits = False
        if waiting:
            self._settle_later()
        elif self._settle is not None:
            self._settle.stop()
            self._settle = None
        red = is_red(self.form, values)
        banner = self.query_one("#intake-red", Static)
        if banner.display != red:
            banner.display = red
            banner.update(Text(t("intake.red"), style="bold"))

    def _settle_later(self) -> None:
        """Check the form and show what waited once the keys pause (from this key on)."""
        if self._settle is None:
            self._settle = self.set_timer(MESSAGE_SETTLE_SECONDS, self._settled)
        else:
            self._settle.reset()

    def _settled(self) -> None:
        """The keys paused: the form is checked and the message lines that waited appear
        or close (one layout)."""
        self._settle = None
        self._refresh_form()

    def _drives_others(self, field_id: str) -> bool:
        """Whether an answer to this field can change more than its own message: another
        field shown or required by it (``show_if``, ``optional_if``), or the red banner."""
        form = self.form
        if form is None:
            return True
        if self._drivers[0] is not form:
            drivers = {f.id for f in form.fields if f.red_if}
            for f in form.fields:
                drivers.update(rule.field for rule in (f.show_if, f.optional_if) if rule)
            self._drivers = (form, frozenset(drivers))
        return field_id in self._drivers[1]

    def _row_of(self, widget: Widget | None) -> FieldRow | None:
        node = widget
        while node is not None and not isinstance(node, FieldRow):
            node = node.parent  # type: ignore[assignment]
        return node if isinstance(node, FieldRow) else None

    def _changed(self, widget: Widget | None, typed: bool = False) -> None:
        row = self._row_of(widget)
        if row is not None:
            self._field_changed(row.spec.id, row.value, row if typed else None)

    def _row_changed(self, row: FieldRow, typed: bool) -> bool:
        """A row's field changed (handed over by the row, ``FieldRow.on_input_changed``):
        as ``_changed``. While the form is being rebuilt the message bubbles on instead and
        arrives as before, after the new rows' answers are the baseline."""
        if self._building.locked():
            return False
        self._field_changed(row.spec.id, row.value, row if typed else None)
        return True

    def _field_changed(self, field_id: str, value: Any, typed: FieldRow | None = None) -> None:
        """An answer changed. ``typed``: the row of a text typed key by key. When that field
        shows no message and no other field depends on it, nothing on screen can change
        before the keys pause (a new message waits for that anyway), so the form's checks
        wait too: a key costs the field's own redraw, not a check of the whole form."""
        if field_id in self._baseline and value == self._baseline[field_id]:
            return  # a widget announcing the value it was built or restored with
        self._baseline[field_id] = value
        if self.call_started_at is None:
            self.call_started_at = self.app.clock()  # type: ignore[attr-defined]
        self.touched.add(field_id)
        if typed is not None and not typed.has_message and not self._drives_others(field_id):
            self._check_waits = True
            self._settle_later()
        else:
            self._refresh_form(typing=True)
        self._autosave_later()

    def _autosave_later(self) -> None:
        """The draft is saved AUTOSAVE_SECONDS after this key, unless another key comes
        first. One handle on the loop, cancelled and made again by each key (a heap entry,
        microseconds; no task): nothing of the autosave runs while the keys come. A Textual
        timer here (a task that, woken early, re-armed itself for the rest) ran on the UI
        loop every AUTOSAVE_SECONDS of typing, between the agent's keys."""
        self._stop_autosave()
        loop = asyncio.get_running_loop()
        self._autosave = loop.call_at(loop.time() + AUTOSAVE_SECONDS, self._autosave_due)

    def _autosave_due(self) -> None:
        """The keys paused: the save runs in the screen's queue, as a timer's callback did
        (never in the middle of another of its handlers)."""
        self._autosave = None
        if self.is_attached:
            self.call_next(self._after_typing)

    def _stop_autosave(self) -> None:
        if self._autosave is not None:
            self._autosave.cancel()
            self._autosave = None

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        self._changed(event.input, typed=True)

    @on(TextArea.Changed)
    def _area_changed(self, event: TextArea.Changed) -> None:
        self._changed(event.text_area, typed=True)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        self._changed(event.checkbox)

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "form-choice":
            if (
                self.form is not None
                and event.value != self.form.id
                and isinstance(event.value, str)
            ):
                kept = self.values()
                self.call_later(self._use_form, event.value, kept)
            return
        self._changed(event.select)

    def _after_typing(self) -> None:
        if self._check_waits:  # the caller lookup reads the phone's check
            self._refresh_form(typing=True)
        self.save_draft()
        self._lookup_caller()

    # ------------------------------------------------------------------ draft

    def save_draft(self) -> None:
        """Autosave: the values are read here, on the UI thread; the commit runs in a thread."""
        if self.form is None:
            return
        self._write_draft(self.form.id, dict(self.values()), self.draft_id, self.ticket_id)

    @work(thread=True, group="intake-draft", exit_on_error=False)
    def _write_draft(
        self, form_id: str, values: dict[str, Any], draft_id: str | None, ticket_id: str
    ) -> None:
        draft_id = self._write_draft_now(form_id, values, draft_id, ticket_id, self._next_seq())
        self.app.call_from_thread(self._draft_written, draft_id, ticket_id)

    def _next_seq(self) -> int:
        self._draft_seq += 1
        return self._draft_seq

    def _write_draft_now(
        self, form_id: str, values: dict[str, Any], draft_id: str | None, ticket_id: str, seq: int
    ) -> str:
        """Write one snapshot of a form (in a worker thread); returns the draft's id."""
        with self._draft_lock:
            draft_id = draft_id or self._draft_ids.get(ticket_id)
            if draft_id and seq < self._draft_written_seq.get(ticket_id, 0):
                return draft_id  # a newer snapshot of this form is already on disk
            draft = self.app.desk.save_draft(form_id, values, draft_id, ticket_id)  # type: ignore[attr-defined]
            self._draft_ids[ticket_id] = draft.id
            self._draft_written_seq[ticket_id] = seq
            return str(draft.id)

    def _draft_written(self, draft_id: str, ticket_id: str) -> None:
        if ticket_id == self.ticket_id:  # not a late answer about a call already saved
            self.draft_id = draft_id

    def _restore(self, draft: Any, restore: bool) -> None:
        if not restore:
            self._discard_draft(draft.id)
            return
        self._stop_autosave()
        self._reset(rebuild=False)
        held = self._held.pop(draft.ticket_id or "", None)
        made_up = held is draft and draft.id not in self._draft_ids.values()
        self.draft_id = None if made_up else draft.id  # a memory-only form has no draft yet
        if draft.ticket_id:
            self.ticket_id = draft.ticket_id
        self.call_started_at = draft.created_at
        self.touched = {k for k, v in draft.values.items() if v not in (None, "", False)}
        self.call_later(self._use_form, draft.form_id, draft.values)

    @work(thread=True, group="intake-draft-delete", exit_on_error=False)
    def _discard_draft(self, draft_id: str) -> None:
        self.app.desk.delete_draft(draft_id)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ caller lookup

    def _lookup_caller(self) -> None:
        values = self.values()
        phone = str(values.get("phone") or "")
        address = str(values.get("address") or "")
        if "phone" in self.errors or not phone:
            phone = ""
        key = f"{phone}|{address}"
        if key == self._phone_looked_up:
            return
        self._phone_looked_up = key
        self.lookup(phone, address)

    @work(thread=True, exclusive=True, group="intake-lookup", exit_on_error=False)
    def lookup(self, phone: str, address: str) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        from hotline.validators import validate_phone

        normalized = ""
        if phone:
            try:
                normalized = validate_phone(phone)
            except FieldError:
                normalized = ""
        recent = desk.recent_for_phone(normalized) if normalized else []
        open_rows = desk.open_for_phone(normalized) if normalized else []
        if not open_rows and address:
            open_rows = desk.open_for_address(address)
        open_rows = [r for r in open_rows if r.id != self.ticket_id]
        recent = [r for r in recent if r.id != self.ticket_id]
        self.app.call_from_thread(self._show_lookup, recent, open_rows)

    @when_composed
    def _show_lookup(self, recent: list[Any], open_rows: list[Any]) -> None:
        self._show_history(recent)
        self.duplicate = open_rows[0] if open_rows else None
        self._show_duplicate()

    def _show_history(self, recent: list[Any]) -> None:
        """The caller's recent tickets: this cache's, then those the call offer brought."""
        history = Text()
        for row in recent:
            history.append(f"{row.display_number} ", style="bold")
            history.append(f"{t('status.' + row.status)} {t('kind.' + row.kind)}\n")
            history.append(f"  {row.address}\n", style="dim")
        known = {row.id for row in recent}
        for item in self._offer_recent:  # from the call offer: tickets this cache may lack
            if item.get("id") in known:
                continue
            history.append(f"{item.get('number') or ''} ", style="bold")
            history.append(f"{t('status.' + str(item.get('status')))} ")
            history.append(f"{t('kind.' + str(item.get('kind')))}\n")
            history.append(f"  {str(item.get('account') or '')[:40]}\n", style="dim")
        self._show_side("intake-history", history or t("intake.history.none"))

    def _show_side(self, static_id: str, content: Text | str) -> None:
        """Put ``content`` on a side panel's Static unless it shows it already: the lookups
        run again as the agent types on (the same caller, the same address) and mostly find
        the same tickets, and each update laid out the whole screen between the keys."""
        if self._side_shown.get(static_id) == content:
            return
        self._side_shown[static_id] = content
        self.query_one(f"#{static_id}", Static).update(content)

    def _show_duplicate(self) -> None:
        warning = self.query_one("#intake-duplicate", Static)
        warning.display = self.duplicate is not None
        if self.duplicate is not None:
            self._show_side(
                "intake-duplicate",
                Text(
                    t(
                        "intake.duplicate",
                        number=self.duplicate.display_number,
                        status=t("status." + self.duplicate.status),
                        address=self.duplicate.address,
                        caller=caller_text(self.duplicate.caller_name, self.duplicate.phone),
                        key=self.app.key_for("intake.merge"),  # type: ignore[attr-defined]
                    ),
                    style="bold",
                ),
            )

    # ------------------------------------------------------------------ calls and drafts

    def _typed(self) -> bool:
        """Whether the form holds anything the agent typed (not just the form's defaults)."""
        if self.form is None:
            return False
        defaults = {f.id: f.default for f in self.form.fields}
        return any(
            value not in (None, "", False) and value != defaults.get(key)
            for key, value in self.values().items()
        )

    def take_call(self, call: IncomingCall) -> None:
        """The agent took the waiting call: keep what is typed as a draft (on disk before
        the form is touched), then open the call's form with the caller's number."""
        if self.form is None or self._stashing:
            return  # the forms are still loading, or a stash is being written: still waiting
        self._stash_then(lambda: self._open_call(call))

    def _stash_then(self, then: Callable[[], None]) -> None:
        """Run ``then`` once the form being typed (if anything was) is safely a draft."""
        if not self._typed() or self.form is None:
            then()
            return
        self._stop_autosave()
        self._stashing = True
        values = dict(self.values())
        self._write_stash(
            self.form.id, values, self.draft_id, self.ticket_id, self._next_seq(), then
        )

    @work(thread=True, group="intake-stash", exit_on_error=False)
    def _write_stash(
        self,
        form_id: str,
        values: dict[str, Any],
        draft_id: str | None,
        ticket_id: str,
        seq: int,
        then: Callable[[], None],
    ) -> None:
        try:
            kept = self._write_draft_now(form_id, values, draft_id, ticket_id, seq)
        except Exception as exc:  # SaveFailed carries a readable message
            text = exc.message(language()) if hasattr(exc, "message") else str(exc)
            self.app.call_from_thread(self._stash_failed, text)
            return
        self.app.call_from_thread(self._stashed, form_id, values, kept, ticket_id, then)

    def _stash_failed(self, text: str) -> None:
        """Nothing replaced the form: it stays on screen, the call keeps waiting."""
        self._stashing = False
        self.notify(t("incoming.draft_failed", error=text), severity="error", timeout=30)

    def _stashed(
        self,
        form_id: str,
        values: dict[str, Any],
        draft_id: str,
        ticket_id: str,
        then: Callable[[], None],
    ) -> None:
        self._stashing = False
        if not self.is_attached or ticket_id != self.ticket_id:
            return  # the form was saved or changed meanwhile; the call keeps waiting
        now = dict(self.values())
        if now != values:  # keys typed while the stash was written: they go in too
            self._write_draft(form_id, now, draft_id, ticket_id)
        self.notify(t("incoming.draft_kept", key=self.app.key_for("intake.drafts")))  # type: ignore[attr-defined]
        then()

    def _open_call(self, call: IncomingCall) -> None:
        """A fresh form with the number already in, and the caller's recent tickets the
        server sent with the offer beside it."""
        self._stop_autosave()
        self._reset(rebuild=False)
        self._offer_recent = list(call.recent_tickets)
        self.call_started_at = self.app.clock()  # type: ignore[attr-defined]
        self.call_later(self._fill_offer, call.caller_number)
        self.app.call_taken(call)  # type: ignore[attr-defined]

    def action_drafts(self) -> None:
        """The drafts kept on this desk (a form set aside for a call, or left by a crash)."""
        self._list_drafts()

    @work(thread=True, group="intake-drafts", exit_on_error=False)
    def _list_drafts(self) -> None:
        drafts = self.app.desk.drafts()  # type: ignore[attr-defined]
        self.app.call_from_thread(self._choose_draft, drafts)

    def _with_held(self, drafts: list[Any]) -> list[Any]:
        """The cache's drafts and, first, the forms set aside while it refused writes."""
        on_disk = {d.ticket_id for d in drafts}
        held = [d for d in self._held.values() if d.ticket_id not in on_disk]
        return held + drafts

    @when_composed
    def _choose_draft(self, drafts: list[Any]) -> None:
        drafts = [
            d
            for d in self._with_held(drafts)
            if d.ticket_id != self.ticket_id and self._worth_restoring(d)
        ]
        if not drafts:
            self.notify(t("drafts.none"))
            return
        drafts = drafts[:9]  # the dialog's digits pick 1-9
        from agent_tui.screens.dialogs import ChoiceDialog

        by_id = {d.id: d for d in drafts}
        self.app.push_screen(
            ChoiceDialog(t("drafts.title"), [(d.id, self._draft_label(d)) for d in drafts]),
            lambda chosen: self._draft_chosen(by_id.get(chosen or "")),
        )

    def _draft_label(self, draft: Any) -> str:
        values = draft.values
        when = draft.updated_at.astimezone().strftime("%H:%M")
        parts = [str(values.get(k) or "").strip() for k in ("phone", "caller_name", "account")]
        text = " · ".join(p for p in parts if p) or t("drafts.empty_values")
        return f"{when}  {fit(text.replace(chr(10), ' '), 60).rstrip()}"

    def _draft_chosen(self, draft: Any) -> None:
        if draft is None or self._stashing:
            return
        self._stash_then(lambda: self._restore(draft, True))

    async def _fill_offer(self, caller_number: str) -> None:
        """Rebuild the form with the number in it (one coroutine: no race with the rebuild)."""
        form_id = self.form.id if self.form is not None else next(iter(self.forms), None)
        if form_id is None:
            return
        # the caller ID is kept as it came; the contact number starts as it and may change
        await self._use_form(form_id, {"phone": caller_number, "caller_number": caller_number})
        if not self.is_attached or not self.is_mounted:
            return  # the desk quit while the offer was landing
        if self._offer_recent:
            self._show_history([])  # what the offer brought, while the cache is looked up
        if any(s.id == "phone" for s in self.specs):
            self.touched.add("phone")
            self._refresh_form()
            self._lookup_caller()
            self.save_draft()

    # ------------------------------------------------------------------ desk-reported calls

    def _caller_number(self) -> str:
        from hotline.validators import validate_phone

        phone = str(self.values().get("phone") or "").strip()
        if not phone:
            return ""
        try:
            return validate_phone(phone)
        except FieldError:
            return ""

    def action_call_answered(self) -> None:
        """The agent picked up a call no phone system reported: tell the server (outbox)."""
        if self.reported_call is not None:
            self.notify(t("intake.call_in_progress"), severity="warning")
            return
        now = self.app.clock()  # type: ignore[attr-defined]
        if self.call_started_at is None:
            self.call_started_at = now
        self.reported_call = (uuid7(), self._caller_number())
        self._queue_call_report("answered", *self.reported_call, now)

    def action_call_ended(self) -> None:
        if self.reported_call is None:
            self.notify(t("intake.call_none"), severity="warning")
            return
        call_id, number = self.reported_call
        self.reported_call = None
        self._queue_call_report("ended", call_id, number, self.app.clock())  # type: ignore[attr-defined]

    def _queue_call_report(self, event: str, call_id: str, number: str, at: datetime) -> None:
        self._call_reports.append((event, call_id, number, at))
        self._write_call_reports()

    @work(thread=True, group="intake-call", exit_on_error=False)
    def _write_call_reports(self) -> None:
        """Write the queued reports in the order they were made (answered before ended),
        whichever worker gets the lock first."""
        with self._call_lock:
            while self._call_reports:
                event, call_id, number, at = self._call_reports.popleft()
                try:
                    self.app.desk.report_call(event, call_id, number, at)  # type: ignore[attr-defined]
                except Exception as exc:  # SaveFailed carries a readable message
                    text = exc.message(language()) if hasattr(exc, "message") else str(exc)
                    self.app.call_from_thread(self._call_report_failed, event, call_id, text)
                    continue
                self.app.call_from_thread(self._call_reported, event, number)

    def _call_reported(self, event: str, number: str) -> None:
        if event == "answered":
            text = (
                t("intake.call_answered", number=number)
                if number
                else t("intake.call_answered.unknown")
            )
        else:
            text = t("intake.call_ended")
        self.notify(text)
        self.app.poke_sync()  # type: ignore[attr-defined]

    def _call_report_failed(self, event: str, call_id: str, text: str) -> None:
        if event == "answered" and self.reported_call and self.reported_call[0] == call_id:
            self.reported_call = None  # not recorded: the agent may press the key again
        self.notify(t("intake.save_failed", error=text), severity="error", timeout=30)

    # ------------------------------------------------------------------ submit

    def _check(self, disposition: str = "pending") -> Any:
        """The ticket fields, or None after showing every problem next to its field (the
        outcome's own rules too: 答复内容 for an answer on the spot)."""
        if self.form is None:
            return None
        values = self.values()
        self._refresh_form(show_all=True, disposition=disposition)
        if self.errors:
            self.notify(t("intake.invalid", n=len(self.errors)), severity="error")
            for spec in self.specs:
                widget = self._widget(spec.id) if spec.id in self.errors else None
                if widget is not None:  # a shown field: only those are checked
                    widget.focus()
                    break
            return None
        try:
            return to_ticket_fields(self.form, values, disposition=disposition)
        except FieldError as exc:
            self.notify(exc.message(language()), severity="error")
            return None

    async def action_submit(self, disposition: str) -> None:
        await self._typed_keys_landed()
        self._submit(disposition)

    async def _typed_keys_landed(self) -> None:
        """Wait until the keys typed before this one have landed in their field. The submit
        keys are priority bindings (a focused TextArea must not eat them), which the app runs
        the moment it reads them, while the characters typed just before still wait in the
        focused field's queue: at machine speed the submit would check a half-typed form.
        While this waits the app reads no further key, so the keys typed after the submit
        reach the next ticket's first field, not the field of the ticket being saved."""
        focused = self.app.focused
        if focused is None or focused is self:
            return
        landed = asyncio.Event()
        focused.call_later(landed.set)
        try:
            await asyncio.wait_for(landed.wait(), KEYS_LANDED_SECONDS)
        except TimeoutError:
            log.warning("the focused field did not drain its keys; submitting what it holds")

    def _submit(self, disposition: str) -> None:
        fields = self._check(disposition)
        if fields is None:
            return
        self._save(fields, disposition, None, self._hand_over())

    async def action_merge(self) -> None:
        await self._typed_keys_landed()
        if self.duplicate is None:
            self.notify(t("intake.no_duplicate"), severity="warning")
            return
        fields = self._check()
        if fields is None:
            return
        self._save(fields, "pending", self.duplicate, self._hand_over())

    def _hand_over(self) -> Submitted:
        """Take the checked ticket off the form and clear the form in place, on this key
        press: keys typed right after the submit key (an auto-typing tool, a fast agent) land
        in the next ticket's first field instead of being wiped by a rebuild when the save
        answers. The returned copy is what the save writes, and what comes back on failure."""
        assert self.form is not None  # _check said so
        clock = self.app.clock  # type: ignore[attr-defined]
        self._stop_autosave()
        submitted = Submitted(
            form_id=self.form.id,
            values=dict(self.values()),
            ticket_id=self.ticket_id,
            draft_id=self.draft_id or self._draft_ids.get(self.ticket_id),
            call_started_at=self.call_started_at or clock(),
        )
        self._reset(rebuild=False)
        self.query_one("#intake-last", Static).update(Text(t("intake.saving")))
        for row in self._field_rows():
            row.value = row.spec.default
        self._baseline = self.values()
        self._refresh_form()
        self._show_title()
        first = self._first_field()
        if first is not None:
            self.app.set_focus(first)  # now, before the next key
        return submitted

    # Not exclusive: a second ticket submitted while the first is being written must never
    # cancel the first one's save; the lock keeps them in the order they were submitted.
    @work(thread=True, group="intake-save", exit_on_error=False)
    def _save(self, fields: Any, disposition: str, merge_into: Any, submitted: Submitted) -> None:
        desk = self.app.desk  # type: ignore[attr-defined]
        clock = self.app.clock  # type: ignore[attr-defined]
        started = submitted.call_started_at
        try:
            with self._save_lock:
                saved = desk.create_ticket(
                    fields,
                    ticket_id=submitted.ticket_id,
                    call_started_at=started,
                    disposition=disposition,
                    draft_id=submitted.draft_id,
                )
                if merge_into is not None:
                    desk.merge(saved.ticket_id, merge_into.id)
        except Exception as exc:  # SaveFailed / InvalidChange carry readable messages
            text = exc.message(language()) if hasattr(exc, "message") else str(exc)
            self.app.call_from_thread(
                self._save_failed, t("intake.save_failed", error=text), submitted
            )
            return
        if merge_into is not None:
            how = t(
                "intake.merged",
                number=merge_into.display_number,
                mine=caller_text(fields.caller_name, fields.phone),
                theirs=caller_text(merge_into.caller_name, merge_into.phone),
            )
        elif disposition == "dispatch":
            deadline = self._deadline(fields, submitted.ticket_id, started, clock())
            how = (
                t("intake.saved.dispatch", deadline=deadline)
                if deadline
                else t("intake.saved.dispatch_nodeadline")
            )
        else:
            how = t("intake.saved.on_spot")
        self.app.call_from_thread(self._saved, saved.display_number or "", how)

    def _deadline(self, fields: Any, ticket_id: str, started: datetime, now: datetime) -> str:
        """The handling deadline the clocks give this ticket if dispatched now."""
        from hotline.clocks import handling_deadline
        from hotline.model import Ticket

        try:
            ticket = Ticket(
                **fields.model_dump(),
                id=ticket_id,
                call_started_at=started,
                created_at=now,
                status="dispatched",
                disposition="dispatch",
            )
            when = handling_deadline(ticket, dispatched_at=now)
        except (ValueError, TypeError):
            return ""
        return when.strftime("%m-%d %H:%M")

    @when_composed
    def _save_failed(self, message: str, submitted: Submitted) -> None:
        """Nothing was saved: say why (toast and beside the form) and put the ticket back in
        the form with every value, so the same submit can be pressed again once the disk
        takes writes. If the agent already started the next ticket, that one is set aside
        as a draft first (kept in memory too while the disk refuses it): nothing is lost."""
        self.notify(message, severity="error", timeout=30)
        if self._typed() and self.form is not None:
            self._set_aside(self.form.id, dict(self.values()), self.ticket_id)
        self._stop_autosave()
        self._reset(rebuild=False)
        self.ticket_id = submitted.ticket_id
        self.draft_id = submitted.draft_id
        self.call_started_at = submitted.call_started_at
        self.touched = {k for k, v in submitted.values.items() if v not in (None, "", False)}
        self.call_later(self._put_back, submitted, message)

    async def _put_back(self, submitted: Submitted, message: str) -> None:
        await self._use_form(submitted.form_id, submitted.values)
        self.last_error = message  # said once the form holds the ticket again
        self.query_one("#intake-last", Static).update(Text(message, style="bold red"))

    def _set_aside(self, form_id: str, values: dict[str, Any], ticket_id: str) -> None:
        """Keep a form that has to leave the screen: in memory at once (the drafts list
        shows it), and on disk as a draft when the cache takes the write."""
        now = self.app.clock()  # type: ignore[attr-defined]
        draft_id = self._draft_ids.get(ticket_id) or uuid7()
        self._held[ticket_id] = Draft(draft_id, form_id, values, ticket_id, now, now)
        self.notify(t("intake.set_aside", key=self.app.key_for("intake.drafts")))  # type: ignore[attr-defined]
        self._write_held(form_id, values, ticket_id, self._next_seq())

    @work(thread=True, group="intake-draft", exit_on_error=False)
    def _write_held(self, form_id: str, values: dict[str, Any], ticket_id: str, seq: int) -> None:
        try:
            self._write_draft_now(form_id, values, None, ticket_id, seq)
        except Exception:  # the disk still refuses: the memory copy stays in the list
            log.warning("a set-aside form stays in memory: the cache refused its draft")
            return
        self.app.call_from_thread(self._held.pop, ticket_id, None)

    @when_composed
    def _saved(self, number: str, how: str) -> None:
        self.last_error = ""
        message = t("intake.saved", number=number, how=how)
        self.last_saved = message
        self.notify(message)
        self.query_one("#intake-last", Static).update(Text(message, style="bold"))
        from agent_tui.messages import CacheChanged

        self.app.post_message(CacheChanged())
        self.app.poke_sync()  # type: ignore[attr-defined]

    def _reset(self, rebuild: bool = True) -> None:
        self.ticket_id = uuid7()
        self.draft_id = None
        self.call_started_at = None
        self.touched = set()
        self.duplicate = None
        self._phone_looked_up = ""
        self._offer_recent = []
        self.query_one("#intake-duplicate").display = False
        self._show_side("intake-history", "")
        if rebuild and self.form is not None:
            self.call_later(self._use_form, self.form.id, None)

    def action_discard(self) -> None:
        if self.draft_id:
            self._discard_draft(self.draft_id)
        self._reset()
        self.notify(t("intake.discarded"))

    def insert_answer(self, text: str) -> None:
        """Knowledge-base text into the answer field (or the account when the form has none)."""
        for target in ("answer", "account"):
            if any(s.id == target for s in self.specs):
                row = self._row(target)
                current = row.value or ""
                row.value = (current + "\n" + text).strip() if current else text
                self._field_changed(target, row.value)
                return


def caller_text(name: str | None, phone: str | None) -> str:
    """A caller as a merge names them: name and number, whichever are known."""
    parts = [p for p in ((name or "").strip(), (phone or "").strip()) if p]
    return " ".join(parts) or "-"
