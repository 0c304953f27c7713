"""Appliers: one function per mutation name, registered here by the core and the live side.

An applier runs inside the push transaction (in its own SAVEPOINT), validates its args and
either returns what it applied or raises :class:`Rejected` with a reason and the field at
fault. It never commits; it may schedule work for after the commit (``ctx.after_commit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Connection

from hotline.protocol import MUTATION_ARGS, MutationName
from hotline_server.auth import User


class Rejected(ValueError):
    """The mutation cannot apply; ``reason`` is shown to the agent as "needs attention"."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass
class Applied:
    ticket_id: str | None = None
    ticket_number: str | None = None
    revision: int | None = None
    conflict: dict[str, Any] | None = None


@dataclass
class ApplyContext:
    conn: Connection
    user: User
    now: datetime
    client_id: str | None
    mutation_id: int | None
    timezone: str = "Asia/Shanghai"
    teams_configured: bool = False
    seqs: list[int] = field(default_factory=list)
    after_commit: list[Callable[[Any], None]] = field(default_factory=list)


Applier = Callable[[ApplyContext, Any], Applied]
_appliers: dict[MutationName, Applier] = {}


def register(name: MutationName, fn: Applier) -> None:
    _appliers[name] = fn


def applier_for(name: MutationName) -> Applier | None:
    return _appliers.get(name)


def args_model(name: MutationName) -> type[BaseModel]:
    return MUTATION_ARGS[name]


def registered() -> set[MutationName]:
    return set(_appliers)
