"""The closed loop of a ticket as a state machine.

accepted 受理 → dispatched 派单 → handling 办理 → replied 答复 → (supervised 督办)
→ closed 办结 → callback 回访 → evaluated 评价; answered on the spot (当场解答) closes at
intake; a repeated request is merged (并单) into an existing ticket.
"""

from __future__ import annotations

from hotline.model import Status

S = Status

# Reopening (back to handling) is the only way to change a closed ticket.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.ACCEPTED: frozenset({S.DISPATCHED, S.CLOSED, S.MERGED}),
    S.DISPATCHED: frozenset({S.HANDLING, S.SUPERVISED, S.REPLIED, S.MERGED}),
    S.HANDLING: frozenset({S.REPLIED, S.SUPERVISED}),
    S.SUPERVISED: frozenset({S.HANDLING, S.REPLIED}),
    S.REPLIED: frozenset({S.CLOSED, S.HANDLING, S.SUPERVISED}),
    S.CLOSED: frozenset({S.CALLBACK, S.EVALUATED, S.HANDLING}),
    S.CALLBACK: frozenset({S.EVALUATED, S.HANDLING}),
    S.EVALUATED: frozenset(),
    S.MERGED: frozenset(),
}

OPEN_STATUSES: frozenset[Status] = frozenset(
    {S.ACCEPTED, S.DISPATCHED, S.HANDLING, S.REPLIED, S.SUPERVISED}
)
FINISHED_STATUSES: frozenset[Status] = frozenset({S.CLOSED, S.CALLBACK, S.EVALUATED, S.MERGED})


class IllegalTransition(ValueError):
    """A move the closed loop does not allow; names both states."""

    def __init__(self, current: Status, target: Status) -> None:
        self.current = current
        self.target = target
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        super().__init__(
            f"cannot move a ticket from {current.value} to {target.value} "
            f"(allowed from {current.value}: {allowed})"
        )


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def move(current: Status, target: Status) -> Status:
    """Return ``target`` if the closed loop allows it, else raise ``IllegalTransition``."""
    if not can_move(current, target):
        raise IllegalTransition(current, target)
    return target


def is_open(status: Status) -> bool:
    return status in OPEN_STATUSES
