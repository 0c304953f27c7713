"""The shift-lead measures of METRICS.md, computed from call, seat and ticket records.

Pure functions, no I/O: the server feeds them rows from its tables, tests feed them
hand-made records. Every figure follows exactly one definition from METRICS.md:

- offered: calls that entered the queue in the window (``offered_at`` in the window);
- answered: offered calls an agent picked up;
- abandoned: offered calls whose caller hung up while queued. ``short_abandoned`` counts the
  abandons that waited under 5 s; they are included in ``abandoned`` and reported separately;
- answer rate 接通率 = answered / offered; abandonment rate = abandoned / offered;
- service level (X s) = calls answered within X s / offered (X = 15 s by default, GB/T 33358);
- average speed of answer = mean queue wait of answered calls;
- average handle time = talk + hold + after-call work, per handled call (an answered call that
  has ended; after-call work counts once it has ended). Hold is reported as a total inside the
  connected span (answered -> ended), so talk + hold is that span: hold is never added twice
  (``CallRecord.handle_seconds``);
- occupancy = handle time / (handle time + ready time) from seat-state time in the window,
  where handle time is time on call plus after-call work;
- calls waiting / longest wait: now, from calls offered and neither answered nor abandoned;
- expired: offered calls the server ended without an answer because no end event came
  (``hotline.callbacks``): offered and not answered (the answer rate counts them against),
  not abandoned; ``longest_wait`` of a window is the longest queue wait of its offered calls
  whose wait is over (answered, abandoned, ended or expired; a call still waiting is in
  ``queue_now``'s longest wait instead);
- callbacks 漏接回拨 (``callback_measures``): due = entries open at some moment of the window
  (missed before its end, not done before its start), done = entries closed in the window;
- seats staffed: agents whose seat was signed in (ready, on call, after-call work, break)
  at some moment of the window;
- on-the-spot answer rate 当场解答率 = tickets closed during the call / tickets created;
- first-call resolution 首呼解决率 = tickets *resolved* (closed, callback, evaluated; an
  on-the-spot answer is closed) with no repeat call from the same number within 7 days /
  tickets created (tickets without a caller number cannot be judged and are left out). An open
  ticket, or a merged one, is not a resolution whatever the calls; a ticket resolved less than
  7 days ago counts until a repeat call arrives;
- resolution rate 解决率 = resolved / dispatched, per category (and per kind). A merged
  ticket (并单) is not counted as dispatched: its matter is handled, and counted, as the ticket
  it was merged into, so it never shows as dispatched-but-unresolved;
- satisfaction rate 满意率 = (满意 + 基本满意) / tickets evaluated with a score (评价, the
  three levels of hotline.model.Satisfaction), over the window's tickets;
- red-ticket response: of the window's red tickets (merged ones left out), the mean time from
  the call to the first response, and the share responded within 30 minutes (DOMAIN.md) of
  those that can be judged: responded, or still without a response after 30 minutes;
- daily outcomes: red tickets, red tickets overdue (the clock's sticky flag), tickets
  escalated above the agent (escalation level > 0), among the day's tickets;
- urgent open / overdue: red tickets not finished / past their deadline, now;
- seats by state: signed in, ready, on call, after-call work, break, offline (link down).

A rate with a zero denominator is ``None`` ("no data"), never 0 or 100 %.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_SERVICE_LEVEL_SECONDS = 15
SHORT_ABANDON_SECONDS = 5
FCR_REPEAT_DAYS = 7
RED_RESPONSE_SECONDS = 30 * 60  # a red ticket's first response is due within 30 minutes
SERIES_BUCKET_MINUTES = 15

Window = Literal["today", "60m", "15m"]
WINDOWS: tuple[Window, ...] = ("today", "60m", "15m")

# Seat states as strings (hotline.protocol.SeatState values) so this module stays standalone.
SEAT_STATES = ("signed_out", "ready", "on_call", "after_call", "break", "link_down")
WORKING_SEAT_STATES = frozenset({"ready", "on_call", "after_call", "break"})
FINISHED_TICKET_STATUSES = frozenset({"closed", "callback", "evaluated", "merged"})
RESOLVED_TICKET_STATUSES = frozenset({"closed", "callback", "evaluated"})
# hotline.model.Satisfaction values; the first two count as satisfied in 满意率.
SATISFACTION_LEVELS = ("satisfied", "basically_satisfied", "dissatisfied")
SATISFIED_LEVELS = frozenset({"satisfied", "basically_satisfied"})


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class CallRecord:
    """One call as the telephony events (or the agent's desk) described it."""

    call_id: str
    offered_at: datetime
    queue: str = "default"
    caller_number: str = ""
    agent: str | None = None
    answered_at: datetime | None = None
    abandoned_at: datetime | None = None
    ended_at: datetime | None = None
    after_call_ended_at: datetime | None = None
    hold_seconds: float = 0.0
    expired_at: datetime | None = None  # the server ended it: no end event came

    def wait_seconds(self, now: datetime) -> float:
        """Queue wait: until answered, abandoned, expired, or ``now`` while still queued."""
        stop = self.answered_at or self.abandoned_at or self.ended_at or self.expired_at or now
        return max(0.0, (stop - self.offered_at).total_seconds())

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    @property
    def is_abandoned(self) -> bool:
        return self.answered_at is None and self.abandoned_at is not None

    @property
    def is_expired(self) -> bool:
        """Ended by the server, neither answered nor abandoned as far as anyone knows."""
        return (
            self.answered_at is None and self.abandoned_at is None and (self.expired_at is not None)
        )

    def is_waiting(self, now: datetime) -> bool:
        return (
            self.offered_at <= now
            and (self.answered_at is None or self.answered_at > now)
            and (self.abandoned_at is None or self.abandoned_at > now)
            and (self.ended_at is None or self.ended_at > now)
            and (self.expired_at is None or self.expired_at > now)
        )

    def talk_seconds(self) -> float | None:
        """Connected time without hold: answered -> ended, less ``hold_seconds``."""
        if self.answered_at is None or self.ended_at is None:
            return None
        connected = max(0.0, (self.ended_at - self.answered_at).total_seconds())
        return max(0.0, connected - self.hold_seconds)

    def handle_seconds(self) -> float | None:
        """talk + hold + after-call work, once the call has ended; None if not handled yet.

        How hold is recorded decides the sum: the phone system reports ``hold_seconds`` as
        the total time the caller spent on hold *while connected* (a field of the call's
        events, not separate hold/unhold timestamps), so hold lies inside answered -> ended.
        Talk is therefore the connected time less hold, and talk + hold is simply the
        connected span; adding ``hold_seconds`` to it again would count hold twice.
        """
        talk = self.talk_seconds()
        if talk is None or self.answered_at is None or self.ended_at is None:
            return None
        connected = max(0.0, (self.ended_at - self.answered_at).total_seconds())
        hold = connected - talk  # hold_seconds, capped at the connected span
        acw = 0.0
        if self.after_call_ended_at is not None:
            acw = max(0.0, (self.after_call_ended_at - self.ended_at).total_seconds())
        return talk + hold + acw


@dataclass(frozen=True)
class SeatChange:
    """An agent's seat entered ``state`` at ``at`` (the server records every change)."""

    agent: str
    state: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class TicketRecord:
    """What the measures need of a ticket."""

    id: str
    created_at: datetime
    call_started_at: datetime
    phone: str = ""
    category: str = "other"
    topic: str = ""  # 诉求分类 (hotline.topics); '' when intake gave none
    urgency: str = "normal"
    status: str = "accepted"
    disposition: str = "pending"
    dispatched: bool = False  # ever dispatched (派单) to a handling unit
    overdue: bool = False
    created_by: str = ""
    kind: str = "consultation"
    first_response_at: datetime | None = None
    satisfaction: str | None = None  # a hotline.model.Satisfaction value, once evaluated
    escalation_level: int = 0


TOP_TOPICS = 5


# ---------------------------------------------------------------- windows


def site_tz(name: str | None = None) -> tzinfo:
    return ZoneInfo(name or DEFAULT_TZ)


def day_start(now: datetime, tz: tzinfo) -> datetime:
    """00:00 of ``now``'s local day in ``tz``, as an aware datetime."""
    local = now.astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz)


