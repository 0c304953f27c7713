"""Background work of the live side: link watch and the escalation clock, one per deployment.

On PostgreSQL several instances share the database; a session-level advisory lock elects
one leader, which runs the periodic jobs. If the leader dies its session ends, the lock is
released and another instance takes over at its next attempt. On SQLite there is a single
instance, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotline.metrics import site_tz
from hotline_server.live import callbacks, core, reports, store
from hotline_server.live.escalation import run_escalation_once
from hotline_server.live.hub import LiveHub

log = logging.getLogger("hotline_server.live")

LEADER_LOCK_KEY = 0x12345_0001  # pg advisory lock id of the live background jobs


class Leadership:
    """Holds (or tries to take) the deployment-wide leader lock."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def try_lead(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        try:
            if self._conn is not None:
                self._conn.execute(sa.text("SELECT 1"))
                self._conn.commit()
                return True
            conn = self.engine.connect()
            got = bool(
                conn.execute(sa.select(sa.func.pg_try_advisory_lock(LEADER_LOCK_KEY))).scalar()
            )
            conn.commit()
            if got:
                self._conn = conn
            else:
                conn.close()
            return got
        except Exception:
            log.warning("leader lock check failed; will retry", exc_info=True)
            self.release()
            return False

    def release(self) -> None:
        """Give the lock up. The session is ended, not handed back to the pool: a pooled
        connection would keep the session-level lock, and no other instance could lead."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(sa.select(sa.func.pg_advisory_unlock(LEADER_LOCK_KEY)))
            with contextlib.suppress(Exception):
                self._conn.invalidate()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def wire_hub(hub: LiveHub) -> None:
    """Give the hub its database-backed builders and periodic jobs."""
    tz = site_tz(hub.settings.timezone)
    engine = hub.engine

    def panel() -> dict[str, Any]:
        with engine.connect() as conn:
            return reports.panel(
                conn,
                now=hub.clock(),
                tz=tz,
                load_open_red=core.load_open_red,
                service_level_seconds=hub.settings.service_level_seconds,
            )

    hub.panel_builder = panel
    hub.visibility_reader = lambda after, upto: core.change_visibility(engine, after, upto)
    hub.offer_builder = lambda agent, call_id: core.build_offer(hub, agent, call_id)

    def touch_seats(agents: set[str]) -> None:
        from hotline_server.live.api import publish_effects

        effects = store.Effects()
        with core.write(engine) as conn:
            now = hub.clock()
            for agent in sorted(agents):  # one lock order for every writer
                store.touch_seat(conn, agent, now=now, effects=effects)
        publish_effects(hub, effects)

    hub.seat_toucher = touch_seats
    leader = Leadership(engine)

    def lead_jobs() -> None:
        if not leader.try_lead():
            return
        now = hub.clock()
        effects = store.Effects()
        with core.write(engine) as conn:
            store.mark_links_down(conn, now=now, timeout=hub.link_timeout, effects=effects)
        expire_calls(hub, now)
        if effects.seat_moves:
            hub.signal({"k": "dirty"})
        seq = escalate(hub, now)
        if seq:
            core.committed(hub, seq)

    async def job() -> None:
        await asyncio.to_thread(lead_jobs)

    interval = min(hub.settings.escalation_interval_seconds, hub.settings.link_down_seconds / 3)
    hub.periodic.append((max(0.2, interval), job))
    hub.leadership = leader  # type: ignore[attr-defined]


def expire_calls(hub: LiveHub, now: datetime) -> list[str]:
    """Phantom waiting calls: no event for ``call_expiry_seconds`` ends them (expired)."""
    timeout = timedelta(seconds=hub.settings.call_expiry_seconds)
    with core.write(hub.engine) as conn:
        expired = callbacks.expire_stale_calls(conn, now=now, timeout=timeout)
    if expired:
        log.info("expired %d waiting call(s) with no event for %s", len(expired), timeout)
        hub.signal({"k": "dirty"})
    return expired


def escalate(hub: LiveHub, now: datetime) -> int | None:
    """One escalation pass under the site's policy in force (``hub.site_policy``, set by
    ``live.start_hub``; the shipped defaults without one)."""
    source = getattr(hub, "site_policy", None)
    site = source() if source is not None else None
    if site is None:
        return run_escalation_once(hub.engine, now, tz=hub.settings.timezone)
    return run_escalation_once(
        hub.engine, now, tz=hub.settings.timezone, policy=site.escalation, calendar=site.calendar
    )
