"""The shift-lead panel (班长面板), opened by ``agent-tui --mode lead``.

Constructor contract (what the desk's app and the tests rely on)::

    from agent_tui.lead import HttpLeadSource, LeadPanelScreen, lead_mode

    source = HttpLeadSource(server_url, bearer_token)   # a lead's or admin's token
    app.push_screen(LeadPanelScreen(source))             # the caller closes the source

    # or, as the app's "lead" mode (the screen owns and closes its source):
    app.add_mode("lead", lead_mode(server_url, bearer_token))

``LeadPanelScreen(source, *, alert_settings=None, clock=utcnow, export_dir=None, bell=False,
refresh_seconds=1.0, fallback_seconds=10.0, live=True, owns_source=False)``:

- ``source``: anything with the methods of :class:`LeadDataSource` (the real one is
  :class:`HttpLeadSource`); with ``owns_source=True`` the screen calls ``source.aclose()``
  when it is unmounted, otherwise the caller does. Built with no source (e.g.
  ``add_mode("lead", LeadPanelScreen)``), the screen calls the app's ``lead_source()``
  method if it has one (and owns what it returns), else it says it has no connection;
- ``alert_settings``: thresholds (answer-rate target 95 % once at least ``min_offered`` = 20
  calls were offered in the last 15 minutes, calls waiting > 10, red ticket due within 5 min);
- ``clock``: returns an aware ``datetime`` (tests pass a fixed one);
- ``export_dir``: where the daily CSV goes (default: ``offline_cache.locations().data_dir``
  / ``exports``; the desk passes ``DeskApp.lead_export_dir``, which the demo sets to the
  user's data dir; the path is shown on the panel after each export);
- ``live=False``: no event stream (the panel then refreshes every ``fallback_seconds``).

If the server refuses the data (an agent's token: 403), the panel says so and shows nothing
else. The texts are in ``agent_tui/i18n/lead.py``; call ``agent_tui.i18n.set_language``
before building the screen.

Every binding has a dotted id for keymaps: :data:`LEAD_BINDING_IDS` maps id -> default key.
"""

from __future__ import annotations

from agent_tui.lead.alerts import AlertSettings
from agent_tui.lead.screen import LeadPanelScreen, lead_mode
from agent_tui.lead.source import (
    AccessDenied,
    HttpLeadSource,
    LeadDataSource,
    LeadSourceError,
    LinkDown,
    NotSignedIn,
)
from agent_tui.lead_keys import LEAD_BINDING_IDS

__all__ = [
    "LEAD_BINDING_IDS",
    "AccessDenied",
    "AlertSettings",
    "HttpLeadSource",
    "LeadDataSource",
    "LeadPanelScreen",
    "LeadSourceError",
    "LinkDown",
    "NotSignedIn",
    "lead_mode",
]