def window_bounds(window: str, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start, now) of ``today`` (since local midnight), ``60m`` or ``15m``."""
    if window == "today":
        return day_start(now, tz), now
    if window == "60m":
        return now - timedelta(minutes=60), now
    if window == "15m":
        return now - timedelta(minutes=15), now
    raise ValueError(f"window must be one of {', '.join(WINDOWS)}, not {window!r}")


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


def _in(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def _ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def _mean(values: Sequence[float]) -> float | None:
    return None if not values else sum(values) / len(values)


# ---------------------------------------------------------------- call measures


@dataclass
class CallMeasures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_sl: int = 0
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS
    answer_rate: float | None = None
    abandonment_rate: float | None = None
    service_level: float | None = None
    average_speed_of_answer: float | None = None  # seconds
    handled: int = 0
    average_handle_time: float | None = None  # seconds
    expired: int = 0  # offered, ended by the server unanswered (not abandoned)
    longest_wait: float | None = None  # seconds, of the window's offered calls

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def call_measures(
    calls: Iterable[CallRecord],
    start: datetime,
    end: datetime,
    *,
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS,
) -> CallMeasures:
    """The call measures over calls offered in [start, end)."""
    m = CallMeasures(service_level_seconds=service_level_seconds)
    waits: list[float] = []
    handles: list[float] = []
    longest: list[float] = []
    for call in calls:
        if not _in(call.offered_at, start, end):
            continue
        m.offered += 1
        if call.answered_at or call.abandoned_at or call.ended_at or call.expired_at:
            longest.append(call.wait_seconds(end))  # a wait that is over (see queue_now)
        if call.answered_at is not None:
            m.answered += 1
            wait = max(0.0, (call.answered_at - call.offered_at).total_seconds())
            waits.append(wait)
            if wait <= service_level_seconds:
                m.answered_within_sl += 1
            handle = call.handle_seconds()
            if handle is not None:
                handles.append(handle)
        elif call.abandoned_at is not None:
            m.abandoned += 1
            if (call.abandoned_at - call.offered_at).total_seconds() < SHORT_ABANDON_SECONDS:
                m.short_abandoned += 1
        elif call.is_expired:
            m.expired += 1
    m.answer_rate = _ratio(m.answered, m.offered)
    m.abandonment_rate = _ratio(m.abandoned, m.offered)
    m.service_level = _ratio(m.answered_within_sl, m.offered)
    m.average_speed_of_answer = _mean(waits)
    m.handled = len(handles)
    m.average_handle_time = _mean(handles)
    m.longest_wait = max(longest) if longest else None
    return m


@dataclass
class QueueNow:
    calls_waiting: int = 0
    longest_wait: float | None = None  # seconds; None when nobody waits


def queue_now(calls: Iterable[CallRecord], now: datetime) -> QueueNow:
    waits = [c.wait_seconds(now) for c in calls if c.is_waiting(now)]
    return QueueNow(calls_waiting=len(waits), longest_wait=max(waits) if waits else None)


# ---------------------------------------------------------------- seats


def seat_time_by_state(
    changes: Iterable[SeatChange], start: datetime, end: datetime
) -> dict[str, dict[str, float]]:
    """Seconds each agent spent in each state within [start, end).

    A state lasts from its change until the agent's next change (or ``end``). The state an
    agent was in at ``start`` is the last change before it.
    """
    by_agent: dict[str, list[SeatChange]] = defaultdict(list)
    for ch in changes:
        by_agent[ch.agent].append(ch)
    out: dict[str, dict[str, float]] = {}
    for agent, seq in by_agent.items():
        seq.sort(key=lambda c: c.at)
        totals: dict[str, float] = defaultdict(float)
        for i, ch in enumerate(seq):
            nxt = seq[i + 1].at if i + 1 < len(seq) else end
            a, b = max(ch.at, start), min(nxt, end)
            if b > a:
                totals[ch.state] += (b - a).total_seconds()
        out[agent] = dict(totals)
    return out


@dataclass
class Occupancy:
    overall: float | None
    per_agent: dict[str, float | None]


def occupancy(changes: Iterable[SeatChange], start: datetime, end: datetime) -> Occupancy:
    """handle time / (handle time + ready time); handle = on call + after-call work."""
    per: dict[str, float | None] = {}
    handle_all = ready_all = 0.0
    for agent, totals in seat_time_by_state(changes, start, end).items():
        handle = totals.get("on_call", 0.0) + totals.get("after_call", 0.0)
        ready = totals.get("ready", 0.0)
        per[agent] = _ratio(handle, handle + ready)
        handle_all += handle
        ready_all += ready
    return Occupancy(overall=_ratio(handle_all, handle_all + ready_all), per_agent=per)


def current_seat_states(changes: Iterable[SeatChange], now: datetime) -> dict[str, SeatChange]:
    """Each agent's latest change at or before ``now``."""
    latest: dict[str, SeatChange] = {}
    for ch in changes:
        if ch.at <= now and (ch.agent not in latest or ch.at >= latest[ch.agent].at):
            latest[ch.agent] = ch
    return latest


