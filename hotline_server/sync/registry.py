"""Appliers: one function per mutation name, registered here by the core and the live side.

An applier runs inside the push transaction, validates its args and either returns what it
applied or raises :class:`Rejected` with a reason and the field at fault. Push first applies
a batch without savepoints (runs of one name through its batch applier, when it has one);
only if anything raises does it roll back and apply the batch again, each mutation in its
own SAVEPOINT, so a bad mutation gets its own precise error and the rest still apply. An
applier never commits; it may schedule work for after the commit (``ctx.after_commit``).
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


def _no_teams() -> bool:
    return False


@dataclass
class ApplyContext:
    conn: Connection
    user: User
    now: datetime
    client_id: str | None
    mutation_id: int | None
    timezone: str = "Asia/Shanghai"
    # Whether team visibility applies (a user has a team), asked only by an applier that
    # reads a ticket it did not make: push hands every context of a batch one reader that
    # asks the push's own connection once, so a batch of creates never reads it.
    teams: Callable[[], bool] = _no_teams
    # The request's body holds no NUL character anywhere (``limits.NUL_FREE``): the
    # mutation's own walk for one is skipped.
    nul_free: bool = False
    seqs: list[int] = field(default_factory=list)
    after_commit: list[Callable[[Any], None]] = field(default_factory=list)

    @property
    def teams_configured(self) -> bool:
        return self.teams()


Applier = Callable[[ApplyContext, Any], Applied]
# Many mutations of one name at once, in order (one context and args per mutation): an
# ``Applied``, or the ``Rejected`` of a mutation refused before it wrote anything. Anything
# it raises makes push apply the batch again one mutation per SAVEPOINT with ``Applier``.
BatchApplier = Callable[[list[ApplyContext], list[Any]], list["Applied | Rejected"]]
_appliers: dict[MutationName, Applier] = {}
_batch_appliers: dict[MutationName, BatchApplier] = {}


def register(name: MutationName, fn: Applier, batch: BatchApplier | None = None) -> None:
    _appliers[name] = fn
    if batch is not None:
        _batch_appliers[name] = batch
    else:
        _batch_appliers.pop(name, None)


def applier_for(name: MutationName) -> Applier | None:
    return _appliers.get(name)


def batch_applier_for(name: MutationName) -> BatchApplier | None:
    return _batch_appliers.get(name)


def args_model(name: MutationName) -> type[BaseModel]:
    return MUTATION_ARGS[name]


def registered() -> set[MutationName]:
    return set(_appliers)
