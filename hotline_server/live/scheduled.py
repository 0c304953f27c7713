"""Site settings the live side's jobs use: the clock policy in force and the report schedule.

``wire_site(hub, app)`` gives the hub the policy source (escalation runs under the policy an
admin loaded, ``hotline_server.policy``) and, when a report folder is configured
(``--report-dir`` / ``HOTLINE_REPORT_DIR``), the job that writes the daily report
(``report_files.ReportSchedule``).
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from hotline.metrics import site_tz
from hotline_server.live import core, reports
from hotline_server.live.hub import LiveHub
from hotline_server.live.report_files import STEP_SECONDS, ReportSchedule


def wire_site(hub: LiveHub, app: Any) -> None:
    from hotline_server.policy import holder_of

    hub.site_policy = lambda: holder_of(app).current()  # type: ignore[attr-defined]
    hub.site_policy_loaded = lambda: holder_of(app).current_loaded()  # type: ignore[attr-defined]
    settings = getattr(app.state, "settings", None)
    folder = getattr(settings, "report_dir", None)
    if settings is None or not folder:
        return
    schedule = report_schedule(hub, Path(folder), settings.report_at, settings.report_formats)
    hub.report_schedule = schedule  # type: ignore[attr-defined]

    async def job() -> None:
        await asyncio.to_thread(lambda: schedule.step(hub.clock()))

    hub.periodic.append((STEP_SECONDS, job))


def report_schedule(
    hub: LiveHub, folder: Path, at: Any, formats: tuple[str, ...]
) -> ReportSchedule:
    tz = site_tz(hub.settings.timezone)

    def rows(day: date) -> list[dict[str, Any]]:
        with hub.engine.connect() as conn:
            return reports.daily_report(
                conn,
                first=day,
                last=day,
                tz=tz,
                load_tickets=core.load_ticket_records,
                service_level_seconds=hub.settings.service_level_seconds,
            )

    return ReportSchedule(folder=folder, build_rows=rows, tz=tz, at=at, formats=formats)