def seats_by_state(states: Iterable[str]) -> dict[str, int]:
    """Counts for the panel. ``signed_in`` = working seats (ready, on call, after-call, break);
    ``offline`` = link down (signed in, but the server has not heard from the desk)."""
    counts = dict.fromkeys(SEAT_STATES, 0)
    for s in states:
        counts[s] = counts.get(s, 0) + 1
    return {
        "signed_in": sum(counts[s] for s in WORKING_SEAT_STATES),
        "ready": counts["ready"],
        "on_call": counts["on_call"],
        "after_call": counts["after_call"],
        "break": counts["break"],
        "offline": counts["link_down"],
        "signed_out": counts["signed_out"],
    }


def seats_staffed(changes: Iterable[SeatChange], start: datetime, end: datetime) -> int:
    """Agents whose seat was signed in (a working state) at some moment of [start, end)."""
    return sum(
        1
        for totals in seat_time_by_state(changes, start, end).values()
        if any(totals.get(s, 0.0) > 0 for s in WORKING_SEAT_STATES)
    )


# ---------------------------------------------------------------- callbacks (漏接回拨)


@dataclass(frozen=True)
class CallbackRecord:
    """What the measures need of a callback entry (``hotline.callbacks``)."""

    id: str
    first_missed_at: datetime
    done_at: datetime | None = None
    outcome: str | None = None


