"""The scheduled daily report: yesterday's report written to a folder at 06:00 site time.

``ReportSchedule.step(now)`` is the whole job, driven by an injected ``now`` (tests call it
with the times they choose; the server calls it every ``STEP_SECONDS``). At ``now`` the
report due is the one of the day before ``now``'s local day once the hour has come (the
day before that earlier), so a server that was down at 06:00 writes it when it comes back.
A report whose file is there already is not written again: every instance of a deployment
may run the job, and a restart does not rewrite it.

Files are named by the report's date (``hotline-daily-2026-12-05.csv`` / ``.md``) and
written atomically (a temporary file in the same folder, flushed to disk, then renamed):
a reader never sees half a report. A failure (folder missing and not creatable, disk full,
no permission, the database away) is logged with the folder and the reason and tried again
``retry_seconds`` later; it never reaches the server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from hotline_server.live import reports

log = logging.getLogger("hotline_server.reports")

STEP_SECONDS = 30.0
RETRY_SECONDS = 60.0
FILE_PREFIX = "hotline-daily-"

RowsBuilder = Callable[[date], list[dict[str, Any]]]


def file_name(day: date, fmt: str) -> str:
    return f"{FILE_PREFIX}{day.isoformat()}.{fmt}"


# ---------------------------------------------------------------- Markdown

# (Chinese, English) labels of the figures a shift lead reads first (METRICS.md).
_LABELS: tuple[tuple[str, str, str], ...] = (
    ("offered", "呼入量", "offered"),
    ("answered", "接通量", "answered"),
    ("abandoned", "放弃量", "abandoned"),
    ("answer_rate", "接通率", "answer rate"),
    ("service_level", "服务水平", "service level"),
    ("average_speed_of_answer", "平均应答时长(秒)", "average speed of answer (s)"),
    ("average_handle_time", "平均处理时长(秒)", "average handle time (s)"),
    ("tickets_created", "工单量", "tickets created"),
    ("on_spot_rate", "当场解答率", "on-the-spot answer rate"),
    ("first_call_resolution", "首呼解决率", "first-call resolution"),
    ("dispatched", "派单量", "dispatched"),
    ("resolved", "解决量", "resolved"),
    ("resolution_rate", "解决率", "resolution rate"),
    ("occupancy", "坐席利用率", "occupancy"),
)
_RATES = frozenset(
    {"answer_rate", "service_level", "on_spot_rate", "first_call_resolution",
     "resolution_rate", "occupancy", "abandonment_rate"}
)  # fmt: skip


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key in _RATES and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value).replace("|", "\\|")


def _table(head: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def report_markdown(day: date, rows: list[dict[str, Any]], timezone: str) -> str:
    """The day's report as Markdown: the day's figures, per queue, per category, top topics."""
    out = [
        f"# 12345 热线日报 Daily report {day.isoformat()}",
        "",
        f"时区 Time zone: {timezone}",
        "",
    ]
    main = next((r for r in rows if r.get("queue") == "all"), None)
    if main is None:
        return "\n".join([*out, "无数据 No data", ""])
    out += ["| 指标 Measure | 数值 Value |", "|---|---|"]
    out += [f"| {zh} {en} | {_cell(key, main.get(key))} |" for key, zh, en in _LABELS]
    queues = [r for r in rows if r.get("queue") != "all"]
    if queues:
        out += ["", "## 分队列 By queue", ""]
        out += _table(
            ("队列 Queue", "呼入 Offered", "接通 Answered", "接通率 Answer rate"),
            [
                [_cell(k, r.get(k)) for k in ("queue", "offered", "answered", "answer_rate")]
                for r in queues
            ],
        )
    categories = main.get("by_category") or {}
    if categories:
        out += ["", "## 分类别 By category", ""]
        head = ("类别 Category", "工单 Created", "派单 Dispatched", "解决 Resolved",
                "解决率 Resolution rate")  # fmt: skip
        keys = ("created", "dispatched", "resolved", "resolution_rate")
        out += _table(
            head,
            [
                [_cell("category", n), *(_cell(k, c[k]) for k in keys)]
                for n, c in categories.items()
            ],
        )
    topics = main.get("top_topics") or []
    out += ["", "## 热点话题 Top topics", ""]
    if topics:
        out += [f"{i}. {_cell('topic', t['topic'])}: {t['tickets']}"
                for i, t in enumerate(topics, start=1)]  # fmt: skip
    else:
        out.append("无工单 No tickets")
    return "\n".join([*out, ""])


def render(fmt: str, day: date, rows: list[dict[str, Any]], timezone: str) -> str:
    if fmt == "csv":
        return reports.report_csv(rows)
    return report_markdown(day, rows, timezone)


# ---------------------------------------------------------------- writing


def write_atomically(target: Path, text: str) -> None:
    """``target`` holds ``text`` in full or is left as it was: a temporary file in the same
    folder is written, flushed to disk and renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename itself on disk (POSIX); best effort
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@dataclass
class ReportSchedule:
    """Writes the daily report of the day before at ``at`` site time into ``folder``."""

    folder: Path
    build_rows: RowsBuilder
    tz: tzinfo
    at: time = time(6, 0)
    formats: tuple[str, ...] = ("csv", "md")
    retry_seconds: float = RETRY_SECONDS
    _retry_after: datetime | None = field(default=None, init=False)
    failures: int = field(default=0, init=False)

    def due_day(self, now: datetime) -> date:
        """The day whose report should exist at ``now``."""
        local = now.astimezone(self.tz)
        back = 1 if local.time() >= self.at else 2
        return local.date() - timedelta(days=back)

    def missing(self, day: date) -> list[str]:
        return [f for f in self.formats if not (self.folder / file_name(day, f)).exists()]

    def step(self, now: datetime) -> list[Path]:
        """Write the report due at ``now`` if a file of it is missing; returns the files
        written. Never raises: a failure is logged and retried after ``retry_seconds``."""
        if self._retry_after is not None and now < self._retry_after:
            return []
        day = self.due_day(now)
        written: list[Path] = []
        try:
            todo = self.missing(day)
            if not todo:
                return []
            self.folder.mkdir(parents=True, exist_ok=True)
            rows = self.build_rows(day)
            for fmt in todo:
                target = self.folder / file_name(day, fmt)
                write_atomically(target, render(fmt, day, rows, str(self.tz)))
                written.append(target)
        except Exception as exc:
            self.failures += 1
            self._retry_after = now + timedelta(seconds=self.retry_seconds)
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            log.error(
                "could not write the daily report of %s to %s: %s; trying again in %d s",
                day.isoformat(),
                self.folder,
                reason,
                int(self.retry_seconds),
            )
            return written
        self._retry_after = None
        if written:
            log.info("daily report of %s written: %s", day.isoformat(),
                     ", ".join(str(p) for p in written))  # fmt: skip
        return written
