"""Everything the demo runs besides the desk itself, started and stopped as one piece.

``DemoWorld`` is a context manager: on entry it makes a working directory, starts the
embedded server, writes demo users, articles and tickets, starts the simulator, the demo
phone and the link relay; on exit it stops them all (in reverse order) and removes the
directory unless asked to keep it. Tests use it without a terminal; ``agent-tui demo``
puts the desk on top of it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import httpx

from agent_tui.demo import seed
from agent_tui.demo.embedded import Children, DemoError, EmbeddedServer, server_command
from agent_tui.demo.link import LinkRelay, cut_link
from agent_tui.demo.phone import DemoPhone

AGENT = "agent"
LEAD = "lead"
SIM_AGENTS = 12  # with ~19% shrinkage, ~92% of 90 calls an hour answered (docs/simulator.md)
SIM_CALLS_PER_HOUR = 90.0
SEED_TICKETS = 300


def control_path() -> Path:
    """Where a running demo says where it is, so `agent-tui demo --cut-link` can find it."""
    return Path(tempfile.gettempdir()) / f"agent-tui-demo-{os.getuid()}.json"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def cut_running_demo_link(seconds: float) -> Path:
    """Cut the link of the demo running on this machine (from another terminal).

    The control file names the demo's process and its link's control file; a demo that was
    killed leaves the file behind, so its process must still be alive to count as running."""
    try:
        state = json.loads(control_path().read_text(encoding="utf-8"))
        pid = int(state["pid"])
        control = Path(state["link_control"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DemoError(
            "no demo is running on this machine (start one with `agent-tui demo`)"
        ) from exc
    if pid <= 0 or not _process_alive(pid) or not control.parent.is_dir():
        raise DemoError("the demo that was running has stopped (start one with `agent-tui demo`)")
    cut_link(control, seconds)
    return control


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    display_name: str


class DemoWorld:
    """The demo's server, data, simulator, phone and link, as one context manager."""

    def __init__(
        self,
        *,
        keep: bool = False,
        tickets: int = SEED_TICKETS,
        simulate: bool = True,
        lang: str = "zh",
    ):
        self.keep = keep
        self.lang = lang  # the language of the demo's knowledge-base articles
        self.tickets = tickets
        self.simulate = simulate
        self.children = Children()
        self.workdir = Path(tempfile.mkdtemp(prefix="agent-tui-demo-"))
        self.telephony_token = secrets.token_urlsafe(24)
        self.server = EmbeddedServer(self.workdir, self.children, self.telephony_token)
        self.accounts = {
            AGENT: DemoAccount(AGENT, secrets.token_urlsafe(9), "agent", "示例话务员"),
            LEAD: DemoAccount(LEAD, secrets.token_urlsafe(9), "lead", "示例班长"),
        }
        self.relay = LinkRelay(0, self.workdir / "link-cut-until")
        self.phone: DemoPhone | None = None
        self.seeded_numbers: tuple[str, ...] = ()  # callers with tickets, most tickets first

    @property
    def desk_url(self) -> str:
        """The server as the desk sees it: through the link relay that can be cut."""
        return f"http://127.0.0.1:{self.relay.port}"

    def cut_link(self, seconds: float) -> float:
        """Cut the desk's link for ``seconds``; returns the wall-clock time it comes back."""
        return cut_link(self.relay.control_file, seconds)

    def __enter__(self) -> DemoWorld:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        self.server.migrate()
        for account in self.accounts.values():
            self.server.add_user(
                account.username, account.role, account.password, account.display_name
            )
        self.server.start()
        self._seed()
        if self.simulate:
            self._start_simulator()
        self.relay.target_port = self.server.port
        self.relay.start()
        self.phone = DemoPhone(
            self.server.url, self.telephony_token, AGENT, known_numbers=self.seeded_numbers
        )
        self.phone.start()
        control_path().write_text(
            json.dumps({"pid": os.getpid(), "link_control": str(self.relay.control_file)}),
            encoding="utf-8",
        )

    def _seed(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=30.0) as http:
            agent, lead = self.accounts[AGENT], self.accounts[LEAD]
            lead_token = seed.login(http, lead.username, lead.password)
            seed.write_articles(http, lead_token, self.lang)
            desks = [
                seed.DeskClient(
                    http, agent.username, seed.login(http, agent.username, agent.password)
                ),
                seed.DeskClient(http, lead.username, lead_token),
            ]
            seeded = seed.seed_tickets(desks, self.tickets, datetime.now(UTC))
            self.seeded_numbers = seeded.numbers
            # The demo agent starts with the seat signed in and ready, as after a shift's
            # sign-in: the server offers calls to ready seats only, so the phone's calls
            # reach the desk (and stop while the agent takes a break).
            r = http.put("/api/v1/seats/me", json={"state": "ready"}, headers=desks[0].headers)
            r.raise_for_status()

    def _start_simulator(self) -> None:
        argv = server_command(
            "simulate",
            "--server",
            self.server.url,
            "--calls-per-hour",
            str(SIM_CALLS_PER_HOUR),
            "--agents",
            str(SIM_AGENTS),
            "--duration",
            "24h",
            "--create-agents",
            "--database",
            self.server.database_url,
            "--telephony-token",
            self.telephony_token,
        )
        self.children.spawn("simulator", argv, env=self.server.env(), log=self.workdir / "sim.log")

    def close(self) -> None:
        if self.phone is not None:
            self.phone.stop()
        self.relay.stop()
        self.children.stop_all()
        try:
            state = json.loads(control_path().read_text(encoding="utf-8"))
            if state.get("pid") == os.getpid():
                control_path().unlink()
        except (OSError, ValueError):
            pass
        if not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
