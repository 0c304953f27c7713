"""Push mutations as a desk sends them, for tests that push in-process (``push``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hotline.ids import uuid7


def create_ticket(
    mutation_id: int, now: datetime, phone: str = "13800138000", **fields: Any
) -> dict[str, Any]:
    """A ``create_ticket`` mutation for a new ticket (a new id each call), taken at ``now`` on
    a call that began three minutes before; ``phone`` and ``fields`` (more of its args, or
    others in their place) may hold values the server refuses."""
    started = now - timedelta(minutes=3)
    args = {"id": uuid7(), "call_started_at": started.isoformat(),
            "created_at": now.isoformat(), "phone": phone, "district": "徐汇区",
            "account": "来电咨询。", **fields}  # fmt: skip
    return {"mutation_id": mutation_id, "name": "create_ticket", "args": args,
            "client_time": now.isoformat()}  # fmt: skip
