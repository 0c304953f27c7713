"""The scheduled daily report (hotline_server.live.report_files) stepped with chosen times:
no sleeps, no wall clock. Also the report's top topics (hotline.metrics.top_topics)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline import metrics as M
from hotline_server.live.report_files import ReportSchedule, file_name, report_markdown

ZONE = ZoneInfo("Asia/Shanghai")


def sh(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=ZONE)


def rec(n: int, at: datetime, category: str, topic: str = "") -> M.TicketRecord:
    utc = at.astimezone(UTC)
    return M.TicketRecord(
        id=f"t{n}", created_at=utc, call_started_at=utc, category=category, topic=topic
    )


TICKETS = [
    rec(1, sh(5, 9), "traffic"),
    rec(2, sh(5, 10), "noise"),
    rec(3, sh(5, 11), "noise"),
    rec(4, sh(5, 12), "housing", topic="residence_permit"),
    rec(5, sh(5, 13), "housing", topic="residence_permit"),
    rec(6, sh(5, 14), "housing", topic="residence_permit"),
    rec(7, sh(4, 23, 59, 59), "noise"),  # the day before: not in the 5th's report
    rec(8, sh(6, 0), "noise"),  # the next day's first second: not in it either
]


class Rows:
    """A report builder that counts its calls (and can be made to fail)."""

    def __init__(self) -> None:
        self.days: list[date] = []
        self.fail: Exception | None = None

    def __call__(self, day: date) -> list[dict[str, Any]]:
        self.days.append(day)
        if self.fail is not None:
            raise self.fail
        return M.daily_report([], [], TICKETS, first=day, last=day, tz=ZONE)


def schedule(folder: Path, rows: Rows, **kw: Any) -> ReportSchedule:
    return ReportSchedule(folder=folder, build_rows=rows, tz=ZONE, **kw)


def test_top_topics_prefer_the_topic_field_then_the_category() -> None:
    start, end = M.local_day_bounds(date(2026, 12, 5), ZONE)
    assert M.top_topics(TICKETS, start, end) == [
        {"topic": "residence_permit", "tickets": 3},
        {"topic": "noise", "tickets": 2},
        {"topic": "traffic", "tickets": 1},
    ]
    assert M.top_topics(TICKETS, start, end, limit=1) == [
        {"topic": "residence_permit", "tickets": 3}
    ]
    row = M.daily_report([], [], TICKETS, first=date(2026, 12, 5), last=date(2026, 12, 5), tz=ZONE)
    assert row[0]["queue"] == "all" and row[0]["top_topics"][1] == {"topic": "noise", "tickets": 2}


def test_the_report_of_the_day_before_is_written_at_six_and_not_before(tmp_path: Path) -> None:
    rows = Rows()
    s = schedule(tmp_path / "reports", rows)
    # 05:59:59 on the 6th: the report due is the 4th's (written at 06:00 on the 5th); it is
    # missing, so it is caught up, but the 5th's is not yet written
    written = s.step(sh(6, 5, 59, 59))
    assert [p.name for p in written] == [
        "hotline-daily-2026-12-04.csv",
        "hotline-daily-2026-12-04.md",
    ]
    assert not (tmp_path / "reports" / file_name(date(2026, 12, 5), "csv")).exists()
    # 06:00:00: the 5th's report
    written = s.step(sh(6, 6, 0, 0))
    assert [p.name for p in written] == [
        "hotline-daily-2026-12-05.csv",
        "hotline-daily-2026-12-05.md",
    ]
    assert rows.days == [date(2026, 12, 4), date(2026, 12, 5)]
    # later steps that day: nothing more, and the database is not asked again
    assert s.step(sh(6, 6, 0, 30)) == []
    assert s.step(sh(6, 23, 59)) == []
    assert rows.days == [date(2026, 12, 4), date(2026, 12, 5)]
    csv_text = (tmp_path / "reports" / "hotline-daily-2026-12-05.csv").read_text(encoding="utf-8")
    header, first = csv_text.splitlines()[:2]
    assert header.split(",")[-1] == "top_topics"
    assert first.startswith("2026-12-05,all,")
    assert first.endswith("residence_permit:3; noise:2; traffic:1")
    md = (tmp_path / "reports" / "hotline-daily-2026-12-05.md").read_text(encoding="utf-8")
    assert "# 12345 热线日报 Daily report 2026-12-05" in md
    assert "| 工单量 tickets created | 6 |" in md
    assert "1. residence_permit: 3\n2. noise: 2\n3. traffic: 1" in md
    assert [p.name for p in (tmp_path / "reports").iterdir() if p.name.startswith(".")] == []


def test_the_hour_and_the_formats_are_configurable(tmp_path: Path) -> None:
    rows = Rows()
    s = schedule(tmp_path / "r", rows, at=time(7, 30), formats=("md",))
    s.step(sh(6, 7, 29))  # catches up the 4th only
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["hotline-daily-2026-12-04.md"]
    s.step(sh(6, 7, 30))
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "hotline-daily-2026-12-04.md",
        "hotline-daily-2026-12-05.md",
    ]


def test_a_report_already_there_is_kept_and_a_missing_format_is_added(tmp_path: Path) -> None:
    (tmp_path / "hotline-daily-2026-12-05.csv").write_text("kept", encoding="utf-8")
    s = schedule(tmp_path, Rows())
    written = s.step(sh(6, 6))
    assert [p.name for p in written] == ["hotline-daily-2026-12-05.md"]
    assert (tmp_path / "hotline-daily-2026-12-05.csv").read_text(encoding="utf-8") == "kept"


def test_a_folder_that_cannot_be_written_is_logged_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the folder should be", encoding="utf-8")
    rows = Rows()
    s = schedule(blocker, rows, retry_seconds=60)
    with caplog.at_level(logging.ERROR, logger="hotline_server.reports"):
        assert s.step(sh(6, 6)) == []  # no exception reaches the caller
    message = caplog.records[-1].getMessage()
    assert "could not write the daily report of 2026-12-05" in message
    assert str(blocker) in message and "trying again in 60 s" in message
    assert s.failures == 1
    # within the retry delay nothing is tried; after it, it is
    assert s.step(sh(6, 6, 0, 59)) == []
    assert s.failures == 1
    blocker.unlink()  # the admin mends the folder
    written = s.step(sh(6, 6, 1, 0))
    assert [p.name for p in written] == [
        "hotline-daily-2026-12-05.csv",
        "hotline-daily-2026-12-05.md",
    ]


def test_a_failing_database_is_retried_and_leaves_no_partial_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = Rows()
    rows.fail = RuntimeError("database is locked")
    s = schedule(tmp_path / "r", rows, retry_seconds=30)
    with caplog.at_level(logging.ERROR, logger="hotline_server.reports"):
        assert s.step(sh(6, 6)) == []
    assert "database is locked" in caplog.records[-1].getMessage()
    assert not (tmp_path / "r").exists() or list((tmp_path / "r").iterdir()) == []
    rows.fail = None
    assert s.step(sh(6, 6) + timedelta(seconds=29)) == []
    assert len(s.step(sh(6, 6) + timedelta(seconds=30))) == 2


def test_markdown_without_tickets_says_so() -> None:
    rows = M.daily_report([], [], [], first=date(2026, 12, 5), last=date(2026, 12, 5), tz=ZONE)
    md = report_markdown(date(2026, 12, 5), rows, "Asia/Shanghai")
    assert "无工单 No tickets" in md
    assert "| 接通率 answer rate | — |" in md  # no calls: no rate, never 0 %
