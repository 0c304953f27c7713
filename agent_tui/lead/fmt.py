"""How the panel writes numbers: rates, durations, ages. Formatting only, no measures.

A figure the server sends as ``None`` ("no data", e.g. a rate over zero calls) is shown as a
dash, never as 0 or 100 %.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

DASH = "—"


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def duration(seconds: float | None) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above; a dash when there is nothing to show."""
    if seconds is None:
        return DASH
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def count(value: Any) -> str:
    if value is None:
        return DASH
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


def parse_time(value: Any) -> datetime | None:
    """An ISO time from the server's JSON (aware), or None."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def seconds_since(value: Any, now: datetime) -> float | None:
    at = parse_time(value)
    if at is None or at.tzinfo is None:
        return None
    return max(0.0, (now - at).total_seconds())


def clock(value: Any) -> str:
    """``HH:MM`` of an ISO time as the server wrote it (the site's local time for series)."""
    if isinstance(value, str) and len(value) >= 16:
        return value[11:16]
    return DASH
