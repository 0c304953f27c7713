"""A ticket row as JSON (what ``tickets.ticket_data`` answers) without the ``Ticket`` model,
for rows whose every value is already what the model would keep.

A push batch publishes each new ticket to the change log; validating the row as a
``Ticket`` and dumping it again was most of that entry's cost, for rows the server had just
built from validated fields. :func:`plain_ticket_data` checks each value against its field's
type the cheap way (a string already stripped and within its length, an enum's value, a
bool, an aware time ...) and answers ``None`` as soon as one is anything else (a non-empty
``extra`` with a float, a string with spaces around it, a field this module does not know):
the caller then takes the model's way. ``tests/unit/server/test_ticket_json.py`` compares
the two.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from itertools import repeat
from operator import attrgetter, is_, itemgetter
from typing import Any

from pydantic import AwareDatetime
from pydantic_core import PydanticUndefined, to_jsonable_python

from hotline.model import Ticket

# what a field's value may be for the fast way, by the field's annotation (None aside)
_STR, _ENUM, _INT, _BOOL, _TIME, _DICT, _NONE = range(7)
_MISSING = object()


def _kind(annotation: Any) -> tuple[int, bool, Any] | None:
    """(kind, whether None is a value, the enum's values or None) for an annotation this
    module reads, else None."""
    args = typing.get_args(annotation)
    optional = isinstance(annotation, types.UnionType) and len(args) == 2 and type(None) in args
    inner = next((a for a in args if a is not type(None)), None) if optional else annotation
    if inner is str:
        return _STR, optional, None
    if isinstance(inner, type) and issubclass(inner, Enum):
        values = {e.value: e.value for e in inner}
        if not all(type(v) in (str, int) for v in values):
            return None
        return _ENUM, optional, values
    if inner is bool:
        return _BOOL, optional, None
    if inner is int and not optional:
        return _INT, False, None
    if inner is AwareDatetime and not optional:
        return _TIME, False, None
    if inner is datetime and optional:
        return _TIME, True, None
    if typing.get_origin(annotation) is dict and typing.get_args(annotation)[0] is str:
        return _DICT, False, None
    return None


def _plan() -> list[tuple[str, int, bool, Any, int | None, Any]] | None:
    """(name, kind, None allowed, enum values, max length, default) per ``Ticket`` field, in
    its order; None when a field is of a type read here neither way (then every row takes
    the model)."""
    plan = []
    for name, info in Ticket.model_fields.items():
        found = _kind(info.annotation)
        if found is None:
            if info.default is not None or info.default_factory is not None:
                return None
            found = (_NONE, True, None)  # only None is taken the fast way (the model may convert)
        limit = next((m.max_length for m in info.metadata if hasattr(m, "max_length")), None)
        if info.default_factory is dict:
            default: Any = dict
        elif info.default is PydanticUndefined:
            default = _MISSING
        else:
            default = getattr(info.default, "value", info.default)
        plan.append((name, *found, limit, default))
    return plan


_PLAN = _plan() if Ticket.model_config.get("str_strip_whitespace") else None
_AS_TEXT = ("dispatched_at", "callback_at", "received_at")  # tickets.ticket_data adds these


def _time(value: Any, times: dict[int, str]) -> str | None:
    """The model's JSON for an aware time (memo by object: a batch shares its times)."""
    if type(value) is not datetime or value.tzinfo is None:
        return None
    done = times.get(id(value))
    if done is None:
        done = times[id(value)] = to_jsonable_python(value)
    return done


def plain_ticket_data(
    row: dict[str, Any], times: dict[int, str] | None = None
) -> dict[str, Any] | None:
    """``tickets.ticket_data(row)`` when every value is one the model keeps as it is, else
    None. ``times``: a memo of formatted times, shared by the rows of one batch (they hold
    their times while it is used)."""
    if _PLAN is None:
        return None
    memo: dict[int, str] = {} if times is None else times
    out: dict[str, Any] = {}
    for name, kind, optional, values, limit, default in _PLAN:
        v = row.get(name, _MISSING)
        if v is _MISSING:
            if default is _MISSING:
                return None
            v = {} if default is dict else default
        elif v is None:
            if not optional:
                return None
        elif kind == _STR:
            if type(v) is not str or (limit is not None and len(v) > limit) or v != v.strip():
                return None
        elif kind == _ENUM:
            if type(v) is not str and type(v) is not int:
                return None
            plain = values.get(v, _MISSING)
            if plain is _MISSING or type(v) is not type(plain):
                return None
            v = plain
        elif kind == _BOOL:
            if type(v) is not bool:
                return None
        elif kind == _INT:
            if type(v) is not int:
                return None
        elif kind == _TIME:
            v = _time(v, memo)
            if v is None:
                return None
        elif kind == _DICT:
            if type(v) is not dict:
                return None
            for key, item in v.items():
                if type(key) is not str or key != key.strip():
                    return None
                if item is not None and type(item) not in (str, int, bool):
                    return None
            v = dict(v)
        else:  # _NONE: only None takes the fast way
            return None
        out[name] = v
    for extra in _AS_TEXT:
        value = row.get(extra)
        if isinstance(value, datetime):
            # ``isoformat`` (~11k instructions a call), once per time object of the batch:
            # every new row's ``received_at`` is the batch's one server time. Kept under
            # ``~id``, negative, apart from the model's text of the same object under ``id``.
            text = memo.get(~id(value))
            if text is None:
                text = memo[~id(value)] = value.isoformat()
            value = text
        out[extra] = value
    return out


_NONE_TYPE = type(None)
_NAMES = (*(p[0] for p in _PLAN), *_AS_TEXT) if _PLAN is not None else ()
_GET_PLANNED = itemgetter(*(p[0] for p in _PLAN)) if _PLAN else None
_TZINFO = attrgetter("tzinfo")


def plain_ticket_rows(
    rows: Sequence[dict[str, Any]], times: dict[int, str] | None = None
) -> list[dict[str, Any] | None]:
    """``[plain_ticket_data(row, times) for row in rows]``, a column at a time: each field's
    values of the whole batch read and checked together by C loops (``itemgetter``,
    ``map``, ``set``, ``max``; pydantic's time format for a column in one call) instead of
    one Python branch per field per row (a push's 100 new tickets). When any value is one
    :func:`plain_ticket_data` would turn down, or a row leaves a field out, every row goes
    that way."""
    if _PLAN is None or _GET_PLANNED is None or not rows:
        return [plain_ticket_data(row, times) for row in rows]
    try:
        table = list(zip(*map(_GET_PLANNED, rows), strict=True))  # a push's rows name all
    except KeyError:  # a field left out: plain_ticket_data takes its default, or refuses
        return [plain_ticket_data(row, times) for row in rows]
    columns: list[Sequence[Any]] = []
    for col, (_, kind, optional, values, limit, _) in zip(table, _PLAN, strict=True):
        done = _column(col, kind, optional, values, limit)
        if done is None:
            break
        columns.append(done)
    if len(columns) != len(_PLAN):
        return [plain_ticket_data(row, times) for row in rows]
    memo: dict[int, str] = {} if times is None else times
    for extra in _AS_TEXT:
        texts = [row.get(extra) for row in rows]
        for j, value in enumerate(texts):
            if isinstance(value, datetime):  # as plain_ticket_data writes it, once per object
                text = memo.get(~id(value))
                if text is None:
                    text = memo[~id(value)] = value.isoformat()
                texts[j] = text
        columns.append(texts)
    return [dict(zip(_NAMES, values, strict=True)) for values in zip(*columns, strict=True)]


def _column(
    col: Sequence[Any], kind: int, optional: bool, values: Any, limit: int | None
) -> Sequence[Any] | None:
    """A field's values of every row as :func:`plain_ticket_data` writes them, or None when
    it would turn one of them down."""
    types = set(map(type, col))
    if _NONE_TYPE in types:
        if not optional:
            return None
        types.discard(_NONE_TYPE)
        if not types:
            return col  # None in every row
        given: Sequence[Any] = [v for v in col if v is not None]
    else:
        given = col
    if kind == _STR:
        if types != {str}:
            return None
        if limit is not None and max(map(len, given)) > limit:
            return None
        if tuple(map(str.strip, given)) != tuple(given):
            return None
    elif kind == _ENUM:
        if not types <= {str, int}:
            return None
        for v in set(given):
            plain = values.get(v, _MISSING)
            if plain is _MISSING or type(v) is not type(plain):
                return None
    elif kind in (_BOOL, _INT):
        if types != ({bool} if kind == _BOOL else {int}):
            return None
    elif kind == _TIME:  # aware times: pydantic's text for the whole column, in one call
        if types != {datetime} or any(map(is_, map(_TZINFO, given), repeat(None))):
            return None
        texts = to_jsonable_python(given)
        if len(given) == len(col):
            return list(texts)
        made = iter(texts)
        return [None if v is None else next(made) for v in col]
    elif kind == _DICT:
        if types != {dict}:
            return None
        for v in given:
            for key, item in v.items():
                if type(key) is not str or key != key.strip():
                    return None
                if item is not None and type(item) not in (str, int, bool):
                    return None
        return [dict(v) for v in col]
    else:  # _NONE: only None takes the fast way
        return None
    return col
