"""``hotline-server simulate``: drive a running server as a phone system and a crowd of agents.

The call-centre model (:mod:`hotline_server.live.simmodel`) runs in simulated time; this
driver paces it against the wall clock at ``speed`` x and turns what happens into real
requests: telephony events in batches to ``POST /api/v1/telephony/events`` (as the ACD
would), and per agent ``POST /api/v1/sync/push`` with ``create_ticket`` mutations after each
answered call (as the agent's desk would), then the ticket's later moves (``change_status``
to handling, replied, closed; ``record_callback`` with a score when evaluated) as simulated
time reaches them, plus seat heartbeats and the seat's breaks and sign-outs
(``PUT /api/v1/seats/me``) as the model's shrinkage takes agents off the phones. Times on the
wire are simulated times anchored at the start of the run, so the daily report of the run's date
reads like the day that was simulated.

Throughput: each tick sends one telephony batch and one push per agent with news, all
concurrently over ``concurrency`` keep-alive HTTP/1.1 connections (:class:`Lanes`); at
``--speed 100`` a peak day (80,000 calls, 200 agents) is ~93 calls and ~470 events a second,
i.e. ~100 requests a second.

Timing: the run's wall time (and so its achieved speed) runs from the first tick until every
event and mutation of the simulated window has been answered, the final drain included (a
backlog at the end shows as a longer drain); the agents' sign-in before it and sign-out after
it are reported apart, as the shift's start and end rather than the window being replayed.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from hotline.ids import uuid7_at
from hotline_server.live.simmodel import CallCentre, CallProfile, ModelConfig, SimEvent

TICK_SECONDS = 0.25  # wall-clock pacing step
HEARTBEAT_SECONDS = 20.0  # wall-clock seat heartbeat per agent
MAX_EVENTS_PER_REQUEST = 1000
MAX_MUTATIONS_PER_PUSH = 100
LOGIN_CONCURRENCY = 8  # under the server's per-address limit of sign-ins in flight
LOGIN_ATTEMPTS = 20  # a 429 is retried after 0.25 s, 0.5 s, ... (bounded)


@dataclass
class SimConfig:
    server: str
    calls_per_hour: float
    agents: int
    speed: float = 1.0
    duration_seconds: float | None = None  # simulated
    calls: int | None = None
    telephony_token: str = ""
    agent_prefix: str = "sim"
    agent_password: str = ""
    seed: int = 12345
    start_at: datetime | None = None
    concurrency: int = 32
    flat: bool = False
    timezone: str = "Asia/Shanghai"  # the site's: the daily curve follows its local hours


@dataclass
class Agent:
    username: str
    token: str = ""
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_mutation: int = 1
    outbox: list[dict[str, Any]] = field(default_factory=list)
    last_contact: float = 0.0
    seat: list[tuple[str, str | None]] = field(default_factory=list)  # states to send, in order


@dataclass
class SimSummary:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    tickets_pushed: int = 0
    tickets_applied: int = 0
    tickets_rejected: int = 0
    ticket_moves: int = 0  # status changes and evaluations pushed after intake
    moves_applied: int = 0
    dispatched: int = 0
    resolved: int = 0
    evaluated: int = 0
    breaks: dict[str, int] = field(default_factory=dict)
    off_phone_share: float | None = None  # of the agents' signed-in time
    urgent: int = 0
    by_subcategory: dict[str, int] = field(default_factory=dict)
    by_queue: dict[str, int] = field(default_factory=dict)
    events_sent: int = 0
    requests: int = 0
    errors: int = 0
    simulated_seconds: float = 0.0
    wall_seconds: float = 0.0
    max_lag_seconds: float = 0.0
    drain_seconds: float = 0.0  # last tick -> all answered (inside wall_seconds)
    sign_out_seconds: float = 0.0  # after wall_seconds
    cpu_seconds: float = 0.0  # this process, over wall_seconds
    average_wait_seconds: float | None = None

    @property
    def achieved_speed(self) -> float:
        return self.simulated_seconds / self.wall_seconds if self.wall_seconds else 0.0

    def lines(self) -> list[str]:
        rate = f"{self.answered / self.offered:.1%}" if self.offered else "n/a"
        subs = ", ".join(f"{k} {v}" for k, v in sorted(self.by_subcategory.items())) or "none"
        queues = ", ".join(f"{k} {v}" for k, v in sorted(self.by_queue.items()))
        breaks = ", ".join(f"{k} {v}" for k, v in sorted(self.breaks.items())) or "none"
        shrink = "n/a" if self.off_phone_share is None else f"{self.off_phone_share:.1%}"
        return [
            f"simulated {self.simulated_seconds / 3600:.2f} h in {self.wall_seconds:.1f} s wall "
            f"(achieved speed {self.achieved_speed:.1f}x, max lag {self.max_lag_seconds:.1f} s)",
            f"calls offered {self.offered}, answered {self.answered}, abandoned "
            f"{self.abandoned}, answer rate {rate}",
            f"queues: {queues}",
            f"urgent medical {self.urgent}: {subs}",
            f"tickets pushed {self.tickets_pushed}, applied {self.tickets_applied}, "
            f"rejected {self.tickets_rejected}",
            f"ticket moves {self.ticket_moves}: dispatched {self.dispatched}, resolved "
            f"{self.resolved}, evaluated {self.evaluated}; applied {self.moves_applied}",
            f"breaks: {breaks}; off the phones {shrink} of signed-in time",
            f"telephony events {self.events_sent}; requests {self.requests}, errors {self.errors}",
            f"final drain {self.drain_seconds:.1f} s (in the wall time), sign-out "
            f"{self.sign_out_seconds:.1f} s (after it); simulator CPU {self.cpu_seconds:.1f} s "
            f"({self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0:.0%} of a core)",
        ]


class SimulationError(RuntimeError):
    pass


class Lanes:
    """``n`` keep-alive HTTP/1.1 connections, each a single-connection httpx client lent to
    one request at a time (at most ``n`` requests in flight; the rest wait for a free lane).

    One shared ``httpx.AsyncClient`` with ``n`` connections does the same, but its pool
    re-examines every connection (and polls each idle socket) for every request it queues and
    finishes: with 32 connections and ~100 requests a second that bookkeeping was about half of
    the simulator's CPU, which on a 2-core machine is taken from the server being measured."""

    def __init__(self, base_url: str, n: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._clients = [
            httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits)
            for _ in range(max(1, n))
        ]
        self._free: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()
        for client in self._clients:
            self._free.put_nowait(client)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        client = await self._free.get()
        try:
            return await client.request(method, path, **kwargs)
        finally:
            self._free.put_nowait(client)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def parse_duration(text: str) -> float:
    """'90s', '15m', '24h', '2d' or plain seconds -> seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError as exc:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 24h)") from exc


ACCOUNTS = {
    "epidemic": "来电咨询小区封控期间就医配药和核酸检测安排。",
    "urgent_medical": "来电反映家人急需就医，请求协调车辆和医院。",
    "housing": "来电反映小区电梯故障多日未修。",
    "transport": "来电咨询公交线路调整情况。",
    "utilities": "来电反映家中停水，询问恢复时间。",
    "social_security": "来电咨询社保缴费基数调整。",
    "market_regulation": "来电投诉超市哄抬物价。",
    "environment": "来电反映夜间施工噪声扰民。",
    "public_security": "来电反映小区周边有可疑人员。",
    "other": "来电咨询其他事项。",
}

# 承办单位 by category (a dispatched ticket names its handling unit; district + unit).
HANDLING_UNITS = {
    "epidemic": "区疫情防控办",
    "urgent_medical": "区卫健委",
    "housing": "区房管局",
    "transport": "区交通委",
    "utilities": "区水务局",
    "social_security": "区人社局",
    "market_regulation": "区市场监管局",
    "environment": "区生态环境局",
    "public_security": "公安分局",
    "other": "街道办事处",
}


def ticket_mutation(
    agent: Agent, prof: CallProfile, call_start: datetime, created: datetime, ticket_id: str
) -> dict[str, Any]:
    args: dict[str, Any] = {
        "id": ticket_id,
        "call_started_at": call_start.isoformat(),
        "created_at": created.isoformat(),
        "caller_name": "市民",
        "phone": prof.caller_number,
        "district": prof.district,
        "kind": prof.kind,
        "category": prof.category,
        "urgency": "red" if prof.urgent_subcategory else "normal",
        "account": ACCOUNTS.get(prof.category, ACCOUNTS["other"]),
        "channel": "phone",
        "disposition": prof.disposition,
    }
    if prof.urgent_subcategory:
        args["urgent_subcategory"] = prof.urgent_subcategory
    if prof.disposition == "on_spot":
        args["answer"] = "已当场解答。"
    elif prof.disposition == "dispatch":
        args["handling_unit"] = prof.district + HANDLING_UNITS.get(prof.category, "街道办事处")
    return _mutation(agent, "create_ticket", args, created)


def _mutation(agent: Agent, name: str, args: dict[str, Any], at: datetime) -> dict[str, Any]:
    m = {
        "mutation_id": agent.next_mutation,
        "name": name,
        "args": args,
        "client_time": at.isoformat(),
    }
    agent.next_mutation += 1
    return m


def ticket_moves(
    agent: Agent, ticket_id: str, revision: int, state: str, score: int | None, at: datetime
) -> list[dict[str, Any]]:
    """The desk's mutations for a later move of a ticket: a status change (before 已答复, the
    reply given to the caller, which the server requires), or the callback (回访) that
    evaluates it with the caller's score."""
    if state == "evaluated":
        args: dict[str, Any] = {"ticket_id": ticket_id, "reached": True, "satisfaction": score}
        return [_mutation(agent, "record_callback", args, at)]
    before: list[dict[str, Any]] = []
    if state == "replied":
        reply = {"ticket_id": ticket_id, "base_revision": revision, "changes": {"answer": REPLY}}
        before.append(_mutation(agent, "update_ticket", reply, at))
        revision += 1
    args = {"ticket_id": ticket_id, "to": state, "base_revision": revision}
    if state == "dispatched":
        args["reason"] = "转派承办单位"
    return [*before, _mutation(agent, "change_status", args, at)]


