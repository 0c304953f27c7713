"""The call-centre model behind ``hotline-server simulate``: pure, seeded, no I/O.

A discrete-event simulation in *simulated* seconds. Callers arrive as a Poisson process
whose rate follows a daily curve; each call gets a category from the mix of DOMAIN.md
(urgent medical share and sub-categories in the March 2022 proportions); the automatic call
distributor (this model plays the phone system) offers it to the longest-idle ready agent;
callers whose wait outgrows their patience hang up (so abandons grow with waits); agents
talk, then do after-call work, then take the next call.

Realism (issue 13): signed-in agents are not on the phones all the time. Each one takes short
breaks, a meal break, sometimes a training session, and now and then signs out for a few
minutes (the link at home drops, the security key needs a new sign-in); a break that falls
due during a call starts when the call's after-call work ends. That *shrinkage*
(:class:`Shrinkage`, ~20% of signed-in time off the phones, documented in
docs/simulator.md) is why a day's answer rate lands near the GB/T 33358 target of 95% rather
than at 100%. Dispatched tickets then move through the closed loop over simulated time
(办理 handling -> 答复 replied -> 办结 closed, some called back and evaluated 评价), so the
resolution rate 解决率 is not 0 (:class:`Lifecycle`).

The model emits :class:`SimEvent` objects in time order; the driver turns them into HTTP
requests (telephony events, sync pushes) and paces them against the wall clock.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# Relative call volume per local hour (0-23), shaped like a city hotline's day: quiet at
# night, a morning peak from 9 to 11, a second one after lunch. Normalised to mean 1.
_RAW_CURVE = (
    0.15,
    0.10,
    0.08,
    0.07,
    0.08,
    0.15,
    0.35,
    0.80,
    1.50,
    1.95,
    2.00,
    1.80,
    1.30,
    1.55,
    1.85,
    1.80,
    1.60,
    1.35,
    1.05,
    0.95,
    0.85,
    0.70,
    0.50,
    0.30,
)
DAILY_CURVE: tuple[float, ...] = tuple(x * 24 / sum(_RAW_CURVE) for x in _RAW_CURVE)

# March 2022 (DOMAIN.md): 740,701 answered calls, 260,013 about the epidemic,
# 4,720 urgent medical tickets, 145,622 dispatched.
ANSWERED_MARCH_2022 = 740_701
EPIDEMIC_SHARE = 260_013 / ANSWERED_MARCH_2022
URGENT_MEDICAL_SHARE = 4_720 / ANSWERED_MARCH_2022
DISPATCH_SHARE = 145_622 / ANSWERED_MARCH_2022
ON_SPOT_SHARE_OF_CONSULTATIONS = 0.80  # "~80% of consultations were answered on the spot"

# Urgent medical sub-categories, March 2022 counts (sum 3,940).
URGENT_SUBCATEGORIES: tuple[tuple[str, int], ...] = (
    ("dialysis", 799),
    ("cancer_therapy", 1182),
    ("maternity", 613),
    ("rabies_vaccine", 115),
    ("fever", 157),
    ("other_medical", 1074),
)

# The rest of the volume, by everyday topic (weights among the non-epidemic, non-urgent calls).
OTHER_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("housing", 0.18),
    ("transport", 0.14),
    ("utilities", 0.13),
    ("social_security", 0.15),
    ("market_regulation", 0.12),
    ("environment", 0.08),
    ("public_security", 0.06),
    ("other", 0.14),
)

KINDS: tuple[tuple[str, float], ...] = (
    ("consultation", 0.62),
    ("help", 0.22),
    ("complaint", 0.11),
    ("suggestion", 0.04),
    ("praise", 0.01),
)

DISTRICTS: tuple[str, ...] = (
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
)

QUEUES = ("general", "epidemic", "urgent_medical")


@dataclass(frozen=True)
class CallProfile:
    """What a caller brings: who, about what, and how long things take."""

    caller_number: str
    queue: str
    category: str
    kind: str
    urgent_subcategory: str | None
    disposition: str  # on_spot | dispatch | pending
    district: str
    talk_seconds: float
    after_call_seconds: float
    patience_seconds: float


class SimEvent(NamedTuple):
    """One thing that happened at simulated time ``t`` (seconds since the start).

    ``kind`` is a call event (offered | offered_to_seat | answered | abandoned | ended |
    after_call_ended), ``seat`` (an agent's seat moves to ``state``: break, signed_out or
    ready, for ``reason``) or ``ticket`` (the ticket of call ``call_id`` moves to ``state``;
    ``score`` is the caller's satisfaction 1-5 when ``state`` is evaluated; ``reason`` is
    "last" on a ticket's last planned move). A tuple, not a dataclass: the model makes one
    per event and this is the cheapest object to make."""

    t: float
    kind: str
    call_id: str
    agent: str | None = None
    profile: CallProfile | None = None
    state: str | None = None
    reason: str | None = None
    score: int | None = None


# Why a seat is off the phones (the reason sent with the seat state), and the state it takes.
BREAK_REASONS: dict[str, str] = {
    "short_break": "break",  # 小休
    "meal": "break",  # 用餐
    "training": "break",  # 培训/辅导
    "sign_out": "signed_out",  # 临时签出 (link down at home, new sign-in with the key)
}


@dataclass(frozen=True)
class Shrinkage:
    """Time signed-in agents spend off the phones (beyond after-call work).

    The defaults add up to ~20% of signed-in time (see docs/simulator.md): a 12-minute break
    about every two hours (~9%), a 40-minute meal every 8 hours (~8%), a 45-minute training
    or coaching session for one agent in ten a day (~0.3%), and an unplanned sign-out of ~8
    minutes about every 8 hours (~1.7%)."""

    short_break_every: float = 2 * 3600.0
    short_break: float = 12 * 60.0
    meal_every: float = 8 * 3600.0
    meal: float = 40 * 60.0
    training_share: float = 0.10  # of the agents, once a day each
    training: float = 45 * 60.0
    sign_out_every: float = 8 * 3600.0  # mean time between unplanned sign-outs
    sign_out: float = 8 * 60.0

    @property
    def expected_share(self) -> float:
        """The share of signed-in time these breaks take, on average."""
        parts = (
            (self.short_break, self.short_break_every),
            (self.meal, self.meal_every),
            (self.training * self.training_share, 86_400.0),
            (self.sign_out, self.sign_out_every),
        )
        return sum(d / (every + d) for d, every in parts)


@dataclass(frozen=True)
class Lifecycle:
    """How dispatched tickets move through the closed loop in simulated time.

    Delays are means of log-normal durations. ``resolved_share`` follows the only resolution
    rate the references give: 3,914 of 4,720 urgent medical tickets (82.9%); the rest stay in
    handling (normal) or under supervision 督办 (red). A share of the closed tickets gets a
    callback 回访 and is evaluated 评价; 98.7% of those are satisfied (score 4 or 5)."""

    resolved_share: float = 3_914 / 4_720
    to_handling: float = 90 * 60.0
    to_handling_red: float = 10 * 60.0
    to_replied: float = 6 * 3600.0
    to_replied_red: float = 90 * 60.0
    to_closed: float = 60 * 60.0
    to_closed_red: float = 20 * 60.0
    evaluated_share: float = 0.5
    to_evaluated: float = 3 * 3600.0
    satisfied_share: float = 0.987
    pending_dispatched_share: float = 0.6  # undecided tickets later dispatched; others closed
    pending_decided: float = 30 * 60.0


@dataclass
class ModelConfig:
    calls_per_hour: float  # the mean rate over a day; the curve shapes it hour by hour
    agents: int
    start_hour: float = 0.0  # local time of day (hours) at simulated t = 0
    seed: int = 12345
    mean_talk_seconds: float = 150.0
    mean_after_call_seconds: float = 45.0
    mean_patience_seconds: float = 90.0
    repeat_caller_share: float = 0.08  # callers who rang before (first-call resolution)
    flat: bool = False  # ignore the daily curve
    shrinkage: Shrinkage | None = field(default_factory=Shrinkage)  # None: always on the phones
    lifecycle: Lifecycle | None = field(default_factory=Lifecycle)  # None: tickets stay put


def choose_weighted(rng: random.Random, items: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in items)
    x = rng.random() * total
    for name, w in items:
        x -= w
        if x < 0:
            return name
    return items[-1][0]


def lognormal(rng: random.Random, mean: float, sigma: float = 0.6) -> float:
    """A positive, right-skewed duration with the given mean."""
    mu = math.log(mean) - sigma * sigma / 2
    return rng.lognormvariate(mu, sigma)


MOBILE_PREFIXES = ("130", "131", "135", "136", "138", "139", "150", "151", "158", "186", "189")


class CallGenerator:
    """Arrival times and call profiles (the demand side)."""

    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self._numbers: list[str] = []

    def rate_per_second(self, t: float) -> float:
        if self.cfg.flat:
            return self.cfg.calls_per_hour / 3600.0
        hour = int((self.cfg.start_hour + t / 3600.0) % 24)
        return self.cfg.calls_per_hour * DAILY_CURVE[hour] / 3600.0

    def next_arrival(self, t: float) -> float:
        """Next arrival after ``t`` of a non-homogeneous Poisson process (thinning)."""
        peak = self.cfg.calls_per_hour / 3600.0 * (1.0 if self.cfg.flat else max(DAILY_CURVE))
        if peak <= 0:
            return math.inf
        while True:
            t += self.rng.expovariate(peak)
            if self.rng.random() * peak <= self.rate_per_second(t):
                return t

    def caller_number(self) -> str:
        rng = self.rng
        if self._numbers and rng.random() < self.cfg.repeat_caller_share:
            return rng.choice(self._numbers)
        # prefixes the phone validator (phonenumbers) knows are assigned mobile ranges
        number = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
        if len(self._numbers) < 5000:
            self._numbers.append(number)
        else:
            self._numbers[rng.randrange(5000)] = number
        return number

    def profile(self) -> CallProfile:
        rng, cfg = self.rng, self.cfg
        x = rng.random()
        sub: str | None = None
        if x < URGENT_MEDICAL_SHARE:
            queue, category, kind = "urgent_medical", "urgent_medical", "help"
            sub = choose_weighted(rng, tuple((n, float(c)) for n, c in URGENT_SUBCATEGORIES))
            disposition = "dispatch"
        else:
            if x < URGENT_MEDICAL_SHARE + EPIDEMIC_SHARE:
                queue, category = "epidemic", "epidemic"
            else:
                queue, category = "general", choose_weighted(rng, OTHER_CATEGORIES)
            kind = choose_weighted(rng, KINDS)
            # Dispatch about DISPATCH_SHARE of the calls overall, mostly help and complaints;
            # consultations are answered on the spot ~80% of the time.
            if kind == "consultation":
                disposition = (
                    "on_spot"
                    if rng.random() < ON_SPOT_SHARE_OF_CONSULTATIONS
                    else ("dispatch" if rng.random() < 0.5 else "pending")
                )
            elif kind in ("help", "complaint"):
                disposition = "dispatch" if rng.random() < 0.45 else "on_spot"
            else:
                disposition = "on_spot"
        return CallProfile(
            caller_number=self.caller_number(),
            queue=queue,
            category=category,
            kind=kind,
            urgent_subcategory=sub,
            disposition=disposition,
            district=rng.choice(DISTRICTS),
            talk_seconds=lognormal(rng, cfg.mean_talk_seconds),
            after_call_seconds=lognormal(rng, cfg.mean_after_call_seconds, 0.5),
            patience_seconds=rng.expovariate(1.0 / cfg.mean_patience_seconds),
        )


class _Pending(NamedTuple):
    """A scheduled step. A tuple ordered by (t, order): the heap compares tuples in C, far
    cheaper than an ordered dataclass's generated comparisons (``order`` is unique, so the
    comparison never reaches the other fields)."""

    t: float
    order: int
    kind: str
    call_id: str
    agent: str | None = None


@dataclass
class Totals:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    ended: int = 0
    tickets: int = 0
    urgent: int = 0
    by_subcategory: dict[str, int] = field(default_factory=dict)
    by_queue: dict[str, int] = field(default_factory=dict)
    wait_total: float = 0.0
    off_phone_seconds: float = 0.0  # breaks, meals, training, sign-outs begun so far
    breaks: dict[str, int] = field(default_factory=dict)  # by reason
    dispatched: int = 0  # tickets that reached 派单 (at intake or later)
    resolved: int = 0  # of those, closed
    evaluated: int = 0
    satisfied: int = 0  # evaluated with a score of 4 or 5

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CallCentre:
    """The supply side and the clock: agents, the queue, and the event heap."""

    def __init__(self, cfg: ModelConfig, agent_names: list[str] | None = None) -> None:
        self.cfg = cfg
        self.gen = CallGenerator(cfg)
        self.agents = agent_names or [f"agent{i:03d}" for i in range(1, cfg.agents + 1)]
        self.idle: deque[str] = deque(self.agents)  # longest idle first
        self.waiting: deque[str] = deque()  # call ids in arrival order (some may have hung up)
        self._queued: set[str] = set()  # the call ids still waiting: O(1) abandons
        self.profiles: dict[str, CallProfile] = {}
        self.offered_at: dict[str, float] = {}
        self.totals = Totals()
        self._heap: list[_Pending] = []
        self._order = 0
        self._calls = 0
        self.now = 0.0
        # Breaks and ticket moves draw from their own generator, so the calls (arrivals,
        # profiles) of a seed are the same with or without them.
        self._rng2 = random.Random(cfg.seed ^ 0x5A1)
        self.off: dict[str, str] = {}  # agent -> why off the phones now
        self._due: dict[str, list[str]] = {}  # breaks due while the agent was busy
        self._plans: dict[str, deque[tuple[float, str, int | None]]] = {}
        self._undispatched: set[str] = set()  # undecided tickets closed without dispatch
        self._schedule(self.gen.next_arrival(0.0), "arrival", "")
        sh = cfg.shrinkage
        if sh is not None:
            rng = self._rng2
            for agent in self.agents:  # staggered, as a shift's break plan would be
                self._schedule(
                    rng.uniform(0.2, 1.0) * sh.short_break_every, "due", "short_break", agent
                )
                self._schedule(rng.uniform(0.4, 1.0) * sh.meal_every, "due", "meal", agent)
                if rng.random() < sh.training_share:
                    self._schedule(rng.uniform(3600.0, 8 * 3600.0), "due", "training", agent)
                self._schedule(rng.expovariate(1.0 / sh.sign_out_every), "due", "sign_out", agent)

    def _schedule(self, t: float, kind: str, call_id: str, agent: str | None = None) -> None:
        self._order += 1
        heapq.heappush(self._heap, _Pending(t, self._order, kind, call_id, agent))

    def _new_call_id(self) -> str:
        self._calls += 1
        return f"sim-{self.cfg.seed}-{self._calls:07d}"

    def next_time(self) -> float:
        return self._heap[0].t if self._heap else math.inf

    def advance(self, until: float, max_offered: int | None = None) -> list[SimEvent]:
        """Process everything up to simulated time ``until``; return what happened, in order.

        With ``max_offered`` no new call arrives once that many were offered (the run then
        drains: queued calls are answered or abandoned, talks end)."""
        out: list[SimEvent] = []
        while self._heap and self._heap[0].t <= until:
            p = heapq.heappop(self._heap)
            self.now = p.t
            if p.kind == "arrival":
                if max_offered is not None and self.totals.offered >= max_offered:
                    continue
                self._arrive(p.t, out)
                self._schedule(self.gen.next_arrival(p.t), "arrival", "")
            elif p.kind == "abandon":
                if p.call_id in self._queued:
                    self._queued.discard(p.call_id)  # left in ``waiting``, skipped there
                    self.offered_at.pop(p.call_id, None)
                    self.totals.abandoned += 1
                    out.append(SimEvent(p.t, "abandoned", p.call_id))
                    del self.profiles[p.call_id]
            elif p.kind == "answer":
                out.append(SimEvent(p.t, "answered", p.call_id, p.agent))
                self._schedule(
                    p.t + self.profiles[p.call_id].talk_seconds, "end", p.call_id, p.agent
                )
            elif p.kind == "end":
                prof = self.profiles[p.call_id]
                self.totals.ended += 1
                out.append(SimEvent(p.t, "ended", p.call_id, p.agent, prof))
                self._schedule(p.t + prof.after_call_seconds, "acw_end", p.call_id, p.agent)
                if prof.disposition != "on_spot" and self.cfg.lifecycle is not None:
                    self._plan_ticket(p.t, p.call_id, p.agent, prof)
            elif p.kind == "acw_end":
                out.append(SimEvent(p.t, "after_call_ended", p.call_id, p.agent))
                del self.profiles[p.call_id]
                assert p.agent is not None
                self._agent_free(p.t, p.agent, out)
            elif p.kind == "ticket":
                self._ticket_step(p.t, p.call_id, p.agent, out)
            elif p.kind == "due":
                assert p.agent is not None
                self._break_due(p.t, p.agent, p.call_id, out)
            elif p.kind == "back":
                assert p.agent is not None
                self._break_over(p.t, p.agent, p.call_id, out)
        self.now = max(self.now, until)
        return out

    # ------------------------------------------------------------ shrinkage

    def _break_due(self, t: float, agent: str, reason: str, out: list[SimEvent]) -> None:
        """A break falls due: taken now if the agent is free, else after this call."""
        if agent in self.off or agent not in self.idle:
            self._due.setdefault(agent, []).append(reason)
            return
        self.idle.remove(agent)
        self._start_break(t, agent, reason, out)

    def _next_due(self, agent: str) -> str:
        due = self._due[agent]
        reason = due.pop(0)
        if not due:
            del self._due[agent]
        return reason

    def _start_break(self, t: float, agent: str, reason: str, out: list[SimEvent]) -> None:
        sh = self.cfg.shrinkage
        assert sh is not None
        mean = {
            "short_break": sh.short_break,
            "meal": sh.meal,
            "training": sh.training,
            "sign_out": sh.sign_out,
        }[reason]
        length = lognormal(self._rng2, mean, 0.3)
        self.off[agent] = reason
        tot = self.totals
        tot.off_phone_seconds += length
        tot.breaks[reason] = tot.breaks.get(reason, 0) + 1
        out.append(SimEvent(t, "seat", "", agent, None, BREAK_REASONS[reason], reason))
        self._schedule(t + length, "back", reason, agent)

    def _break_over(self, t: float, agent: str, reason: str, out: list[SimEvent]) -> None:
        sh = self.cfg.shrinkage
        assert sh is not None
        del self.off[agent]
        rng = self._rng2
        if reason == "short_break":
            self._schedule(t + rng.uniform(0.75, 1.25) * sh.short_break_every, "due", reason, agent)
        elif reason == "meal":
            self._schedule(t + rng.uniform(0.9, 1.1) * sh.meal_every, "due", reason, agent)
        elif reason == "training":
            self._schedule(t + 86_400.0, "due", reason, agent)
        else:
            self._schedule(t + rng.expovariate(1.0 / sh.sign_out_every), "due", reason, agent)
        if agent in self._due:
            self._start_break(t, agent, self._next_due(agent), out)
            return
        out.append(SimEvent(t, "seat", "", agent, None, "ready", None))
        self._agent_free(t, agent, out)

    # ------------------------------------------------------------ tickets

    def _plan_ticket(self, t: float, call_id: str, agent: str | None, prof: CallProfile) -> None:
        """The moves the ticket of this call will make, with their delays."""
        lc = self.cfg.lifecycle
        assert lc is not None
        rng = self._rng2
        red = prof.urgent_subcategory is not None
        steps: deque[tuple[float, str, int | None]] = deque()
        if prof.disposition == "pending":
            if rng.random() >= lc.pending_dispatched_share:
                steps.append((lognormal(rng, lc.pending_decided), "closed", None))
                self._undispatched.add(call_id)
                self._plans[call_id] = steps
                self._schedule(t + steps[0][0], "ticket", call_id, agent)
                return
            steps.append((lognormal(rng, lc.pending_decided), "dispatched", None))
        else:
            self.totals.dispatched += 1
        steps.append(
            (lognormal(rng, lc.to_handling_red if red else lc.to_handling), "handling", None)
        )
        if rng.random() < lc.resolved_share:
            steps.append(
                (lognormal(rng, lc.to_replied_red if red else lc.to_replied), "replied", None)
            )
            steps.append(
                (lognormal(rng, lc.to_closed_red if red else lc.to_closed), "closed", None)
            )
            if rng.random() < lc.evaluated_share:
                score = (
                    rng.choice((4, 5))
                    if rng.random() < lc.satisfied_share
                    else rng.choice((1, 2, 3))
                )
                steps.append((lognormal(rng, lc.to_evaluated), "evaluated", score))
        elif red:  # still unresolved: the supervision desk chases it
            steps.append((lognormal(rng, lc.to_replied_red), "supervised", None))
        self._plans[call_id] = steps
        self._schedule(t + steps[0][0], "ticket", call_id, agent)

    def _ticket_step(self, t: float, call_id: str, agent: str | None, out: list[SimEvent]) -> None:
        steps = self._plans[call_id]
        _, state, score = steps.popleft()
        tot = self.totals
        if state == "dispatched":
            tot.dispatched += 1
        elif state == "closed":
            if call_id in self._undispatched:
                self._undispatched.discard(call_id)
            else:
                tot.resolved += 1
        elif state == "evaluated":
            tot.evaluated += 1
            tot.satisfied += score is not None and score >= 4
        last = not steps
        out.append(
            SimEvent(t, "ticket", call_id, agent, None, state, "last" if last else None, score)
        )
        if last:
            del self._plans[call_id]
        else:
            self._schedule(t + steps[0][0], "ticket", call_id, agent)

    def _arrive(self, t: float, out: list[SimEvent]) -> None:
        call_id = self._new_call_id()
        prof = self.gen.profile()
        self.profiles[call_id] = prof
        self.offered_at[call_id] = t
        tot = self.totals
        tot.offered += 1
        tot.by_queue[prof.queue] = tot.by_queue.get(prof.queue, 0) + 1
        if prof.urgent_subcategory:
            tot.urgent += 1
            tot.by_subcategory[prof.urgent_subcategory] = (
                tot.by_subcategory.get(prof.urgent_subcategory, 0) + 1
            )
        out.append(SimEvent(t, "offered", call_id, None, prof))
        if self.idle:
            self._connect(t, call_id, self.idle.popleft(), out)
        else:
            self.waiting.append(call_id)
            self._queued.add(call_id)
            self._schedule(t + prof.patience_seconds, "abandon", call_id)

    def _connect(self, t: float, call_id: str, agent: str, out: list[SimEvent]) -> None:
        out.append(SimEvent(t, "offered_to_seat", call_id, agent))
        ring = 1.0 + self.gen.rng.random() * 3.0  # the agent picks up within 1-4 s
        self.totals.answered += 1
        self.totals.wait_total += t + ring - self.offered_at.pop(call_id)
        self._schedule(t + ring, "answer", call_id, agent)

    def _agent_free(self, t: float, agent: str, out: list[SimEvent]) -> None:
        if self._due and agent in self._due:
            self._start_break(t, agent, self._next_due(agent), out)
            return
        while self.waiting:
            call_id = self.waiting.popleft()
            if call_id in self._queued:
                self._queued.discard(call_id)
                self._connect(t, call_id, agent, out)
                return
        self.idle.append(agent)

    @property
    def busy(self) -> bool:
        """Calls still queued or in progress (used to drain at the end of a run)."""
        return bool(self.profiles)

    @property
    def on_phones(self) -> int:
        """Agents signed in and not on a break (ready, ringing, talking or in after-call work)."""
        return len(self.agents) - len(self.off)
