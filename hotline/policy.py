"""The site's clock policy as an admin writes it: a TOML file (docs/policy.md).

It sets what ``hotline.clocks`` already models: the rule of every category (first response,
red window, report and city times, handling working days per kind), surge mode (提速提级:
every ticket on the red clock) and the work calendar (holidays such as 国庆节 and the
make-up workdays 调休). ``parse_policy`` reads the text and checks every value; a file that
cannot be used raises ``PolicyError`` listing each problem with its key and line, so the
caller can refuse it and keep the policy in force. Pure: no I/O, no server imports.

A category rule starts from ``[default]`` and overrides only what it names.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

from pydantic import ValidationError

from hotline.clocks import CategoryRule, EscalationPolicy, WorkCalendar
from hotline.model import Kind

MAX_TEXT_CHARS = 200_000  # a policy is a page of settings, not a data dump
MAX_HOLIDAY_DAYS = 60  # one holiday entry spans at most this many days (国庆 is 7)
MAX_HOLIDAYS = 500
MAX_CATEGORIES = 200
_CATEGORY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

TOP_KEYS = ("name", "surge", "default", "categories", "holidays")
RULE_KEYS = (
    "first_response_minutes",
    "supervision_after_minutes",
    "report_by",
    "report_cutoff",
    "city_by",
    "handling_working_days",
)
HOLIDAY_KEYS = ("name", "from", "to", "workdays")


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong in a policy file: the key (dotted path), its line, what is wrong."""

    key: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.key}: {self.message}"


class PolicyError(ValueError):
    """A policy that cannot be used; ``problems`` names each bad key and its line."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class Holiday:
    name: str
    first: date
    last: date
    workdays: tuple[date, ...] = ()


@dataclass(frozen=True)
class SitePolicy:
    """The clocks' settings in force: what the server's deadlines, escalation and figures use."""

    escalation: EscalationPolicy = field(default_factory=EscalationPolicy)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    holidays: tuple[Holiday, ...] = ()
    name: str = ""

    @property
    def surge(self) -> bool:
        return self.escalation.surge

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view of what is in force (the admin API shows it beside the text)."""

        def rule(r: CategoryRule) -> dict[str, Any]:
            return {
                "first_response_minutes": r.first_response // timedelta(minutes=1),
                "supervision_after_minutes": r.supervision_after // timedelta(minutes=1),
                "report_by": r.report_by.strftime("%H:%M"),
                "report_cutoff": r.report_cutoff.strftime("%H:%M"),
                "city_by": r.city_by.strftime("%H:%M"),
                "handling_working_days": {k.value: r.working_days_for(k) for k in Kind},
            }

        return {
            "name": self.name,
            "surge": self.surge,
            "default": rule(self.escalation.default),
            "categories": {n: rule(r) for n, r in sorted(self.escalation.categories.items())},
            "holidays": [
                {
                    "name": h.name,
                    "from": h.first.isoformat(),
                    "to": h.last.isoformat(),
                    "workdays": [d.isoformat() for d in h.workdays],
                }
                for h in self.holidays
            ],
        }


DEFAULT_POLICY = SitePolicy()


# ---------------------------------------------------------------- where a key is written


def _key_lines(text: str) -> dict[str, int]:
    """Dotted key path -> the line it is written on (tables and ``key = value`` lines).

    A light scan, good for pointing at a line in an error: ``[categories.urgent_medical]``,
    ``[[holidays]]`` (numbered ``holidays[0]``, ``holidays[1]``...) and keys inside them."""
    lines: dict[str, int] = {}
    table = ""
    arrays: dict[str, int] = {}
    header = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    assign = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")
    for number, raw in enumerate(text.splitlines(), start=1):
        m = header.match(raw)
        if m:
            name = _dotted(m.group(2))
            if m.group(1) == "[[":
                index = arrays.get(name, -1) + 1
                arrays[name] = index
                name = f"{name}[{index}]"
            table = name
            lines.setdefault(table, number)
            continue
        m = assign.match(raw)
        if m:
            key = _dotted(m.group(1))
            lines.setdefault(f"{table}.{key}" if table else key, number)
    return lines


