"""保密/匿名: who sees a confidential or anonymous caller's identity.

A caller may ask that their identity stay with the hotline (保密), or give none (匿名). Such a
ticket's caller fields (``hotline.model.CALLER_FIELDS``: name, both phone numbers, ID-card
number and address) are shown only to the ticket's owner (the agent who took it, or the agent
it was reassigned to: first-contact responsibility) and to shift leads and admins, who assign
and supervise tickets. Everyone else, and every export, gets the ticket without them and
with ``caller_hidden`` set, so a screen can say why the fields are empty. The rule is one
function, used by the server for its REST answers, its change feed and its reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotline.model import CALLER_FIELDS, Privacy

HIDDEN_PRIVACY = frozenset({Privacy.CONFIDENTIAL.value, Privacy.ANONYMOUS.value})
# the empty value of each caller field, as TicketFields has it
_EMPTY: dict[str, Any] = {
    "caller_name": "",
    "phone": "",
    "caller_number": None,
    "id_card": None,
    "address": "",
}


def hides_caller(ticket: Mapping[str, Any]) -> bool:
    """Is this ticket's caller confidential or anonymous?"""
    value = ticket.get("privacy")
    return str(getattr(value, "value", value) or "") in HIDDEN_PRIVACY


def may_see_caller(ticket: Mapping[str, Any], username: str | None, role: str | None) -> bool:
    """May this user see the caller fields of this ticket? ``username`` None: an export."""
    if not hides_caller(ticket):
        return True
    if username is None:
        return False
    if role in ("lead", "admin"):
        return True
    return username in (ticket.get("created_by"), ticket.get("assignee"))


def redact_caller(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket without its caller fields, marked ``caller_hidden``."""
    out = dict(ticket)
    for name in CALLER_FIELDS:
        if name in out:
            out[name] = _EMPTY[name]
    out["caller_hidden"] = True
    return out


def for_viewer(ticket: Mapping[str, Any], username: str | None, role: str | None) -> dict[str, Any]:
    """The ticket as this user may see it (an export: ``username`` None)."""
    if may_see_caller(ticket, username, role):
        return dict(ticket)
    return redact_caller(ticket)
