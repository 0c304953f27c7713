"""Fill a fresh demo server through its own HTTP API: articles, tickets, as real clients would.

Nothing is written to the server's database behind its back: tickets arrive as sync pushes
from the demo agents' "desks" (so they get server numbers, revisions and change-log rows),
and articles through the knowledge-base endpoint, as a shift lead would write them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from agent_tui.demo.seed_data import (
    ARTICLES,
    COMMUNITIES,
    EVERYDAY_ARTICLES,
    GIVEN,
    HANDLING_UNITS,
    ROADS,
    SITUATIONS,
    SURNAMES,
)
from hotline.ids import uuid7_at

DISTRICTS = ("浦东新区", "徐汇区", "闵行区", "嘉定区", "普陀区", "杨浦区", "静安区", "长宁区")
MOBILE_PREFIXES = ("138", "139", "137", "136", "135", "150", "151", "158", "186", "189", "177")
PUSH_BATCH = 100
# Some people ring again and again (a patient on dialysis, a family waiting for supplies): a
# share of the calls comes from a few regular callers, so their numbers have several tickets
# and the demo phone can ring with them (the intake then lists those tickets beside the form).
REGULAR_CALLERS = 12
REGULAR_SHARE = 0.3
RED_SHARE = 0.15  # urgent medical share of the calls in the demo
# Minutes from a red call to its first response (the dispatch at intake), in turn: in pairs
# averaging 18 (the figure the reference story gives after the reform), so the seeded red
# tickets average 18 minutes (exactly, for an even number of them), and one in eight is late
# (past the 30-minute rule): the panel's share within 30 minutes is about 7/8.
RED_RESPONSE_MINUTES = (12, 24, 16, 20, 2, 34, 18, 18)
CLOSED_PATH = ("handling", "replied", "closed")
# the topic (诉求分类, hotline.topics) of each demo situation's category: the lead panel's
# figures by topic then have something to count
TOPIC_OF = {
    "urgent_medical": "health",
    "epidemic": "epidemic",
    "supplies": "epidemic",
    "community": "housing",
    "transport": "transport",
    "market": "market",
}
# Where a dispatched ticket has got to, and how often (the rest stay where intake left them).
LATER_STATUSES: tuple[tuple[tuple[str, ...], float], ...] = (
    ((), 0.35),
    (("handling",), 0.25),
    (("handling", "replied"), 0.15),
    (CLOSED_PATH, 0.25),
)


class SeedError(RuntimeError):
    """The demo server refused what the demo sent; the message names the request."""


@dataclass
class DeskClient:
    """One demo user's desk: a token, a client id and its own mutation counter."""

    http: httpx.Client
    username: str
    token: str
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_mutation_id: int = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(self, name: str, args: dict[str, Any], at: datetime) -> dict[str, Any]:
        m = {
            "mutation_id": self.next_mutation_id,
            "name": name,
            "args": args,
            "client_time": at.isoformat(),
        }
        self.next_mutation_id += 1
        return m

    def push(self, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for start in range(0, len(mutations), PUSH_BATCH):
            batch = mutations[start : start + PUSH_BATCH]
            r = self.http.post(
                "/api/v1/sync/push",
                json={"client_id": self.client_id, "mutations": batch},
                headers=self.headers,
            )
            if r.status_code != 200:
                raise SeedError(f"push by {self.username} refused: {r.status_code} {r.text[:300]}")
            results.extend(r.json()["results"])
        return results


def login(http: httpx.Client, username: str, password: str) -> str:
    r = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    if r.status_code != 200:
        raise SeedError(f"demo user {username} cannot sign in: {r.status_code} {r.text[:200]}")
    return str(r.json()["access_token"])


def write_articles(http: httpx.Client, lead_token: str, lang: str = "zh") -> int:
    """The demo's answer scripts, in ``lang`` where a version in it exists (English for the
    everyday topics), else in Chinese."""
    for source in ARTICLES + EVERYDAY_ARTICLES:
        article = source.in_language(lang)
        r = http.post(
            "/api/v1/kb",
            json={
                "title": article.title,
                "body": article.body,
                "tags": list(article.tags),
                "category": article.category,
            },
            headers={"Authorization": f"Bearer {lead_token}"},
        )
        if r.status_code != 201:
            raise SeedError(f"article {article.title!r} refused: {r.status_code} {r.text[:200]}")
    return len(ARTICLES) + len(EVERYDAY_ARTICLES)


def caller(rng: random.Random) -> dict[str, str]:
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
    district = rng.choice(DISTRICTS)
    address = (
        f"上海市{district}{rng.choice(ROADS)}{rng.randrange(1, 2000)}弄{rng.randrange(1, 40)}号"
    )
    return {
        "caller_name": name,
        "phone": phone,
        "district": district,
        "address": address,
        "community": rng.choice(COMMUNITIES),
    }


def ticket_mutations(
    desk: DeskClient,
    rng: random.Random,
    call_at: datetime,
    who: dict[str, str] | None = None,
    red_response: int | None = None,
    now: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """The mutations of one call (from ``who``, or a new caller): the intake, then where the
    ticket has got to since. ``red_response``: minutes from a red call to its dispatch (its
    first response), else 2 to 6 like any other call; never later than ``now``."""
    red = [s for s in SITUATIONS if s[2] == "red"]
    normal = [s for s in SITUATIONS if s[2] != "red"]
    situation = rng.choice(red if rng.random() < RED_SHARE else normal)
    kind, category, urgency, sub, account, answer = situation
    ticket_id = uuid7_at(int(call_at.timestamp() * 1000), rng.getrandbits(74))
    on_spot = answer is not None and rng.random() < 0.8
    written = rng.randint(2, 6)
    if urgency == "red" and red_response is not None:
        written = red_response
    if now is not None:  # a call of the last minutes was written by now, not in the future
        written = min(written, int((now - call_at).total_seconds() // 60))
    args: dict[str, Any] = {
        "id": ticket_id,
        **(who if who is not None else caller(rng)),
        "kind": kind,
        "category": category,
        "urgency": urgency,
        "account": account,
        "channel": "phone",
        "call_started_at": call_at.isoformat(),
        "created_at": (call_at + timedelta(minutes=written)).isoformat(),
        "disposition": "on_spot" if on_spot else "dispatch",
    }
    if sub is not None:
        args["urgent_subcategory"] = sub
    if category in TOPIC_OF:
        args["topic"] = TOPIC_OF[category]
    if on_spot:
        args["answer"] = answer
    else:
        args["handling_unit"] = args["district"] + rng.choice(HANDLING_UNITS)
        args["promise"] = "承办单位将尽快与您联系" if urgency == "red" else "五个工作日内答复"
    yield desk.mutation("create_ticket", args, call_at)
    if on_spot:
        return
    r = rng.random()
    later: tuple[str, ...] = ()
    for statuses, share in LATER_STATUSES:
        if r < share:
            later = statuses
            break
        r -= share
    # Red tickets of the last hours stay open: they are what the countdowns are for; older
    # ones were mostly chased to the end (82.9 % of urgent medical tickets were resolved).
    if urgency == "red":
        recent = call_at > datetime.now(UTC) - timedelta(hours=3)
        later = () if recent else (CLOSED_PATH if rng.random() < 0.83 else ("handling",))
    revision = 1
    for step, status in enumerate(later, start=1):
        at = call_at + timedelta(hours=step)
        if status == "replied":  # 答复内容 is required before a ticket is marked replied
            changes = {"answer": "承办单位已处理并电话告知来电人处理结果"}
            yield desk.mutation(
                "update_ticket",
                {"ticket_id": ticket_id, "base_revision": revision, "changes": changes},
                at - timedelta(minutes=5),
            )
            revision += 1
        yield desk.mutation(
            "change_status",
            {"ticket_id": ticket_id, "to": status, "base_revision": revision},
            at,
        )
        revision += 1


@dataclass(frozen=True)
class SeededTickets:
    """What ``seed_tickets`` wrote: how many tickets, and the numbers that have tickets
    (regular callers first, most tickets first), for the demo phone to ring with."""

    created: int
    numbers: tuple[str, ...]


def seed_tickets(
    desks: list[DeskClient], count: int, now: datetime, seed: int = 12345
) -> SeededTickets:
    """``count`` calls spread over the last three days, shared among ``desks``."""
    plans, calls_by_number = plan_tickets(desks, count, now, seed)
    by_name = {d.username: d for d in desks}
    created = 0
    for name, mutations in plans.items():
        for result in by_name[name].push(mutations):
            if result["outcome"] == "rejected":
                raise SeedError(f"demo ticket refused: {result.get('reason')}")
        created += sum(1 for m in mutations if m["name"] == "create_ticket")
    numbers = sorted(calls_by_number, key=lambda n: -calls_by_number[n])  # stable: first seen
    return SeededTickets(created, tuple(numbers))


def plan_tickets(
    desks: list[DeskClient], count: int, now: datetime, seed: int = 12345
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """The mutations ``seed_tickets`` pushes, per desk, and the calls per number."""
    rng = random.Random(seed)
    plans: dict[str, list[dict[str, Any]]] = {d.username: [] for d in desks}
    regulars = [caller(rng) for _ in range(REGULAR_CALLERS)]
    times = sorted(now - timedelta(minutes=rng.uniform(5, 3 * 24 * 60)) for _ in range(count))
    calls_by_number: dict[str, int] = {}
    red_calls = 0
    for call_at in times:
        desk = rng.choice(desks)
        who = rng.choice(regulars) if rng.random() < REGULAR_SHARE else None
        response = RED_RESPONSE_MINUTES[red_calls % len(RED_RESPONSE_MINUTES)]
        mutations = list(ticket_mutations(desk, rng, call_at, who, response, now))
        if mutations[0]["args"]["urgency"] == "red":
            red_calls += 1
        number = mutations[0]["args"]["phone"]
        calls_by_number[number] = calls_by_number.get(number, 0) + 1
        plans[desk.username].extend(mutations)
    return plans, calls_by_number
