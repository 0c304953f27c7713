"""The clock policy and the scheduled daily report through a real `hotline-server` process,
on SQLite and PostgreSQL.

- A holiday in the policy (given as a file at start, then replaced by an admin through the
  API) moves a dispatched ticket's handling deadline, as the REST answer shows it.
- Surge mode puts a normal ticket on the red clock: the server's own escalation job climbs
  its ladder, the overdue filter finds it and the summary counts it.
- A bad policy (file or API) is refused with its key and line; the policy in force stays.
- With a report folder, the server writes the day before's report there by itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.integration.live.conftest import LIVE_ENV, USERS, Live
from tests.integration.live.test_live_server import mutation, push, ticket_args
from tests.support.server import prepare_database, start_server

ZONE = ZoneInfo("Asia/Shanghai")
# 国庆 2025: Wednesday 10-01 to Wednesday 10-08 off; Saturday 10-11 a make-up workday (调休)
NATIONAL_DAY = """\
name = "2025 国庆"

[[holidays]]
name = "国庆节"
from = 2025-10-01
to = 2025-10-08
workdays = [2025-09-28, 2025-10-11]
"""
# Dispatched on Tuesday 2025-09-30 10:00: a consultation has 3 working days after that day.
# Plain calendar: Wed 10-01, Thu 10-02, Fri 10-03 -> due 10-04 00:00.
# With 国庆: Thu 10-09, Fri 10-10, Sat 10-11 (调休) -> due 10-12 00:00.
DISPATCHED = datetime(2025, 9, 30, 10, 0, tzinfo=ZONE)
PLAIN_DUE = datetime(2025, 10, 4, 0, 0, tzinfo=ZONE)
HOLIDAY_DUE = datetime(2025, 10, 12, 0, 0, tzinfo=ZONE)


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(NATIONAL_DAY, encoding="utf-8")
    return path


@pytest.fixture
def live_with_policy(database_url: str, tmp_path: Path, policy_file: Path) -> Iterator[Live]:
    server = start_server(
        database_url, tmp_path, users=USERS, extra_env=LIVE_ENV,
        extra_args=["--policy", str(policy_file)],
    )  # fmt: skip
    try:
        yield Live(server)
    finally:
        server.stop()


def get_ticket(live: Live, ticket_id: str) -> dict[str, Any]:
    with live.client("lee") as lead:
        r = lead.get(f"/api/v1/tickets/{ticket_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def put_policy(live: Live, user: str, text: str) -> httpx.Response:
    with live.client(user) as c:
        return c.put("/api/v1/policy", json={"toml": text})


def test_a_holiday_in_the_policy_moves_the_handling_deadline(live_with_policy: Live) -> None:
    live = live_with_policy
    args = ticket_args("13600000001", DISPATCHED - timedelta(minutes=2), kind="consultation",
                       disposition="dispatch", category="consultation")  # fmt: skip
    push(live, "amy", str(uuid.uuid4()), [mutation(1, "create_ticket", args)])

    # the file given at start is in force
    with live.client("ada") as admin:
        r = admin.get("/api/v1/policy")
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["source"].startswith("file:") and shown["toml"] == NATIONAL_DAY
    assert shown["policy"]["holidays"][0]["name"] == "国庆节"
    t = get_ticket(live, args["id"])
    assert t["next_deadline"]["what"] == "handling"
    assert when(t["next_deadline"]["when"]) == HOLIDAY_DUE
    assert when(t["deadline_at"]) == HOLIDAY_DUE

    # the admin replaces it with a policy without the holiday: the plain working days
    r = put_policy(live, "ada", "name = 'no holidays'\n")
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "api" and r.json()["updated_by"] == "ada"
    assert when(get_ticket(live, args["id"])["deadline_at"]) == PLAIN_DUE

    # a bad policy is refused, naming the key and line; the policy in force stays
    bad = NATIONAL_DAY.replace("to = 2025-10-08", "to = 2025-09-08")
    r = put_policy(live, "ada", bad)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["fields"][0]["field"] == "toml.holidays[0].to"
    assert "line 6: holidays[0].to: is before 'from'" in body["message"]
    assert "unchanged" in body["message"]
    assert when(get_ticket(live, args["id"])["deadline_at"]) == PLAIN_DUE

    # only an admin reads or replaces it
    for user in ("lee", "amy"):
        assert put_policy(live, user, NATIONAL_DAY).status_code == 403
        with live.client(user) as c:
            assert c.get("/api/v1/policy").status_code == 403
    assert when(get_ticket(live, args["id"])["deadline_at"]) == PLAIN_DUE

    # back to the holiday through the API; a restart keeps the admin's policy... until the
    # file is given again (the file at start wins: it is the site's configuration)
    assert put_policy(live, "ada", NATIONAL_DAY).status_code == 200
    assert when(get_ticket(live, args["id"])["deadline_at"]) == HOLIDAY_DUE
    with live.client("ada") as admin:
        assert admin.delete("/api/v1/policy").json()["source"] == "default"
    assert when(get_ticket(live, args["id"])["deadline_at"]) == PLAIN_DUE
    live.server.extra_args = []
    live.server.restart()
    live._tokens.clear()
    assert when(get_ticket(live, args["id"])["deadline_at"]) == PLAIN_DUE


def wait_for(check: Any, seconds: float = 20.0) -> Any:
    """Poll ``check()`` until it returns something true (bounded in time and count)."""
    deadline = time.monotonic() + seconds
    for _ in range(400):
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)
    return check()


def test_surge_mode_puts_normal_tickets_on_the_red_clock(live_with_policy: Live) -> None:
    live = live_with_policy
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    normal = ticket_args("13600000002", started, kind="help", disposition="dispatch")
    red = ticket_args("13600000003", started, kind="help", disposition="dispatch", urgency="red",
                      category="urgent_medical", urgent_subcategory="dialysis")  # fmt: skip
    push(live, "amy", str(uuid.uuid4()), [
        mutation(1, "create_ticket", normal), mutation(2, "create_ticket", red),
    ])  # fmt: skip

    # no surge: the server's escalation job (its own clock, every 0.5 s) climbs the red
    # ticket's ladder (answered at once, unresolved past the 2 h window); the normal one
    # counts 5 working days and stays where it is
    assert wait_for(lambda: get_ticket(live, red["id"])["escalation_level"] == 2)
    t = get_ticket(live, normal["id"])
    assert t["escalation_level"] == 0 and t["overdue"] is False
    assert t["next_deadline"]["what"] == "handling"
    with live.client("lee") as lead:
        late = lead.get("/api/v1/tickets", params={"overdue": "true"}).json()["tickets"]
        figures = lead.get("/api/v1/metrics/summary").json()["policy"]
    assert [x["id"] for x in late] == [red["id"]]
    assert figures["surge"] is False and figures["overdue_now"] == 1

    # surge on: the normal ticket is on the red clock too
    assert put_policy(live, "ada", NATIONAL_DAY + "surge = true\n").status_code == 422
    r = put_policy(live, "ada", "surge = true\n" + NATIONAL_DAY)
    assert r.status_code == 200, r.text
    assert r.json()["policy"]["surge"] is True
    assert wait_for(lambda: get_ticket(live, normal["id"])["escalation_level"] == 2)
    t = get_ticket(live, normal["id"])
    assert t["overdue"] is True
    assert t["next_deadline"]["what"] == "supervision_report"
    assert when(t["deadline_at"]) == started + timedelta(hours=2)  # the red window S
    with live.client("lee") as lead:
        history = lead.get(f"/api/v1/tickets/{normal['id']}/history").json()["entries"]
        late = lead.get("/api/v1/tickets", params={"overdue": "true"}).json()["tickets"]
        figures = lead.get("/api/v1/metrics/summary").json()["policy"]
    system = [e for e in history if e["actor"] == "system"]
    assert system and "special supervision" in system[-1]["reason"]
    assert sorted(x["id"] for x in late) == sorted([normal["id"], red["id"]])
    assert figures["surge"] is True and figures["overdue_now"] == 2


def test_a_bad_policy_file_stops_the_server_with_its_key_and_line(
    sqlite_url: str, tmp_path: Path
) -> None:
    prepare_database(sqlite_url)
    bad = tmp_path / "bad.toml"
    bad.write_text("surge = 'yes'\n\n[default]\nfirst_response_minutes = 0\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hotline_server", "serve", "--database", sqlite_url,
         "--port", "0", "--policy", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"the policy file {bad} is not valid, the policy in force is unchanged" in lines[0]
    assert "line 1: surge: must be true or false" in lines[0]
    assert "line 4: default.first_response_minutes:" in lines[0]
    check = subprocess.run(
        [sys.executable, "-m", "hotline_server", "policy", "check", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 2
    assert "line 1: surge" in check.stderr and "line 4: default.first" in check.stderr


def test_the_server_writes_the_daily_report_into_its_folder(
    database_url: str, tmp_path: Path
) -> None:
    yesterday: date = datetime.now(ZONE).date() - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, 0, tzinfo=ZONE)
    server = start_server(database_url, tmp_path, users=USERS, extra_env=LIVE_ENV)
    live = Live(server)
    try:
        push(live, "amy", str(uuid.uuid4()), [
            mutation(i, "create_ticket", ticket_args(f"1370000000{i}", noon + timedelta(minutes=i),
                                                     category=cat, disposition="on_spot"))
            for i, cat in enumerate(["noise", "noise", "traffic"], start=1)
        ])  # fmt: skip
        folder = tmp_path / "reports"
        # the hour has come (00:00): the server writes yesterday's report when it starts
        server.extra_args = ["--report-dir", str(folder), "--report-at", "00:00"]
        server.restart()
        csv_file = folder / f"hotline-daily-{yesterday.isoformat()}.csv"
        md_file = folder / f"hotline-daily-{yesterday.isoformat()}.md"
        assert wait_for(lambda: csv_file.exists() and md_file.exists())
        rows = csv_file.read_text(encoding="utf-8").splitlines()
        header = rows[0].split(",")
        first = dict(zip(header, rows[1].split(","), strict=True))
        assert first["date"] == yesterday.isoformat() and first["queue"] == "all"
        assert first["tickets_created"] == "3"
        assert first["top_topics"] == "noise:2; traffic:1"
        assert "1. noise: 2\n2. traffic: 1" in md_file.read_text(encoding="utf-8")
    finally:
        server.stop()
