"""Every user-facing action of the desk, declared once.

One table feeds the screens' ``BINDINGS``, the footer, the command palette, ``agent-tui keys``
and the clash check, so a key can never be documented in one place and bound in another.
Each action has a dotted binding id (what a keymap names), a scope (the screen it lives on,
or ``app`` for keys that work everywhere), the Textual action it runs and an i18n key for what
it does. The default keys here are what ``keymaps/default.toml`` ships; a test keeps the two
in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from agent_tui.i18n import t

APP = "app"
SCOPES = ("app", "intake", "queue", "ticket", "kb", "signin", "demo", "callbacks")


@dataclass(frozen=True)
class DeskAction:
    id: str
    key: str
    action: str
    scope: str
    text: str  # i18n key of the description
    show: bool = True
    priority: bool = False

    def description(self, lang: str | None = None) -> str:
        return t(self.text, lang=lang)


_A = DeskAction

ACTIONS: tuple[DeskAction, ...] = (
    # everywhere on the desk
    _A("app.intake", "ctrl+n", "app.open_intake", APP, "act.app.intake", priority=True),
    _A("app.queue", "ctrl+o", "app.open_queue", APP, "act.app.queue", priority=True),
    _A("app.kb", "ctrl+f", "app.open_kb", APP, "act.app.kb", priority=True),
    _A("app.seat", "ctrl+t", "app.choose_seat", APP, "act.app.seat", priority=True),
    _A("app.seat.ready", "alt+1", "app.seat('ready')", APP, "act.app.seat.ready", show=False),
    _A(
        "app.seat.after_call",
        "alt+2",
        "app.seat('after_call')",
        APP,
        "act.app.seat.after_call",
        show=False,
    ),
    _A("app.seat.break", "alt+3", "app.choose_break", APP, "act.app.seat.break", show=False),
    _A("app.sync", "ctrl+r", "app.sync_now", APP, "act.app.sync", show=False, priority=True),
    # a call offer waits in the incoming strip until the agent takes it: from any screen,
    # and whatever field has the focus (the typed form is kept as a draft)
    _A(
        "app.accept_call",
        "alt+p",
        "app.accept_call",
        APP,
        "act.app.accept_call",
        show=False,  # the strip names the key when a call waits
        priority=True,
    ),
    _A("app.lead", "ctrl+l", "app.open_lead", APP, "act.app.lead", show=False),
    # the missed-call callback list (漏接回拨), a dialog over any screen (in the palette,
    # not the footer: the footer of an 80-column desk is full)
    _A(
        "app.callbacks",
        "alt+b",
        "app.open_callbacks",
        APP,
        "act.app.callbacks",
        show=False,
        priority=True,
    ),
    _A("app.sign_out", "alt+x", "app.sign_out", APP, "act.app.sign_out", show=False),
    _A("app.quit", "ctrl+q", "app.quit", APP, "act.app.quit", show=False, priority=True),
    # intake: the screen of a call (keys must survive a focused Input/TextArea)
    _A(
        "intake.on_spot",
        "ctrl+s",
        "submit('on_spot')",
        "intake",
        "act.intake.on_spot",
        priority=True,
    ),
    _A(
        "intake.dispatch",
        "ctrl+g",
        "submit('dispatch')",
        "intake",
        "act.intake.dispatch",
        priority=True,
    ),
    _A("intake.merge", "alt+m", "merge", "intake", "act.intake.merge", priority=True),
    _A("intake.discard", "alt+n", "discard", "intake", "act.intake.discard", show=False),
    _A(
        "intake.drafts",
        "alt+d",
        "drafts",
        "intake",
        "act.intake.drafts",
        show=False,  # named when a form is set aside for a call
        priority=True,
    ),
    # desk-reported calls, for a site with no phone system connected
    _A(
        "intake.call_answered",
        "alt+a",
        "call_answered",
        "intake",
        "act.intake.call_answered",
        show=False,
        priority=True,
    ),
    _A(
        "intake.call_ended",
        "alt+h",
        "call_ended",
        "intake",
        "act.intake.call_ended",
        show=False,
        priority=True,
    ),
    # Field moves are priority bindings so the app moves the focus before it hands on the keys
    # typed right after Tab: a fast typist's "王小明<Tab>138..." must not land in one field.
    _A(
        "intake.next_field",
        "tab",
        "app.focus_next",
        "intake",
        "act.intake.next_field",
        show=False,
        priority=True,
    ),
    _A(
        "intake.previous_field",
        "shift+tab",
        "app.focus_previous",
        "intake",
        "act.intake.previous_field",
        show=False,
        priority=True,
    ),
    # queue
    _A("queue.open", "enter", "open_ticket", "queue", "act.queue.open"),
    _A("queue.search", "slash", "focus_search", "queue", "act.queue.search"),
    _A("queue.sort", "s", "next_sort", "queue", "act.queue.sort"),
    _A("queue.view.mine", "1", "view('mine')", "queue", "act.queue.view.mine", show=False),
    _A("queue.view.team", "2", "view('team')", "queue", "act.queue.view.team", show=False),
    _A("queue.view.red", "3", "view('red')", "queue", "act.queue.view.red", show=False),
    _A("queue.view.overdue", "4", "view('overdue')", "queue", "act.queue.view.overdue", show=False),
    _A(
        "queue.view.attention",
        "5",
        "view('attention')",
        "queue",
        "act.queue.view.attention",
        show=False,
    ),
    _A("queue.view.all", "6", "view('all')", "queue", "act.queue.view.all", show=False),
    _A("queue.next_view", "v", "next_view", "queue", "act.queue.next_view"),
    # ticket
    _A("ticket.note", "ctrl+s", "add_note", "ticket", "act.ticket.note", priority=True),
    _A("ticket.status", "ctrl+g", "change_status", "ticket", "act.ticket.status", priority=True),
    _A("ticket.escalate", "alt+e", "escalate", "ticket", "act.ticket.escalate", priority=True),
    _A("ticket.callback", "alt+c", "callback", "ticket", "act.ticket.callback", priority=True),
    _A("ticket.conflict", "alt+v", "resolve_conflict", "ticket", "act.ticket.conflict"),
    _A("ticket.attention", "alt+k", "attention", "ticket", "act.ticket.attention", priority=True),
    _A("ticket.back", "escape", "back", "ticket", "act.ticket.back"),
    # knowledge base (a dialog over intake or a ticket)
    _A("kb.insert", "ctrl+b", "insert", "kb", "act.kb.insert", priority=True),
    _A("kb.close", "escape", "close", "kb", "act.kb.close"),
    # the callback list (a dialog; no text field in it, so plain keys are safe)
    _A("callbacks.take", "enter", "take", "callbacks", "act.callbacks.take", priority=True),
    _A("callbacks.release", "u", "release", "callbacks", "act.callbacks.release"),
    _A("callbacks.refresh", "g", "refresh", "callbacks", "act.callbacks.refresh"),
    _A("callbacks.close", "escape", "close", "callbacks", "act.callbacks.close"),
    # sign-in dialog
    _A("signin.submit", "enter", "sign_in", "signin", "act.signin.submit", priority=True),
    _A("signin.offline", "escape", "work_offline", "signin", "act.signin.offline"),
    # `agent-tui demo` only (agent_tui/demo/desk.py installs it on every screen of the demo's
    # desk): drop the demo's link for a while. Its key must be free in every scope.
    _A(
        "demo.cut_link",
        "alt+l",
        "demo_cut_link",
        "demo",
        "act.demo.cut_link",
        show=False,
        priority=True,
    ),
)


def lead_actions() -> tuple[DeskAction, ...]:
    """The lead panel's bindings (agent_tui.lead owns them), so one keymap, one ``keys``
    listing and one clash check cover the whole app. Its two dialogs' Esc keys live in
    scopes of their own: they are never open together."""
    from agent_tui.lead_keys import LEAD_BINDING_IDS, LEAD_BINDINGS

    described = {bid: text for bid, _key, _action, text, _show in LEAD_BINDINGS}
    found = []
    for bid, key in LEAD_BINDING_IDS.items():
        scope = "lead" if bid in described else bid
        text = described.get(bid, "act.lead.dialog")
        found.append(DeskAction(bid, key, "", scope, text, show=False))
    return tuple(found)


ALL_ACTIONS: tuple[DeskAction, ...] = ACTIONS + lead_actions()
BY_ID: dict[str, DeskAction] = {a.id: a for a in ALL_ACTIONS}


def default_keymap() -> dict[str, str]:
    return {a.id: a.key for a in ALL_ACTIONS}


def bindings_for(scope: str) -> list[Binding]:
    """Textual bindings of ``scope`` with descriptions in the current UI language."""
    return [
        Binding(
            a.key,
            a.action,
            a.description(),
            show=a.show,
            priority=a.priority,
            id=a.id,
        )
        for a in ACTIONS
        if a.scope == scope
    ]


def clashes(keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """Pairs of actions reachable at the same time on one key: ``(key, id_a, id_b)``.

    Two actions clash when they share a key and either live in the same scope or one of them
    is an ``app`` action (active on every screen). A key list ``"f5,ctrl+s"`` counts each key.
    """
    found: list[tuple[str, str, str]] = []
    by_key: dict[str, list[DeskAction]] = {}
    for action in ALL_ACTIONS:
        keys = keymap.get(action.id, action.key)
        for key in (k.strip() for k in keys.split(",")):
            if key:
                by_key.setdefault(key, []).append(action)
    for key, actions in sorted(by_key.items()):
        for i, first in enumerate(actions):
            for second in actions[i + 1 :]:
                if first.scope == second.scope or APP in (first.scope, second.scope):
                    found.append((key, first.id, second.id))
    return found
