"""The demo's phone system: it rings the demo agent's seat, as an ACD would.

It talks to the server only through the telephony API, with the same token a real phone
system would hold, so the call offer the desk shows travels the real path: telephony event
-> server -> the agent's event stream -> intake opens with the caller's number.

Most calls come from numbers that already have tickets (``known_numbers``, from the seed),
the first one always: the server puts that caller's recent tickets into the offer and the
intake lists them beside the form, as the README promises. The rest are first-time callers.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from agent_tui.demo.seed import MOBILE_PREFIXES

FIRST_CALL_AFTER_SECONDS = 3.0
PICK_UP_AFTER_SECONDS = 2.0
# The first call rings until the desk has surely signed in and opened its event stream (the
# server re-sends a call still ringing when the stream connects), so no newcomer misses it;
# still inside the 15-second service level, so the lead panel's figures stay plausible.
FIRST_PICK_UP_AFTER_SECONDS = 14.0
TALK_SECONDS = (45.0, 90.0)
AFTER_CALL_SECONDS = 10.0
PAUSE_BETWEEN_CALLS = (20.0, 40.0)
KNOWN_CALLER_SHARE = 0.6
FIRST_CALL_FROM = 3  # the first call: one of the three callers with the most tickets
QUEUE = "12345"


@dataclass
class DemoPhone:
    """Rings ``agent``'s seat now and then until stopped; every wait is bounded."""

    server_url: str
    telephony_token: str
    agent: str
    seed: int = 2022
    known_numbers: Sequence[str] = ()
    known_share: float = KNOWN_CALLER_SHARE

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random(self.seed)
        self.calls_offered = 0
        self.numbers_rung: list[str] = []
        self.last_error: str | None = None

    def next_number(self) -> str:
        """The caller of the next call. The first call comes from one of the callers with
        the most tickets (``known_numbers`` lists them first); later calls from a number
        with tickets ``known_share`` of the time, otherwise from a new caller."""
        known = list(self.known_numbers)
        if known and not self.numbers_rung:
            return self._rng.choice(known[:FIRST_CALL_FROM])
        if known and self._rng.random() < self.known_share:
            return self._rng.choice(known)
        return self._rng.choice(MOBILE_PREFIXES) + f"{self._rng.randrange(10**8):08d}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo-phone", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.telephony_token}"}
        with httpx.Client(base_url=self.server_url, headers=headers, timeout=5.0) as http:
            if self._stop.wait(FIRST_CALL_AFTER_SECONDS):
                return
            while not self._stop.is_set():
                try:
                    self._one_call(http)
                except httpx.HTTPError as exc:  # the server is going away, or the link is cut
                    self.last_error = str(exc)
                if self._stop.wait(self._rng.uniform(*PAUSE_BETWEEN_CALLS)):
                    return

    def _one_call(self, http: httpx.Client) -> None:
        call_id = f"demo-{uuid.uuid4().hex[:12]}"
        number = self.next_number()
        steps = self._steps(first=not self.numbers_rung)
        self.numbers_rung.append(number)
        self._send(http, call_id, "offered", number, agent=None)
        self._send(http, call_id, "offered_to_seat", number, agent=self.agent)
        self.calls_offered += 1
        for event, wait in steps:
            if self._stop.wait(wait):
                return
            self._send(http, call_id, event, number, agent=self.agent)

    def _steps(self, *, first: bool) -> Iterator[tuple[str, float]]:
        yield "answered", FIRST_PICK_UP_AFTER_SECONDS if first else PICK_UP_AFTER_SECONDS
        yield "ended", self._rng.uniform(*TALK_SECONDS)
        yield "after_call_ended", AFTER_CALL_SECONDS

    def _send(
        self, http: httpx.Client, call_id: str, event: str, number: str, agent: str | None
    ) -> None:
        body = {
            "event_id": f"{call_id}:{event}",
            "type": event,
            "call_id": call_id,
            "at": datetime.now(UTC).isoformat(),
            "caller_number": number,
            "queue": QUEUE,
        }
        if agent is not None:
            body["agent"] = agent
        r = http.post("/api/v1/telephony/events", json={"events": [body]})
        r.raise_for_status()
