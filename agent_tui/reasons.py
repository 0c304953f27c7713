"""The server's history reasons in the UI's language.

The server writes a reason into a ticket's history (and a refusal of a desk's change) as
plain text in a fixed form (the
escalation clock's "overdue: ...", "escalated to aggregation (汇总): ...", a merge's
"merged into N (并单)"); several may be joined by "; ". Each known form is turned into an
i18n text with its values (times, ticket numbers) kept; anything else (what an agent typed
as a reason) is shown as written.
"""

from __future__ import annotations

import re
from functools import cache

from agent_tui.i18n import has, language, t

_TIME = r"(?P<{}>\d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}})"

# (pattern of one reason, i18n key); named groups become the text's parameters. Compiled
# when the first reason is shown (``_known``), not with the desk's modules at its start.
_SOURCES: tuple[tuple[str, str], ...] = (
    (r"overdue: no first response within the deadline of a red ticket", "reason.overdue"),
    (
        r"overdue: no first response by "
        + _TIME.format("at")
        + r" \(a red ticket's first-response deadline\)",
        "reason.overdue_no_response",
    ),
    (
        r"overdue: first response given, but still unresolved at "
        + _TIME.format("at")
        + r" \(the end of a red ticket's handling window\)",
        "reason.overdue_handling",
    ),
    (
        r"overdue: the handling unit has not replied by the handling deadline",
        "reason.overdue_unit",
    ),
    (
        r"escalated to aggregation \(汇总\): no first response by "
        + _TIME.format("at")
        + r"; handed to the district's ticket group",
        "reason.aggregation",
    ),
    (
        r"escalated to special supervision \(专人督办\): unresolved at "
        + _TIME.format("start")
        + r"; the handling unit reports by "
        + _TIME.format("report"),
        "reason.special_supervision",
    ),
    (
        r"escalated to city supervision \(提级\): unresolved at the report deadline "
        + _TIME.format("report")
        + r"; submitted to the city supervision office by "
        + _TIME.format("submit"),
        "reason.city_supervision",
    ),
    (r"escalated to (?P<level>[a-z_ ]+) by the escalation clock", "reason.escalated_clock"),
    (r"merged into (?P<number>\S+) \(并单\)", "reason.merged_into"),
    (r"ticket (?P<number>\S+) merged into this one \(并单\)", "reason.merged_here"),
    # why the server refused a desk's change (shown on the ticket and in its history)
    (r"the ticket is already at the top of the escalation ladder", "refusal.top_of_ladder"),
    (r"a (?P<status>[a-z_]+) ticket cannot be escalated", "refusal.cannot_escalate"),
    (r"no ticket (?P<id>\S+) \(or not yours to change\)", "refusal.no_ticket"),
    (r"a ticket cannot be merged into itself", "refusal.merge_itself"),
    (
        r"Satisfaction: an evaluation \(评价\) needs the caller's score \(satisfied, "
        r"basically satisfied or dissatisfied\): record it with record_callback",
        "refusal.evaluate_needs_score",
    ),
    (
        r"Satisfaction: the caller was not reached, so there is no score to record",
        "refusal.score_unreached",
    ),
    (
        r"ticket (?P<number>\S+) is already (?P<status>[a-z_]+): a repeated request is not "
        r"merged into a finished ticket; save it as a new ticket \(or reopen that one first\)",
        "refusal.merge_finished",
    ),
    (r"only a shift lead can reassign a ticket", "refusal.lead_only"),
)


@cache
def _known() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), key) for pattern, key in _SOURCES)


LEVELS = ("normal", "aggregation", "special_supervision", "city_supervision")


def change_name(name: str) -> str:
    """A change's (mutation's) name in the UI language (``history.<name>``), else as it is."""
    return t(f"history.{name}") if has(f"history.{name}") else name


def reason_text(reason: str) -> str:
    """``reason`` in the current language when it is (a "; "-joined list of) known server
    reasons; otherwise exactly as written."""
    parts: list[str] = []
    rest = reason.strip()
    while rest:
        for pattern, key in _known():
            found = pattern.match(rest)
            if found is None:
                continue
            tail = rest[found.end() :]
            if tail and not tail.startswith("; "):
                continue
            parts.append(t(key, **_params(found.groupdict())))
            rest = tail[2:]
            break
        else:
            return reason  # not (only) the server's own words: show them untouched
    return ("；" if language() == "zh" else "; ").join(parts)


def _params(groups: dict[str, str]) -> dict[str, str]:
    level = groups.get("level")
    if level is not None:
        code = level.replace(" ", "_")
        groups = {**groups, "level": t(f"reason.level.{code}") if code in LEVELS else level}
    status = groups.get("status")
    if status is not None and has(f"status.{status}"):
        groups = {**groups, "status": t(f"status.{status}")}
    return groups