@dataclass
class CallbackMeasures:
    due: int = 0  # open at some moment of the window
    done: int = 0  # closed in the window
    reached: int = 0  # closed in the window with the caller reached
    open_now: int = 0  # open at the window's end

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def callback_measures(
    callbacks: Iterable[CallbackRecord], start: datetime, end: datetime
) -> CallbackMeasures:
    m = CallbackMeasures()
    for cb in callbacks:
        if cb.first_missed_at >= end or (cb.done_at is not None and cb.done_at < start):
            continue
        m.due += 1
        if cb.done_at is not None and cb.done_at < end:
            m.done += 1
            if cb.outcome == "reached":
                m.reached += 1
        else:
            m.open_now += 1
    return m


# ---------------------------------------------------------------- tickets


@dataclass
class TicketMeasures:
    created: int = 0
    on_spot: int = 0
    on_spot_rate: float | None = None
    fcr_eligible: int = 0
    fcr_resolved: int = 0
    first_call_resolution: float | None = None
    dispatched: int = 0
    resolved: int = 0
    resolution_rate: float | None = None
    by_category: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    # 评价 / 满意率
    evaluated: int = 0
    satisfaction_counts: dict[str, int] = field(default_factory=dict)
    satisfaction_rate: float | None = None
    # red tickets: first response
    red_created: int = 0
    red_responded: int = 0
    red_average_response: float | None = None  # seconds, call start -> first response
    red_judged: int = 0  # responded, or 30 minutes past the call without a response
    red_within_30m: int = 0
    red_within_30m_rate: float | None = None
    # daily outcomes
    red_overdue: int = 0
    escalated: int = 0
    # the same counts by topic (诉求分类); tickets without a topic count under "unclassified"
    by_topic: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


UNCLASSIFIED_TOPIC = "unclassified"


def _norm_phone(p: str) -> str:
    return "".join(ch for ch in p if ch.isdigit())


