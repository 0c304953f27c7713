"""The call-centre model behind ``hotline-server simulate``: pure, seeded, no I/O.

A discrete-event simulation in *simulated* seconds. Callers arrive as a Poisson process
whose rate follows a daily curve; each call gets a category from the mix of DOMAIN.md
(urgent medical share and sub-categories in the March 2022 proportions); the automatic call
distributor (this model plays the phone system) offers it to the longest-idle ready agent;
callers whose wait outgrows their patience hang up (so abandons grow with waits); agents
talk, then do after-call work, then take the next call.

The model emits :class:`SimEvent` objects in time order; the driver turns them into HTTP
requests (telephony events, sync pushes) and paces them against the wall clock.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class SimEvent:
    """One thing that happened at simulated time ``t`` (seconds since the start)."""

    t: float
    kind: str  # offered | offered_to_seat | answered | abandoned | ended | after_call_ended
    call_id: str
    agent: str | None = None
    profile: CallProfile | None = None


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


@dataclass(order=True)
class _Pending:
    t: float
    order: int
    kind: str = field(compare=False)
    call_id: str = field(compare=False)
    agent: str | None = field(compare=False, default=None)


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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CallCentre:
    """The supply side and the clock: agents, the queue, and the event heap."""

    def __init__(self, cfg: ModelConfig, agent_names: list[str] | None = None) -> None:
        self.cfg = cfg
        self.gen = CallGenerator(cfg)
        self.agents = agent_names or [f"agent{i:03d}" for i in range(1, cfg.agents + 1)]
        self.idle: deque[str] = deque(self.agents)  # longest idle first
        self.waiting: deque[str] = deque()  # call ids in arrival order
        self.profiles: dict[str, CallProfile] = {}
        self.offered_at: dict[str, float] = {}
        self.totals = Totals()
        self._heap: list[_Pending] = []
        self._order = 0
        self._calls = 0
        self.now = 0.0
        self._schedule(self.gen.next_arrival(0.0), "arrival", "")

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
                if p.call_id in self.profiles and p.call_id in self.waiting:
                    self.waiting.remove(p.call_id)
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
            elif p.kind == "acw_end":
                out.append(SimEvent(p.t, "after_call_ended", p.call_id, p.agent))
                del self.profiles[p.call_id]
                assert p.agent is not None
                self._agent_free(p.t, p.agent, out)
        self.now = max(self.now, until)
        return out

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
            self._schedule(t + prof.patience_seconds, "abandon", call_id)

    def _connect(self, t: float, call_id: str, agent: str, out: list[SimEvent]) -> None:
        out.append(SimEvent(t, "offered_to_seat", call_id, agent))
        ring = 1.0 + self.gen.rng.random() * 3.0  # the agent picks up within 1-4 s
        self.totals.answered += 1
        self.totals.wait_total += t + ring - self.offered_at.pop(call_id)
        self._schedule(t + ring, "answer", call_id, agent)

    def _agent_free(self, t: float, agent: str, out: list[SimEvent]) -> None:
        while self.waiting:
            call_id = self.waiting.popleft()
            if call_id in self.profiles:
                self._connect(t, call_id, agent, out)
                return
        self.idle.append(agent)

    @property
    def busy(self) -> bool:
        """Calls still queued or in progress (used to drain at the end of a run)."""
        return bool(self.profiles)