REPLY = "承办单位已办理并答复来电人。"
"""What a simulated ticket's reply (答复内容) says when it is marked replied."""

MOVE_NAMES = frozenset({"change_status", "record_callback"})


class Simulator:
    def __init__(self, cfg: SimConfig, out: Callable[[str], None] = print) -> None:
        if cfg.duration_seconds is None and cfg.calls is None:
            raise SimulationError("give --duration or --calls so the run stops by itself")
        if cfg.speed <= 0:
            raise SimulationError("--speed must be positive")
        self.cfg = cfg
        self.out = out
        self.anchor = cfg.start_at or datetime.now(UTC)
        local = self.anchor.astimezone(ZoneInfo(cfg.timezone))
        local_hour = local.hour + local.minute / 60
        self.model = CallCentre(
            ModelConfig(
                calls_per_hour=cfg.calls_per_hour,
                agents=cfg.agents,
                start_hour=local_hour,
                seed=cfg.seed,
                flat=cfg.flat,
            ),
            agent_names=[f"{cfg.agent_prefix}{i:03d}" for i in range(1, cfg.agents + 1)],
        )
        self.agents = {name: Agent(name) for name in self.model.agents}
        self.summary = SimSummary()
        self._events: list[dict[str, Any]] = []
        self._event_t: list[float] = []  # sim time of the oldest unsent event
        self._started: float | None = None
        self._call_start: dict[str, datetime] = {}
        self._tickets: dict[str, tuple[str, int]] = {}  # call id -> (ticket id, revision)
        self._seq = 0
        self._rng = __import__("random").Random(cfg.seed ^ 0x5EED)

    # ------------------------------------------------------------ helpers

    def at(self, t: float) -> datetime:
        return self.anchor + timedelta(seconds=t)

    async def _request(
        self,
        client: Lanes,
        method: str,
        path: str,
        *,
        token: str,
        json: Any = None,
    ) -> httpx.Response | None:
        for attempt in range(4):
            self.summary.requests += 1
            try:
                resp = await client.request(
                    method, path, json=json, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError:
                self.summary.errors += 1
                await asyncio.sleep(0.2 * (attempt + 1))  # off its lane while it waits
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                self.summary.errors += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if resp.status_code >= 400:
                self.summary.errors += 1
                if self.summary.errors <= 5:
                    self.out(f"simulate: {method} {path} -> {resp.status_code} {resp.text[:200]}")
            return resp
        return None

    # ------------------------------------------------------------ translation

    def _telephony(self, ev: SimEvent) -> None:
        self._seq += 1
        body: dict[str, Any] = {
            "event_id": f"{ev.call_id}-{ev.kind}",
            "type": ev.kind,
            "call_id": ev.call_id,
            "at": self.at(ev.t).isoformat(),
        }
        if ev.kind == "offered" and ev.profile is not None:
            body["caller_number"] = ev.profile.caller_number
            body["queue"] = ev.profile.queue
        if ev.agent:
            body["agent"] = ev.agent
        if not self._events:
            self._event_t.append(ev.t)
        self._events.append(body)

    def _handle(self, ev: SimEvent) -> None:
        if ev.kind == "seat" or ev.kind == "ticket":
            self._desk(ev)
            return
        self._telephony(ev)
        if ev.kind == "answered":
            self._call_start[ev.call_id] = self.at(ev.t)
            if ev.agent:
                # Back from a break and straight into a call in the same tick: the seat's
                # "ready" would reach the server after this event (seat changes follow the
                # telephony batch) and hide the call; the answered call is the newer state.
                self.agents[ev.agent].seat.clear()
        elif ev.kind == "ended" and ev.agent and ev.profile is not None:
            agent = self.agents[ev.agent]
            start = self._call_start.pop(ev.call_id, self.at(ev.t))
            created = self.at(ev.t)
            ms = int(created.timestamp() * 1000)
            tid = uuid7_at(ms, self._rng.getrandbits(74))
            agent.outbox.append(ticket_mutation(agent, ev.profile, start, created, tid))
            self.summary.tickets_pushed += 1
            if ev.profile.disposition != "on_spot":
                self._tickets[ev.call_id] = (tid, 1)

    def _desk(self, ev: SimEvent) -> None:
        """What the agent's desk does outside calls: a seat state, or a ticket's next move."""
        assert ev.agent is not None and ev.state is not None
        agent = self.agents[ev.agent]
        if ev.kind == "seat":
            agent.seat.append((ev.state, ev.reason))
            return
        known = self._tickets.get(ev.call_id)
        if known is None:  # created before this run (cannot happen) or already finished
            return
        tid, revision = known
        moves = ticket_moves(agent, tid, revision, ev.state, ev.score, self.at(ev.t))
        agent.outbox.extend(moves)
        self.summary.ticket_moves += 1
        if ev.reason == "last":
            del self._tickets[ev.call_id]
        else:
            self._tickets[ev.call_id] = (tid, revision + len(moves))

    # ------------------------------------------------------------ I/O

    async def _login(self, client: Lanes, agent: Agent, gate: asyncio.Semaphore) -> None:
        """Sign one agent in. The server counts a sign-in in flight as a failure until its
        password checks out, and refuses an address with too many of those (429), so the
        agents sign in a few at a time (``LOGIN_CONCURRENCY``) and a refused one tries again
        after a short, growing pause (``LOGIN_ATTEMPTS`` in all)."""
        resp: httpx.Response | None = None
        for attempt in range(LOGIN_ATTEMPTS):
            async with gate:
                resp = await client.request(
                    "POST",
                    "/api/v1/auth/login",
                    json={"username": agent.username, "password": self.cfg.agent_password},
                )
            if resp.status_code != 429:
                break
            await asyncio.sleep(min(5.0, 0.25 * (attempt + 1)))
        assert resp is not None
        if resp.status_code != 200:
            raise SimulationError(
                f"agent {agent.username} cannot sign in ({resp.status_code}): create the "
                f"simulated agents first (hotline-server simulate --create-agents --database URL)"
            )
        agent.token = resp.json()["access_token"]

    async def _push(self, client: Lanes, agent: Agent) -> None:
        while agent.outbox:
            batch = agent.outbox[:MAX_MUTATIONS_PER_PUSH]
            resp = await self._request(
                client,
                "POST",
                "/api/v1/sync/push",
                token=agent.token,
                json={"client_id": agent.client_id, "mutations": batch},
            )
            if resp is None or resp.status_code != 200:
                return  # keep the outbox; the next tick retries, as a desk would
            body = resp.json()
            acked = int(body.get("last_mutation_id", 0))
            creates = {m["mutation_id"] for m in batch if m["name"] == "create_ticket"}
            moves = {m["mutation_id"] for m in batch if m["name"] in MOVE_NAMES}
            s = self.summary
            for r in body.get("results", []):
                created = r.get("mutation_id") in creates
                if r.get("outcome") == "applied":
                    if created:
                        s.tickets_applied += 1
                    elif r.get("mutation_id") in moves:
                        s.moves_applied += 1
                elif r.get("outcome") == "rejected":
                    s.tickets_rejected += 1  # a refused move counts too: none should be
                    if s.tickets_rejected <= 3:
                        what = "ticket" if created else "ticket move"
                        self.out(f"simulate: {what} rejected: {r.get('reason')}")
            agent.outbox = [m for m in agent.outbox if m["mutation_id"] > acked]
            agent.last_contact = time.monotonic()

    async def _seat(
        self, client: Lanes, agent: Agent, state: str, reason: str | None = None
    ) -> None:
        body: dict[str, Any] = {
            "state": state,
            "unsynced": len(agent.outbox),
            "client_id": agent.client_id,
        }
        if reason is not None:
            body["reason"] = reason
        await self._request(client, "PUT", "/api/v1/seats/me", token=agent.token, json=body)
        agent.last_contact = time.monotonic()

    async def _seat_changes(self, client: Lanes, agent: Agent) -> None:
        """The seat's latest state of this tick (break, signed_out or ready): what changed
        before it in the same tick was replaced by it on the server anyway."""
        changes, agent.seat = agent.seat, []
        state, reason = changes[-1]
        await self._seat(client, agent, state, reason)

    async def _heartbeat(self, client: Lanes, agent: Agent) -> None:
        await self._request(
            client,
            "POST",
            "/api/v1/seats/me/heartbeat",
            token=agent.token,
            json={"unsynced": len(agent.outbox), "client_id": agent.client_id},
        )
        agent.last_contact = time.monotonic()

    async def _send_events(self, client: Lanes) -> None:
        events, self._events = self._events, []
        if events and self._started is not None:
            # how far behind the simulated clock the oldest unsent event is (wall seconds)
            first_t = self._event_t.pop(0) if self._event_t else 0.0
            due = self._started + first_t / self.cfg.speed
            lag = max(0.0, time.monotonic() - due)
            self.summary.max_lag_seconds = max(self.summary.max_lag_seconds, lag)
        self._event_t.clear()
        for i in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            chunk = events[i : i + MAX_EVENTS_PER_REQUEST]
            resp = await self._request(
                client,
                "POST",
                "/api/v1/telephony/events",
                token=self.cfg.telephony_token,
                json={"events": chunk},
            )
            if resp is not None and resp.status_code == 200:
                self.summary.events_sent += len(chunk)

    async def _flush(self, client: Lanes) -> None:
        # Telephony first: the ACD reports the call before the agent's ticket arrives.
        await self._send_events(client)
        now = time.monotonic()
        jobs = [self._push(client, a) for a in self.agents.values() if a.outbox]
        jobs += [self._seat_changes(client, a) for a in self.agents.values() if a.seat]
        jobs += [
            self._heartbeat(client, a)
            for a in self.agents.values()
            if not a.outbox and now - a.last_contact > HEARTBEAT_SECONDS
        ]
        if jobs:
            await asyncio.gather(*jobs)

    # ------------------------------------------------------------ run

    async def run(self) -> SimSummary:
        cfg = self.cfg
        client = Lanes(cfg.server, cfg.concurrency, timeout=30.0)
        try:
            return await self._run(client)
        finally:
            await client.aclose()

    async def _run(self, client: Lanes) -> SimSummary:
        cfg = self.cfg
        resp = await client.request("GET", "/healthz")
        if resp.status_code != 200:
            raise SimulationError(f"server at {cfg.server} is not healthy ({resp.status_code})")
        gate = asyncio.Semaphore(LOGIN_CONCURRENCY)
        await asyncio.gather(*(self._login(client, a, gate) for a in self.agents.values()))
        await asyncio.gather(*(self._seat(client, a, "ready") for a in self.agents.values()))
        started = time.monotonic()
        cpu0 = time.process_time()
        self._started = started
        end_t = cfg.duration_seconds if cfg.duration_seconds is not None else math.inf
        t = 0.0
        flusher: asyncio.Task[None] | None = None
        while True:
            wall = time.monotonic() - started
            target = min(wall * cfg.speed, end_t)
            for ev in self.model.advance(target, max_offered=cfg.calls):
                self._handle(ev)
            t = target
            # Send in the background: while one flush is on the wire, the next tick's
            # events accumulate and go in the next (bigger) batch. The server reconciles
            # telephony events in any order; pushes stay ordered per agent.
            if flusher is None or flusher.done():
                if flusher is not None:
                    flusher.result()
                flusher = asyncio.create_task(self._flush(client))
            done_calls = cfg.calls is not None and self.model.totals.offered >= cfg.calls
            if t >= end_t or (done_calls and not self.model.busy):
                break
            next_wall = wall + TICK_SECONDS
            pause = next_wall - (time.monotonic() - started)
            if pause > 0:
                await asyncio.sleep(pause)
        last_tick = time.monotonic()
        if flusher is not None:
            await flusher
        await self._flush(client)
        for a in self.agents.values():  # whatever a failed tick left behind
            await self._push(client, a)
        s = self.summary
        delivered = time.monotonic()
        s.wall_seconds = delivered - started
        s.drain_seconds = delivered - last_tick
        s.cpu_seconds = time.process_time() - cpu0
        await asyncio.gather(*(self._seat(client, a, "signed_out") for a in self.agents.values()))
        s.sign_out_seconds = time.monotonic() - delivered
        s.simulated_seconds = t
        tot = self.model.totals
        s.offered, s.answered, s.abandoned = tot.offered, tot.answered, tot.abandoned
        s.urgent, s.by_subcategory, s.by_queue = tot.urgent, tot.by_subcategory, tot.by_queue
        s.dispatched, s.resolved, s.evaluated = tot.dispatched, tot.resolved, tot.evaluated
        s.breaks = dict(tot.breaks)
        if t > 0:
            s.off_phone_share = min(tot.off_phone_seconds, t * len(self.agents)) / (
                t * len(self.agents)
            )
        s.average_wait_seconds = tot.wait_total / tot.answered if tot.answered else None
        return s


def run_simulation(cfg: SimConfig, out: Callable[[str], None] = print) -> SimSummary:
    sim = Simulator(cfg, out)
    summary = asyncio.run(sim.run())
    for line in summary.lines():
        out(line)
    return summary