def ticket_measures(
    tickets: Sequence[TicketRecord],
    calls: Sequence[CallRecord],
    start: datetime,
    end: datetime,
) -> TicketMeasures:
    """Ticket measures over tickets created in [start, end) (by the call's start time)."""
    m = TicketMeasures()
    calls_by_number: dict[str, list[datetime]] = defaultdict(list)
    for c in calls:
        if c.caller_number:
            calls_by_number[_norm_phone(c.caller_number)].append(c.offered_at)
    tickets_by_number: dict[str, list[TicketRecord]] = defaultdict(list)
    for t in tickets:
        if t.phone:
            tickets_by_number[_norm_phone(t.phone)].append(t)
    cats: dict[str, dict[str, int]] = defaultdict(
        lambda: {"created": 0, "dispatched": 0, "resolved": 0}
    )
    kinds: dict[str, dict[str, int]] = defaultdict(
        lambda: {"created": 0, "dispatched": 0, "resolved": 0}
    )
    scores: dict[str, int] = dict.fromkeys(SATISFACTION_LEVELS, 0)
    red_waits: list[float] = []
    topics: dict[str, dict[str, int]] = defaultdict(
        lambda: {"created": 0, "dispatched": 0, "resolved": 0}
    )
    for t in tickets:
        if not _in(t.call_started_at, start, end):
            continue
        m.created += 1
        cat = cats[t.category]
        cat["created"] += 1
        kind = kinds[t.kind]
        kind["created"] += 1
        top = topics[t.topic or UNCLASSIFIED_TOPIC]
        top["created"] += 1
        if t.disposition == "on_spot":
            m.on_spot += 1
        if t.dispatched and t.status != "merged":
            m.dispatched += 1
            cat["dispatched"] += 1
            kind["dispatched"] += 1
            top["dispatched"] += 1
            if t.status in RESOLVED_TICKET_STATUSES:
                m.resolved += 1
                cat["resolved"] += 1
                kind["resolved"] += 1
                top["resolved"] += 1
        if t.satisfaction in scores:
            scores[t.satisfaction] += 1
        if t.escalation_level > 0:
            m.escalated += 1
        if t.urgency == "red" and t.status != "merged":
            m.red_created += 1
            m.red_overdue += 1 if t.overdue else 0
            wait = _red_response(t, end)
            if wait is not None:
                m.red_judged += 1
                if wait <= RED_RESPONSE_SECONDS:
                    m.red_within_30m += 1
            if t.first_response_at is not None and t.first_response_at < end:
                m.red_responded += 1
                red_waits.append(
                    max(0.0, (t.first_response_at - t.call_started_at).total_seconds())
                )
        number = _norm_phone(t.phone)
        if number:
            m.fcr_eligible += 1
            if t.status in RESOLVED_TICKET_STATUSES and not _repeated(
                t, calls_by_number[number], tickets_by_number[number]
            ):
                m.fcr_resolved += 1
    m.on_spot_rate = _ratio(m.on_spot, m.created)
    m.first_call_resolution = _ratio(m.fcr_resolved, m.fcr_eligible)
    m.resolution_rate = _ratio(m.resolved, m.dispatched)
    m.by_category = {
        name: {**c, "resolution_rate": _ratio(c["resolved"], c["dispatched"])}
        for name, c in sorted(cats.items())
    }
    m.by_kind = {
        name: {**c, "resolution_rate": _ratio(c["resolved"], c["dispatched"])}
        for name, c in sorted(kinds.items())
    }
    m.evaluated = sum(scores.values())
    m.satisfaction_counts = scores
    m.satisfaction_rate = _ratio(sum(scores[s] for s in SATISFIED_LEVELS), m.evaluated)
    m.red_average_response = _mean(red_waits)
    m.red_within_30m_rate = _ratio(m.red_within_30m, m.red_judged)
    m.by_topic = {
        name: {**c, "resolution_rate": _ratio(c["resolved"], c["dispatched"])}
        for name, c in sorted(topics.items())
    }
    return m


def _red_response(t: TicketRecord, now: datetime) -> float | None:
    """Seconds from the call to the first response, for the 30-minute share: the response
    known by ``now``, or (none yet) the time waited so far once it is past 30 minutes; None
    while a ticket without a response is still inside its 30 minutes (not judged yet)."""
    if t.first_response_at is not None and t.first_response_at < now:
        return max(0.0, (t.first_response_at - t.call_started_at).total_seconds())
    waited = (now - t.call_started_at).total_seconds()
    return waited if waited > RED_RESPONSE_SECONDS else None


