"""`hotline-server simulate` as a real subprocess against a running server: it stops by
itself, exits 0, prints its summary, and the server has the calls and tickets it reported."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date

from tests.integration.live.conftest import TELEPHONY_TOKEN, Live

DAY = date(2026, 3, 17)
CALLS = 25


def test_simulate_runs_a_bounded_day_and_stops_by_itself(live: Live) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "hotline_server", "simulate",
            "--server", live.url,
            "--calls-per-hour", "600", "--agents", "3", "--speed", "300", "--flat",
            "--calls", str(CALLS),
            "--start-at", f"{DAY.isoformat()}T09:00+0800",
            "--create-agents", "--database", live.server.database_url,
            "--agent-password", "simulated agent pw",
        ],
        capture_output=True,
        text=True,
        timeout=300,  # a hang is a failure, not a stuck test run
        env={**os.environ, "HOTLINE_TELEPHONY_TOKEN": TELEPHONY_TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "created 3 agent account(s)" in out
    offered = re.search(r"calls offered (\d+), answered (\d+), abandoned (\d+)", out)
    tickets = re.search(r"tickets pushed (\d+), applied (\d+), rejected (\d+)", out)
    errors = re.search(r"requests (\d+), errors (\d+)", out)
    assert offered and tickets and errors, out
    n_offered, n_answered, n_abandoned = (int(x) for x in offered.groups())
    n_applied = int(tickets.group(2))
    assert n_offered == CALLS
    assert n_answered + n_abandoned <= n_offered
    assert n_applied > 0 and int(tickets.group(3)) == 0
    assert int(errors.group(2)) == 0
    # The wall time (and achieved speed) ends when the window's last request was answered;
    # the sign-outs come after it and are reported apart.
    wall = re.search(r"in ([\d.]+) s wall \(achieved speed ([\d.]+)x", out)
    tail = re.search(r"final drain ([\d.]+) s \(in the wall time\), sign-out ([\d.]+) s", out)
    assert wall and tail, out
    assert float(tail.group(1)) <= float(wall.group(1))

    with live.client("lee") as lead:
        r = lead.get("/api/v1/reports/daily", params={"date": DAY.isoformat()})
        assert r.status_code == 200, r.text
        day = next(row for row in r.json()["rows"] if row["queue"] == "all")
        seat_rows = lead.get("/api/v1/seats").json()["seats"]
        seats = {s["agent"] for s in seat_rows}
    assert day["offered"] == n_offered
    assert day["answered"] == n_answered
    assert day["tickets_created"] == n_applied
    assert {"sim001", "sim002", "sim003"} <= seats
    # the run still ends its agents' shift
    assert {s["state"] for s in seat_rows if s["agent"].startswith("sim")} == {"signed_out"}


def test_simulated_tickets_get_resolved_and_seats_take_breaks(live: Live) -> None:
    """Ten simulated hours: dispatched tickets move on (handling, replied, closed, some
    evaluated) through the server's own rules, so the day's resolution rate is above 0."""
    day = date(2026, 3, 18)
    result = subprocess.run(
        [
            sys.executable, "-m", "hotline_server", "simulate",
            "--server", live.url,
            "--calls-per-hour", "40", "--agents", "4", "--speed", "2400", "--flat",
            "--duration", "10h", "--seed", "11",
            "--start-at", f"{day.isoformat()}T08:00+0800",
            "--create-agents", "--database", live.server.database_url,
            "--agent-password", "simulated agent pw",
            "--agent-prefix", "rs",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOTLINE_TELEPHONY_TOKEN": TELEPHONY_TOKEN},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    tickets = re.search(r"tickets pushed (\d+), applied (\d+), rejected (\d+)", out)
    moves = re.search(
        r"ticket moves (\d+): dispatched (\d+), resolved (\d+), evaluated (\d+); applied (\d+)",
        out,
    )
    breaks = re.search(r"breaks: (.*); off the phones ([\d.]+)%", out)
    errors = re.search(r"requests (\d+), errors (\d+)", out)
    assert tickets and moves and breaks and errors, out
    assert int(tickets.group(3)) == 0, out  # no create, move or callback was refused
    assert int(errors.group(2)) == 0, out
    assert int(moves.group(1)) > 0 and int(moves.group(3)) > 0, out
    assert int(moves.group(5)) == int(moves.group(1)), out  # every move was applied
    assert "short_break" in breaks.group(1) and 5 < float(breaks.group(2)) < 40, out
    with live.client("lee") as lead:
        r = lead.get("/api/v1/reports/daily", params={"date": day.isoformat()})
        assert r.status_code == 200, r.text
        row = next(x for x in r.json()["rows"] if x["queue"] == "all")
    assert row["dispatched"] > 0
    assert row["resolved"] > 0
    assert 0 < row["resolution_rate"] < 1
