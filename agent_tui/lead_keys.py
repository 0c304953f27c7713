"""The lead panel's key table, apart from the panel itself.

The desk's action list (``agent_tui.actions``), its keymap and ``agent-tui keys`` need the
lead panel's binding ids and keys on every start; the panel (``agent_tui.lead``: charts,
tables, an HTTP source) is imported only when a lead opens it. So the table lives here,
and ``agent_tui.lead`` takes it from here.
"""

from __future__ import annotations

# (binding id, key, action, i18n key of the footer text, shown in the footer)
LEAD_BINDINGS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("lead.window_next", "w", "window_next", "lead.key.window_next", True),
    ("lead.window_today", "1", "window('today')", "lead.key.window_today", False),
    ("lead.window_60m", "2", "window('60m')", "lead.key.window_60m", False),
    ("lead.window_15m", "3", "window('15m')", "lead.key.window_15m", False),
    ("lead.sort", "s", "sort", "lead.key.sort", True),
    ("lead.sort_reverse", "S", "sort_reverse", "lead.key.sort_reverse", False),
    ("lead.filter", "f", "filter", "lead.key.filter", True),
    ("lead.open", "o", "open_ticket", "lead.key.open", True),
    ("lead.escalate", "e", "escalate", "lead.key.escalate", True),
    ("lead.reassign", "r", "reassign", "lead.key.reassign", True),
    ("lead.export", "x", "export('today')", "lead.key.export", True),
    ("lead.export_yesterday", "X", "export('yesterday')", "lead.key.export_yesterday", False),
    ("lead.bell", "b", "bell", "lead.key.bell", True),
    ("lead.refresh", "f5", "refresh_now", "lead.key.refresh", False),
)

#: Binding id -> default key, for keymaps (``App.set_keymap``) and ``agent-tui keys``.
LEAD_BINDING_IDS: dict[str, str] = {
    **{bid: key for bid, key, *_ in LEAD_BINDINGS},
    "lead.dialog_cancel": "escape",  # the escalate/reassign prompt
    "lead.dialog_close": "escape",  # the ticket view
}