def _repeated(t: TicketRecord, call_times: list[datetime], others: list[TicketRecord]) -> bool:
    """A repeat call: another call (or ticket) from the same number after this ticket's call,
    within 7 days of it."""
    limit = t.call_started_at + timedelta(days=FCR_REPEAT_DAYS)
    # The ticket's own call was offered at or slightly before call_started_at; a repeat comes
    # after the ticket was written.
    if any(t.created_at < at <= limit for at in call_times):
        return True
    return any(o.id != t.id and t.call_started_at < o.call_started_at <= limit for o in others)


@dataclass
class UrgentNow:
    open: int = 0
    overdue: int = 0


def urgent_now(tickets: Iterable[TicketRecord]) -> UrgentNow:
    u = UrgentNow()
    for t in tickets:
        if t.urgency == "red" and t.status not in FINISHED_TICKET_STATUSES:
            u.open += 1
            if t.overdue:
                u.overdue += 1
    return u


def top_topics(
    tickets: Iterable[TicketRecord], start: datetime, end: datetime, limit: int = TOP_TOPICS
) -> list[dict[str, Any]]:
    """The most frequent topics of the tickets created in [start, end) (by the call's start),
    most first, ties by name: a ticket's ``topic`` when the form gave one, else its
    ``category``. ``[{"topic": name, "tickets": n}, ...]``, at most ``limit`` entries."""
    counts: dict[str, int] = defaultdict(int)
    for t in tickets:
        if _in(t.call_started_at, start, end):
            counts[t.topic or t.category or "other"] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"topic": name, "tickets": n} for name, n in ranked]


# ---------------------------------------------------------------- series and summaries


def series(
    calls: Sequence[CallRecord],
    start: datetime,
    end: datetime,
    *,
    minutes: int = SERIES_BUCKET_MINUTES,
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS,
) -> list[dict[str, Any]]:
    """Call measures per ``minutes`` bucket from ``start`` (bucket edges aligned to start)."""
    step = timedelta(minutes=minutes)
    buckets: dict[int, list[CallRecord]] = defaultdict(list)
    for c in calls:
        if _in(c.offered_at, start, end):
            buckets[int((c.offered_at - start) / step)].append(c)
    out: list[dict[str, Any]] = []
    i = 0
    while start + i * step < end:
        b_start = start + i * step
        b_end = min(b_start + step, end)
        m = call_measures(
            buckets.get(i, []), b_start, b_end, service_level_seconds=service_level_seconds
        )
        out.append({"start": b_start.isoformat(), "end": b_end.isoformat(), **m.as_dict()})
        i += 1
    return out


def summary(
    calls: Sequence[CallRecord],
    seat_changes: Sequence[SeatChange],
    tickets: Sequence[TicketRecord],
    *,
    window: str,
    now: datetime,
    tz: tzinfo,
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS,
) -> dict[str, Any]:
    """Everything the lead panel shows for one window: overall, per queue, series, now."""
    start, end = window_bounds(window, now, tz)
    overall = call_measures(calls, start, end, service_level_seconds=service_level_seconds)
    queues: dict[str, list[CallRecord]] = defaultdict(list)
    for c in calls:
        queues[c.queue].append(c)
    per_queue = {}
    for name, qcalls in sorted(queues.items()):
        cm = call_measures(qcalls, start, end, service_level_seconds=service_level_seconds)
        qn = queue_now(qcalls, now)
        per_queue[name] = {**cm.as_dict(), **qn.__dict__}
    occ = occupancy(seat_changes, start, end)
    current = current_seat_states(seat_changes, now)
    return {
        "window": window,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "calls": overall.as_dict(),
        "queue_now": queue_now(calls, now).__dict__,
        "per_queue": per_queue,
        "occupancy": occ.overall,
        "occupancy_per_agent": occ.per_agent,
        "tickets": ticket_measures(tickets, calls, start, end).as_dict(),
        "urgent": urgent_now(tickets).__dict__,
        "seats": seats_by_state(ch.state for ch in current.values()),
        "series": series(
            calls,
            day_start(now, tz) if window == "today" else start,
            end,
            service_level_seconds=service_level_seconds,
        ),
    }