def _dotted(raw: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in raw.split("."))


class _Checker:
    def __init__(self, text: str) -> None:
        self.lines = _key_lines(text)
        self.problems: list[PolicyProblem] = []

    def line_of(self, key: str) -> int | None:
        probe = key
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            if probe.endswith("]") and "[" in probe:  # a list item: the list's own line
                probe = probe[: probe.rindex("[")]
                continue
            probe = probe.rsplit(".", 1)[0] if "." in probe else ""
        return None

    def bad(self, key: str, message: str) -> None:
        self.problems.append(PolicyProblem(key, self.line_of(key), message))

    def table(self, value: Any, key: str) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(key, "must be a table")
            return None
        return value

    def unknown(self, data: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
        for k in data:
            if k not in allowed:
                path = f"{where}.{k}" if where else k
                self.bad(path, f"unknown key (allowed: {', '.join(allowed)})")

    def minutes(self, value: Any, key: str) -> timedelta | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(key, "must be a whole number of minutes")
            return None
        if not 1 <= value <= 10 * 24 * 60:
            self.bad(key, "must be between 1 and 14400 minutes (10 days)")
            return None
        return timedelta(minutes=value)

    def clock_time(self, value: Any, key: str) -> time | None:
        if isinstance(value, time):
            return value.replace(second=0, microsecond=0, tzinfo=None)
        if isinstance(value, str):
            m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
            if m:
                return time(int(m.group(1)), int(m.group(2)))
        self.bad(key, 'must be a time of day such as "17:00"')
        return None

    def day(self, value: Any, key: str) -> date | None:
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.bad(key, "must be a date such as 2026-10-01")
        return None


def _rule(ck: _Checker, raw: Any, key: str, base: CategoryRule) -> CategoryRule | None:
    data = ck.table(raw, key)
    if data is None:
        return None
    ck.unknown(data, RULE_KEYS, key)
    before = len(ck.problems)
    values: dict[str, Any] = {}
    if "first_response_minutes" in data:
        values["first_response"] = ck.minutes(
            data["first_response_minutes"], f"{key}.first_response_minutes"
        )
    if "supervision_after_minutes" in data:
        values["supervision_after"] = ck.minutes(
            data["supervision_after_minutes"], f"{key}.supervision_after_minutes"
        )
    for name in ("report_by", "report_cutoff", "city_by"):
        if name in data:
            values[name] = ck.clock_time(data[name], f"{key}.{name}")
    if "handling_working_days" in data:
        days_key = f"{key}.handling_working_days"
        days = ck.table(data["handling_working_days"], days_key)
        if days is not None:
            kinds = tuple(k.value for k in Kind)
            ck.unknown(days, kinds, days_key)
            merged = dict(base.handling_working_days)
            for name, n in days.items():
                if name not in kinds:
                    continue
                if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 365:
                    ck.bad(f"{days_key}.{name}", "must be a whole number of days from 1 to 365")
                    continue
                merged[Kind(name)] = n
            values["handling_working_days"] = merged
    if len(ck.problems) > before:
        return None
    try:
        return CategoryRule.model_validate({**base.model_dump(), **values})
    except ValidationError as exc:
        for err in exc.errors():
            message = str(err.get("msg", "not valid")).removeprefix("Value error, ")
            at = next((k for k in RULE_KEYS if message.startswith(k.removesuffix("_minutes"))), "")
            ck.bad(f"{key}.{at}" if at else key, _rule_message(message))
        return None


def _rule_message(message: str) -> str:
    """The clocks' own words, with the file's key names."""
    return (
        message.replace("supervision_after", "supervision_after_minutes")
        .replace("first_response", "first_response_minutes")
        .replace("_minutes_minutes", "_minutes")
    )


def _holiday(ck: _Checker, raw: Any, key: str) -> Holiday | None:
    data = ck.table(raw, key)
    if data is None:
        return None
    ck.unknown(data, HOLIDAY_KEYS, key)
    before = len(ck.problems)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 40:
        ck.bad(f"{key}.name", "must be a name of 1 to 40 characters, e.g. 国庆节")
    if "from" not in data:
        ck.bad(f"{key}.from", "is missing: the first day off, e.g. from = 2026-10-01")
        return None
    first = ck.day(data["from"], f"{key}.from")
    last = ck.day(data["to"], f"{key}.to") if "to" in data else first
    workdays: list[date] = []
    raw_workdays = data.get("workdays", [])
    if not isinstance(raw_workdays, list):
        ck.bad(f"{key}.workdays", "must be a list of dates")
    else:
        for i, d in enumerate(raw_workdays):
            got = ck.day(d, f"{key}.workdays[{i}]")
            if got is not None:
                workdays.append(got)
    if first is not None and last is not None:
        if last < first:
            ck.bad(f"{key}.to", f"is before 'from' ({first.isoformat()})")
        elif (last - first).days + 1 > MAX_HOLIDAY_DAYS:
            ck.bad(f"{key}.to", f"a holiday spans at most {MAX_HOLIDAY_DAYS} days")
    if len(ck.problems) > before or first is None or last is None:
        return None
    return Holiday(str(name).strip(), first, last, tuple(workdays))


def parse_policy(text: str) -> SitePolicy:
    """The policy written in ``text`` (TOML); raises ``PolicyError`` naming every bad key.

    An empty text is the shipped defaults (DOMAIN.md)."""
    if len(text) > MAX_TEXT_CHARS:
        raise PolicyError([PolicyProblem("policy", None, f"longer than {MAX_TEXT_CHARS} chars")])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise PolicyError(
            [PolicyProblem("policy", int(found.group(1)) if found else None, f"not TOML: {exc}")]
        ) from None
    ck = _Checker(text)
    ck.unknown(data, TOP_KEYS, "")
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > 100:
        ck.bad("name", "must be text of at most 100 characters")
        name = ""
    surge = data.get("surge", False)
    if not isinstance(surge, bool):
        ck.bad("surge", "must be true or false")
        surge = False
    default = CategoryRule()
    if "default" in data:
        default = _rule(ck, data["default"], "default", CategoryRule()) or default
    categories: dict[str, CategoryRule] = {}
    raw_categories = ck.table(data.get("categories", {}), "categories") or {}
    if len(raw_categories) > MAX_CATEGORIES:
        ck.bad("categories", f"at most {MAX_CATEGORIES} categories")
    for cat, raw in raw_categories.items():
        key = f"categories.{cat}"
        if not _CATEGORY_NAME.match(cat):
            ck.bad(key, "a category name is lower-case letters, digits and _ (e.g. urgent_medical)")
            continue
        rule = _rule(ck, raw, key, default)
        if rule is not None:
            categories[cat] = rule
    holidays: list[Holiday] = []
    raw_holidays = data.get("holidays", [])
    if not isinstance(raw_holidays, list):
        ck.bad("holidays", "must be a list of [[holidays]] tables")
        raw_holidays = []
    if len(raw_holidays) > MAX_HOLIDAYS:
        ck.bad("holidays", f"at most {MAX_HOLIDAYS} entries")
    for i, raw in enumerate(raw_holidays[:MAX_HOLIDAYS]):
        got = _holiday(ck, raw, f"holidays[{i}]")
        if got is not None:
            holidays.append(got)
    off = {
        h.first + timedelta(days=n) for h in holidays for n in range((h.last - h.first).days + 1)
    }
    extra = {d for h in holidays for d in h.workdays}
    for i, h in enumerate(holidays):
        for j, d in enumerate(h.workdays):
            if d in off:
                ck.bad(f"holidays[{i}].workdays[{j}]", f"{d.isoformat()} is also a day off")
    if ck.problems:
        raise PolicyError(ck.problems)
    return SitePolicy(
        escalation=EscalationPolicy(default=default, categories=categories, surge=surge),
        calendar=WorkCalendar(holidays=frozenset(off), workdays=frozenset(extra)),
        holidays=tuple(holidays),
        name=name,
    )
