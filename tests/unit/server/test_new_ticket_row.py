"""A push's new tickets are inserted as ``tickets._new_row`` builds them, with nothing read
back: that holds only while the row names every column of ``tickets`` (a column left out
would get its default in the database, and the change log would not know it). Whatever the
disposition and whichever fields the desk gave, the row names every column, no more."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotline.model import Role
from hotline.protocol import CreateTicketArgs
from hotline_server.auth import User
from hotline_server.db.schema import tickets
from hotline_server.tickets import _new_row, create_fields
from tests.support.mutations import create_ticket

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("disposition", ["pending", "on_spot", "dispatch"])
@pytest.mark.parametrize("more", [{}, {"caller_name": "王", "community": "康", "extra": {"a": 1}}])
def test_a_new_row_names_every_column(disposition: str, more: dict[str, object]) -> None:
    fields = create_ticket(1, NOW, disposition=disposition, **more)["args"]
    if disposition == "on_spot":
        fields["answer"] = "已当场解答。"
    args = CreateTicketArgs.model_validate(fields)
    row = _new_row(args, create_fields(args), User("amy", Role.AGENT, "east"), NOW, "1")
    assert set(row) == set(tickets.c.keys())