OUTCOME_COLUMNS: tuple[str, ...] = (
    "red_tickets",
    "red_overdue",
    "escalated",
    "evaluated",
    "satisfaction_rate",
    "red_average_response",
    "red_within_30m_rate",
)


REPORT_COLUMNS: tuple[str, ...] = (
    "date",
    "queue",
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answer_rate",
    "abandonment_rate",
    "service_level",
    "average_speed_of_answer",
    "average_handle_time",
    "handled",
    "tickets_created",
    "on_spot_rate",
    "first_call_resolution",
    "dispatched",
    "resolved",
    "resolution_rate",
    "occupancy",
    "category",
    # ticket outcomes (the ``all`` row): red tickets, overdue, escalated, 满意率, red response
    *OUTCOME_COLUMNS,
    # the call side (漏接回拨, queue, seats): filled on a day's ``all`` row; longest_wait on
    # every queue row
    *("expired", "longest_wait", "callbacks_due", "callbacks_done", "seats_staffed"),
    # the day's most frequent topics ("name:count; ..."), on the ``all`` row (top_topics)
    "top_topics",
)
"""CSV columns of the daily report. A day's ``all`` row is followed by one row per ticket
category (``category`` set; tickets_created, dispatched, resolved, resolution_rate filled):
the per-category resolution rate 解决率 of METRICS.md. Other rows leave ``category`` empty."""


def outcome_columns(tm: TicketMeasures) -> dict[str, Any]:
    """The daily report's ticket outcomes of a day (its ``all`` row)."""
    return {
        "red_tickets": tm.red_created,
        "red_overdue": tm.red_overdue,
        "escalated": tm.escalated,
        "evaluated": tm.evaluated,
        "satisfaction_rate": tm.satisfaction_rate,
        "red_average_response": tm.red_average_response,
        "red_within_30m_rate": tm.red_within_30m_rate,
    }


def daily_report(
    calls: Sequence[CallRecord],
    seat_changes: Sequence[SeatChange],
    tickets: Sequence[TicketRecord],
    *,
    first: date,
    last: date,
    tz: tzinfo,
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS,
    callbacks: Sequence[CallbackRecord] = (),
) -> list[dict[str, Any]]:
    """One row per local day and queue (queue ``all`` first) from ``first`` to ``last``."""
    if last < first:
        raise ValueError("the report's last day is before its first day")
    rows: list[dict[str, Any]] = []
    queues = sorted({c.queue for c in calls})
    day = first
    while day <= last:
        start, end = local_day_bounds(day, tz)
        tm = ticket_measures(tickets, calls, start, end)
        occ = occupancy(seat_changes, start, end)
        for q in ["all", *queues]:
            qcalls = calls if q == "all" else [c for c in calls if c.queue == q]
            cm = call_measures(qcalls, start, end, service_level_seconds=service_level_seconds)
            if q != "all" and cm.offered == 0:
                continue
            row = {"date": day.isoformat(), "queue": q, **cm.as_dict()}
            row.update(
                tickets_created=tm.created if q == "all" else None,
                on_spot_rate=tm.on_spot_rate if q == "all" else None,
                first_call_resolution=tm.first_call_resolution if q == "all" else None,
                dispatched=tm.dispatched if q == "all" else None,
                resolved=tm.resolved if q == "all" else None,
                resolution_rate=tm.resolution_rate if q == "all" else None,
                occupancy=occ.overall if q == "all" else None,
                by_category=tm.by_category if q == "all" else None,
            )
            row.update(outcome_columns(tm) if q == "all" else dict.fromkeys(OUTCOME_COLUMNS))
            # the call side: callbacks due/done and seats staffed (longest_wait and expired
            # come with the call measures)
            cbm = callback_measures(callbacks, start, end) if q == "all" else None
            row.update(
                callbacks_due=cbm.due if cbm else None,
                callbacks_done=cbm.done if cbm else None,
                seats_staffed=seats_staffed(seat_changes, start, end) if q == "all" else None,
            )
            if q == "all":
                row["top_topics"] = top_topics(tickets, start, end)
            rows.append(row)
        day += timedelta(days=1)
    return rows


def as_utc(at: datetime) -> datetime:
    """Naive datetimes read back from SQLite are UTC; make them aware."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
