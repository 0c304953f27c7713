"""Missed-call callbacks (漏接回拨) and calls the server ends itself: the rules, no I/O.

A caller who hung up while queued (an abandon), or whose call the server had to give up on
(no end event from the phone system, see below), was not served: the call goes onto the
callback list. The list holds **one entry per caller number while it is open**; another
missed call from that number updates the entry (the latest call, how many were missed, the
longest wait) instead of adding one.

An agent claims an entry (so two agents never ring the same citizen), calls back, and
records the outcome against the missed call:

- ``reached`` (接通) and ``wrong_number`` (号码错误) close the entry;
- ``no_answer`` (无人接听) and ``busy`` (占线) are attempts: the entry goes back on the list
  for another try, until ``MAX_ATTEMPTS`` attempts have been made, which closes it;
- ``called_again`` (来电已接通) is set by the server, not an agent: the caller rang again and
  an agent answered, so there is nobody left to call back.

Phantom waiting calls: a call the phone system stopped reporting on (no answered, abandoned
or ended event) is **expired** ``CALL_EXPIRY_SECONDS`` after its last event (the server's
``HOTLINE_LIVE_CALL_EXPIRY_SECONDS``), and a seat's sign-out ends the calls it held (an
answered call ends then) or was offered (a ringing call expires then). How an expired call
counts (``hotline.metrics``): it was offered and not answered, so it stays in the answer
rate's denominator (接通率 = answered / offered falls); it is not an abandon (nobody knows
that the caller hung up) and is counted as ``expired`` beside ``abandoned``; it waited from
its offer to its expiry (longest wait); and it goes onto the callback list like an abandon,
with the reason ``expired``, because the caller was not served as far as anyone knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_ATTEMPTS = 3
CALL_EXPIRY_SECONDS = 3600.0  # one hour without news of a waiting call: it is over


class CallbackOutcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    CALLED_AGAIN = "called_again"  # the server's: the caller got through on a later call


AGENT_OUTCOMES: tuple[CallbackOutcome, ...] = (
    CallbackOutcome.REACHED,
    CallbackOutcome.NO_ANSWER,
    CallbackOutcome.BUSY,
    CallbackOutcome.WRONG_NUMBER,
)
CLOSING_OUTCOMES = frozenset({CallbackOutcome.REACHED, CallbackOutcome.WRONG_NUMBER})


class CallbackStatus(StrEnum):
    OPEN = "open"  # on the list, nobody on it
    CLAIMED = "claimed"  # an agent is calling back
    DONE = "done"


class MissReason(StrEnum):
    ABANDONED = "abandoned"  # the caller hung up while queued
    EXPIRED = "expired"  # the server gave up on a call without an end event


class EndReason(StrEnum):
    """Why the server ended a call itself (``live_calls.end_reason``)."""

    TIMEOUT = "timeout"
    SEAT_SIGNED_OUT = "seat_signed_out"


class CallbackRefused(ValueError):
    """An action on a callback that its state does not allow; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None, *, status: int = 409) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


def closes(outcome: CallbackOutcome, attempts_after: int) -> bool:
    """Whether recording ``outcome`` (the entry's ``attempts_after``-th attempt) closes it."""
    return outcome in CLOSING_OUTCOMES or attempts_after >= MAX_ATTEMPTS


def parse_outcome(value: str) -> CallbackOutcome:
    """An outcome an agent may record; ``CallbackRefused`` (422, field ``outcome``) if not."""
    try:
        outcome = CallbackOutcome(value)
    except ValueError:
        outcome = None
    if outcome is None or outcome not in AGENT_OUTCOMES:
        allowed = ", ".join(o.value for o in AGENT_OUTCOMES)
        raise CallbackRefused(
            f"outcome must be one of {allowed}, not {value!r}", "outcome", status=422
        )
    return outcome


def check_claim(status: str, claimed_by: str | None, agent: str) -> None:
    """``agent`` may claim an entry that is open, or that they hold already (idempotent)."""
    if status == CallbackStatus.DONE:
        raise CallbackRefused("this callback is done already", "id")
    if status == CallbackStatus.CLAIMED and claimed_by and claimed_by != agent:
        raise CallbackRefused(f"{claimed_by} is calling this number back already", "id")


def check_record(status: str, claimed_by: str | None, agent: str) -> None:
    """``agent`` may record an outcome on an entry they hold or that nobody holds."""
    check_claim(status, claimed_by, agent)


@dataclass(frozen=True)
class MissedCall:
    """A call that needs a callback: who called, when, how long they waited."""

    call_id: str
    caller_number: str
    queue: str
    offered_at: datetime
    missed_at: datetime  # when they hung up (or the server gave up on the call)
    reason: MissReason

    @property
    def wait_seconds(self) -> float:
        return max(0.0, (self.missed_at - self.offered_at).total_seconds())
