"""Ticket-entry form definitions served to every desk, with a version.

By default the server serves the shipped ``forms/`` folder (``hotline.forms``); an admin can
replace the whole set (stored in ``live_form_sets``) and later go back to the shipped one.
Every change also goes to the change log (``Entity.FORM_SET``) so desks pick it up on pull.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline.forms import forms_as_json, json_set_version, load_shipped_forms, parse_forms
from hotline_server.live.schema import live_form_sets
from hotline_server.live.wire import FormsOut

ROW_ID = 1


class FormsError(ValueError):
    pass


def shipped() -> FormsOut:
    """The shipped ``forms/``, checked in full (``TicketFields``' reading of the values they
    fix included: the desks leave that check to the server and the tests)."""
    data = forms_as_json(load_shipped_forms())  # made once: hashed and served
    return FormsOut(version=json_set_version(data), source="shipped", forms=data)


def validate(forms: dict[str, Any]) -> None:
    """Reject a set the desks could not use: the domain's own parser decides (in full, with
    ``TicketFields``' reading of the values a form fixes: the desks do not check those)."""
    try:
        parse_forms(forms, ticket_values=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise FormsError(f"the form set is not valid: {exc}") from exc


def current(conn: Connection) -> FormsOut:
    row = conn.execute(sa.select(live_form_sets).where(live_form_sets.c.id == ROW_ID)).mappings()
    first = row.first()
    if first is None:
        return shipped()
    return FormsOut(
        version=first["version"],
        source="admin",
        forms=first["forms"],
        updated_at=first["updated_at"],
        updated_by=first["updated_by"],
    )


def replace(conn: Connection, forms: dict[str, Any], *, by: str, now: datetime) -> FormsOut:
    validate(forms)
    version = json_set_version(forms)
    values = {"version": version, "forms": forms, "updated_at": now, "updated_by": by}
    updated = conn.execute(
        live_form_sets.update().where(live_form_sets.c.id == ROW_ID).values(**values)
    ).rowcount
    if not updated:
        conn.execute(live_form_sets.insert().values(id=ROW_ID, **values))
    return current(conn)


def reset(conn: Connection) -> FormsOut:
    conn.execute(live_form_sets.delete().where(live_form_sets.c.id == ROW_ID))
    return shipped()
