"""Ticket-entry forms: the schema of ``forms/*.toml`` and the rules that run on the answers.

A form is data, not code, so a hotline can add a form for a new kind of call (say, an
epidemic category in a surge) without a release, and the desk builds its widgets from the
definition (a factory that is tested without the UI). The same definitions drive the
validation on the desk and on the server, which serves the current set at ``/api/v1/forms``.

One file is one form::

    id = "urgent_medical"          # stable id, also the key in a form set
    version = 1                    # bump when the meaning of an answer changes
    order = 20                     # place in the desk's list of forms
    title = { zh = "紧急求医", en = "Urgent medical help" }
    [ticket]                       # fixed ticket fields every ticket of this form gets
    category = "urgent_medical"
    [[fields]]
    id = "bite_time"
    type = "datetime"              # text long_text phone id_card choice district datetime yes_no
    label = { zh = "咬伤时间", en = "Time of the bite" }
    required = true
    show_if = { field = "urgent_subcategory", values = ["rabies_vaccine"] }
    red_if = []                    # answers that make the ticket red
    maps_to = ""                   # a TicketFields attribute; empty: kept in ``extra``

Answers (``values``) are keyed by field id: strings, ``bool`` for yes/no, and a string
(``"2022-03-15 14:30"``, ISO 8601) or an aware ``datetime`` for date-times. A field hidden by
``show_if`` (directly or because the field it depends on is hidden) is neither validated nor
copied to the ticket; keys that are not fields of the form are ignored (old drafts).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from hotline.districts import DEFAULT_DISTRICTS, District
from hotline.model import EDITABLE_FIELDS, Urgency
from hotline.resources import shipped_dir
from hotline.validators import (
    FieldError,
    max_lengths,
    outcome_problem,
    validate_district,
    validate_id_card,
    validate_phone,
    validate_street,
    validate_topic,
)

if TYPE_CHECKING:  # pydantic's: built when a ticket is made (or warmed up after the first frame)
    from hotline.model import TicketFields

FieldType = Literal[
    "text",
    "long_text",
    "phone",
    "id_card",
    "choice",
    "district",
    "datetime",
    "yes_no",
    "street",  # 街道/镇: checked against the district answer's recorded streets
    "topic",  # 诉求分类: one of hotline.topics
    "unit",  # 承办单位: one of the server's directory (hotline.units)
]
Answer = str | bool

DEFAULT_MAX_LENGTH: dict[str, int] = {"text": 200, "long_text": 4000, "street": 40, "unit": 60}
_TICKET_LIMITS = max_lengths()
_TICKET_FIELDS = frozenset(EDITABLE_FIELDS) - {"extra"}  # TicketFields' own (a test checks)
_FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
_YES = frozenset({"yes", "true", "1", "y", "是", "有"})
_NO = frozenset({"no", "false", "0", "n", "否", "无"})
_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"  # as refusals quote it (pydantic's words)
_ID = re.compile(_ID_PATTERN[1:-1])  # used with fullmatch: "$" would let a final newline by


class FormError(ValueError):
    """A form definition that cannot be used; the message names the file and the field."""


# Form definitions are plain frozen classes: the desk reads them before its first frame, and
# their rules are written out below (``_read_form``). Build them with ``parse_form`` (or
# ``load_forms``), which checks; the constructors do not.


@dataclass(frozen=True, slots=True)
class Labels:
    zh: str
    en: str

    def get(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    zh: str
    en: str

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class ShowIf:
    """Show the field only while ``field`` (shown itself) has one of ``values``."""

    field: str
    values: list[Answer]


@dataclass(frozen=True, slots=True)
class FormField:
    id: str
    type: FieldType
    label: Labels
    help: Labels | None = None
    required: bool = False
    max_length: int | None = None  # text types only, 1..4000
    choices: list[Choice] = dataclasses.field(default_factory=list)
    show_if: ShowIf | None = None
    optional_if: ShowIf | None = None  # required, except while that field has these answers
    red_if: list[Answer] = dataclasses.field(default_factory=list)
    maps_to: str = ""  # a TicketFields attribute; empty: the answer goes to ``extra``
    default: Answer | None = None

    def text_limit(self) -> int | None:
        """The effective length limit of a text answer."""
        if self.type not in DEFAULT_MAX_LENGTH:
            return None
        limit = self.max_length or DEFAULT_MAX_LENGTH[self.type]
        ticket_limit = _TICKET_LIMITS.get(self.maps_to) if self.maps_to else None
        return min(limit, ticket_limit) if ticket_limit else limit

    def choice_values(self) -> list[str]:
        return [c.value for c in self.choices]


@dataclass(frozen=True, slots=True)
class FormDef:
    """One ticket-entry form."""

    id: str
    title: Labels
    fields: list[FormField]
    version: int = 1
    order: int = 100
    description: Labels | None = None
    ticket: dict[str, str] = dataclasses.field(default_factory=dict)

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)

    def as_json(self) -> dict[str, Any]:
        """The wire form: every setting, in the order the definitions have always listed
        them (``form_set_version`` hashes it)."""
        out = dataclasses.asdict(self)
        return {key: out[key] for key in _FORM_KEYS}


FormSet = dict[str, FormDef]
_FORM_KEYS = ("id", "version", "order", "title", "description", "ticket", "fields")


# ---------------------------------------------------------------- reading a definition
#
# What is refused, and the words, follow pydantic's (the models these classes replace), so a
# broken file reads the same: "fields[3] (bite_time).show_if.field: Field required".

Loc = tuple[str | int, ...]


class _Invalid(Exception):
    """Problems found while reading: (where, message) pairs."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


_MISSING: Any = object()


class _Reader:
    """Collects the problems of one definition, as pydantic did: every setting's, then the
    rules across settings only once the settings themselves are right."""

    def __init__(self) -> None:
        self.problems: list[tuple[Loc, str]] = []

    def table(
        self,
        raw: Any,
        loc: Loc,
        name: str,
        allowed: tuple[str, ...],
        read: Callable[[Mapping[str, Any], Loc], Any],
    ) -> Any:
        """A nested table read by ``read``; unknown keys refused."""
        if not isinstance(raw, Mapping):
            self.problems.append((loc, f"Input should be a valid dictionary or instance of {name}"))
            return None
        before = len(self.problems)
        value = read(raw, loc)
        for key in raw:
            if key not in allowed:
                self.problems.append(((*loc, key), "Extra inputs are not permitted"))
        return value if len(self.problems) == before else None

    def get(
        self,
        raw: Mapping[str, Any],
        loc: Loc,
        key: str,
        check: Callable[[Any, Loc], Any],
        default: Any = _MISSING,
    ) -> Any:
        if key not in raw:
            if default is _MISSING:
                self.problems.append(((*loc, key), "Field required"))
            return default() if callable(default) else default
        try:
            return check(raw[key], (*loc, key))
        except _Invalid as exc:
            self.problems.extend(exc.problems)
            return None


def _bad(loc: Loc, message: str) -> _Invalid:
    return _Invalid([(loc, message)])


def _text(min_length: int = 0, max_length: int | None = None, pattern: bool = False) -> Any:
    def check(value: Any, loc: Loc) -> str:
        if not isinstance(value, str):
            raise _bad(loc, "Input should be a valid string")
        if len(value) < min_length:
            s = "" if min_length == 1 else "s"
            raise _bad(loc, f"String should have at least {min_length} character{s}")
        if max_length is not None and len(value) > max_length:
            raise _bad(loc, f"String should have at most {max_length} characters")
        if pattern and _ID.fullmatch(value) is None:
            raise _bad(loc, f"String should match pattern '{_ID_PATTERN}'")
        return value

    return check


def _integer(ge: int | None = None, le: int | None = None, optional: bool = False) -> Any:
    def check(value: Any, loc: Loc) -> int | None:
        if value is None and optional:
            return None
        number: int
        if isinstance(value, bool | int):
            number = int(value)
        elif isinstance(value, float):
            if not value.is_integer():
                raise _bad(
                    loc, "Input should be a valid integer, got a number with a fractional part"
                )
            number = int(value)
        elif isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                raise _bad(
                    loc, "Input should be a valid integer, unable to parse string as an integer"
                ) from None
        else:
            raise _bad(loc, "Input should be a valid integer")
        if ge is not None and number < ge:
            raise _bad(loc, f"Input should be greater than or equal to {ge}")
        if le is not None and number > le:
            raise _bad(loc, f"Input should be less than or equal to {le}")
        return number

    return check


_TRUE_WORDS = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE_WORDS = frozenset({"0", "off", "f", "false", "n", "no"})


def _lax_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None


def _boolean(value: Any, loc: Loc) -> bool:
    answer = _lax_bool(value)
    if answer is None:
        if isinstance(value, str | int | float):
            raise _bad(loc, "Input should be a valid boolean, unable to interpret input")
        raise _bad(loc, "Input should be a valid boolean")
    return answer


def _answer(value: Any, loc: Loc) -> Answer:
    """Text or true/false; a 0/1 number reads as false/true (pydantic's reading)."""
    if isinstance(value, str | bool):
        return value
    try:
        return _boolean(value, (*loc, "bool"))  # a 0/1 number; refused otherwise
    except _Invalid as exc:
        raise _Invalid([((*loc, "str"), "Input should be a valid string"), *exc.problems]) from None


def _optional_answer(value: Any, loc: Loc) -> Answer | None:
    return None if value is None else _answer(value, loc)


def _list(item: Callable[[Any, Loc], Any], min_length: int = 0) -> Any:
    def check(value: Any, loc: Loc) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise _bad(loc, "Input should be a valid list")
        items: list[Any] = []
        problems: list[tuple[Loc, str]] = []
        for i, raw in enumerate(value):
            try:
                items.append(item(raw, (*loc, i)))
            except _Invalid as exc:
                problems.extend(exc.problems)
        if problems:
            raise _Invalid(problems)
        if len(items) < min_length:
            s = "" if min_length == 1 else "s"
            raise _bad(
                loc, f"List should have at least {min_length} item{s} after validation, not 0"
            )
        return items

    return check


def _literal(value: Any, loc: Loc) -> str:
    if value not in _FIELD_TYPES or not isinstance(value, str):
        names = [f"'{t}'" for t in _FIELD_TYPES]
        raise _bad(loc, f"Input should be {', '.join(names[:-1])} or {names[-1]}")
    return value


def _string_table(value: Any, loc: Loc) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _bad(loc, "Input should be a valid dictionary")
    problems = [
        ((*loc, key), "Input should be a valid string")
        for key, item in value.items()
        if not isinstance(item, str)
    ]
    if problems:
        raise _Invalid(problems)
    return {str(key): item for key, item in value.items()}


def _nested(name: str, allowed: tuple[str, ...], read: Any, optional: bool = False) -> Any:
    def check(value: Any, loc: Loc) -> Any:
        if value is None and optional:
            return None
        reader = _Reader()
        parsed = reader.table(value, loc, name, allowed, lambda raw, at: read(reader, raw, at))
        if reader.problems:
            raise _Invalid(reader.problems)
        return parsed

    return check


def _read_labels(r: _Reader, raw: Mapping[str, Any], loc: Loc) -> Labels:
    return Labels(
        zh=r.get(raw, loc, "zh", _text(1, 200)),
        en=r.get(raw, loc, "en", _text(1, 200)),
    )


def _read_choice(r: _Reader, raw: Mapping[str, Any], loc: Loc) -> Choice:
    return Choice(
        value=r.get(raw, loc, "value", _text(1, 60)),
        zh=r.get(raw, loc, "zh", _text(1, 100)),
        en=r.get(raw, loc, "en", _text(1, 100)),
    )


def _read_show_if(r: _Reader, raw: Mapping[str, Any], loc: Loc) -> ShowIf:
    return ShowIf(
        field=r.get(raw, loc, "field", _text()),
        values=r.get(raw, loc, "values", _list(_answer, min_length=1)),
    )


_LABELS = _nested("Labels", ("zh", "en"), _read_labels)
_OPTIONAL_LABELS = _nested("Labels", ("zh", "en"), _read_labels, optional=True)
_CHOICE = _nested("Choice", ("value", "zh", "en"), _read_choice)
_SHOW_IF = _nested("ShowIf", ("field", "values"), _read_show_if, optional=True)
_FIELD_KEYS = tuple(f.name for f in dataclasses.fields(FormField))


def _read_field(r: _Reader, raw: Mapping[str, Any], loc: Loc) -> FormField:
    return FormField(
        id=r.get(raw, loc, "id", _text(pattern=True)),
        type=r.get(raw, loc, "type", _literal),
        label=r.get(raw, loc, "label", _LABELS),
        help=r.get(raw, loc, "help", _OPTIONAL_LABELS, None),
        required=r.get(raw, loc, "required", _boolean, False),
        max_length=r.get(raw, loc, "max_length", _integer(1, 4000, optional=True), None),
        choices=r.get(raw, loc, "choices", _list(_CHOICE), list),
        show_if=r.get(raw, loc, "show_if", _SHOW_IF, None),
        optional_if=r.get(raw, loc, "optional_if", _SHOW_IF, None),
        red_if=r.get(raw, loc, "red_if", _list(_answer), list),
        maps_to=r.get(raw, loc, "maps_to", _text(), ""),
        default=r.get(raw, loc, "default", _optional_answer, None),
    )


_FIELD_SETTINGS = _nested("FormField", _FIELD_KEYS, _read_field)


def _form_field(value: Any, loc: Loc) -> FormField:
    f: FormField = _FIELD_SETTINGS(value, loc)
    try:
        _field_rules(f)
    except ValueError as exc:
        raise _bad(loc, str(exc)) from None
    return f


def _read_form_settings(r: _Reader, raw: Mapping[str, Any], loc: Loc) -> FormDef:
    return FormDef(
        id=r.get(raw, loc, "id", _text(pattern=True)),
        version=r.get(raw, loc, "version", _integer(ge=1), 1),
        order=r.get(raw, loc, "order", _integer(), 100),
        title=r.get(raw, loc, "title", _LABELS),
        description=r.get(raw, loc, "description", _OPTIONAL_LABELS, None),
        ticket=r.get(raw, loc, "ticket", _string_table, dict),
        fields=r.get(raw, loc, "fields", _list(_form_field, min_length=1)),
    )


_FORM_SETTINGS = _nested("FormDef", _FORM_KEYS, _read_form_settings)


def _read_form(raw: Mapping[str, Any]) -> FormDef:
    """A form from its data: every setting read and checked, then the rules across them;
    ``_Invalid`` lists what is wrong."""
    form: FormDef = _FORM_SETTINGS(raw, ())
    try:
        _form_rules(form)
    except ValueError as exc:
        raise _bad((), str(exc)) from None
    return form


def _field_rules(f: FormField) -> None:
    """One field's own rules (its settings already read); ValueError says what is wrong."""
    if f.type == "choice":
        if not f.choices:
            raise ValueError("a choice field needs choices")
        values = [c.value for c in f.choices]
        if len(set(values)) != len(values):
            raise ValueError("choices repeat a value")
    elif f.choices:
        raise ValueError(f"only choice fields have choices (this one is {f.type})")
    if f.max_length is not None and f.type not in DEFAULT_MAX_LENGTH:
        raise ValueError(f"max_length applies to text and long_text, not {f.type}")
    if f.maps_to:
        if f.maps_to not in _TICKET_FIELDS:
            raise ValueError(f"maps_to {f.maps_to!r} is not a ticket field")
        limit = _TICKET_LIMITS.get(f.maps_to)
        if limit is not None and f.max_length is not None and f.max_length > limit:
            raise ValueError(
                f"max_length {f.max_length} exceeds the ticket field {f.maps_to}'s limit of {limit}"
            )
    for answer in f.red_if:
        _check_answer_fits(f, answer, "red_if")
    if f.default is not None:
        _check_answer_fits(f, f.default, "default")


def _check_answer_fits(f: FormField, answer: Answer, where: str) -> None:
    if f.type == "yes_no":
        if not isinstance(answer, bool):
            raise ValueError(f"{where} of a yes_no field must be true or false, not {answer!r}")
    elif isinstance(answer, bool):
        raise ValueError(f"{where} of a {f.type} field must be text, not {answer!r}")
    elif f.type == "choice" and answer not in f.choice_values():
        raise ValueError(f"{where} value {answer!r} is not one of the choices")


def _form_rules(form: FormDef) -> None:
    """The rules across a form's fields; ValueError says what is wrong."""
    by_id: dict[str, FormField] = {}
    for f in form.fields:
        if f.id in by_id:
            raise ValueError(f"field id {f.id!r} is used twice")
        by_id[f.id] = f
    mapped: dict[str, str] = {}
    for f in form.fields:
        if f.maps_to:
            if f.maps_to in mapped:
                raise ValueError(
                    f"fields {mapped[f.maps_to]!r} and {f.id!r} both map to {f.maps_to}"
                )
            if f.maps_to in form.ticket:
                raise ValueError(f"field {f.id!r} maps to {f.maps_to}, fixed in [ticket]")
            mapped[f.maps_to] = f.id
        for key, rule in (("show_if", f.show_if), ("optional_if", f.optional_if)):
            if rule is None:
                continue
            source = by_id.get(rule.field)
            if source is None or source.id == f.id:
                raise ValueError(
                    f"field {f.id!r}: {key}.field {rule.field!r} is not another field of this form"
                )
            for answer in rule.values:
                try:
                    _check_answer_fits(source, answer, key)
                except ValueError as exc:
                    raise ValueError(f"field {f.id!r}: {exc}") from None
    for f in form.fields:  # show_if chains must end: a cycle would hide fields forever
        seen = {f.id}
        current = f
        while current.show_if is not None:
            current = by_id[current.show_if.field]
            if current.id in seen:
                raise ValueError(f"field {f.id!r}: show_if goes round in a circle")
            seen.add(current.id)
    for key in form.ticket:
        if key not in _TICKET_FIELDS:
            raise ValueError(f"[ticket] {key!r} is not a ticket field")


def check_ticket_values(form: FormDef) -> None:
    """The values a form fixes for its tickets (``[ticket]``, and each choice of a field
    mapped to a ticket field) as ``TicketFields`` takes them; ValueError names the ticket
    field. It builds the pydantic model, so it is not part of reading a form on the desk:
    ``parse_form`` runs it unless told not to (the desk's start), and the server (which
    checks every set it serves or takes) and the tests over the shipped forms run it."""
    from pydantic import ValidationError

    from hotline.model import TicketFields

    try:
        TicketFields(**form.ticket)
        for f in form.fields:
            if f.maps_to and f.type == "choice":
                for value in f.choice_values():
                    TicketFields(**{f.maps_to: value})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg']}") from None


def warm_ticket_rules(forms: Iterable[FormDef] = ()) -> list[str]:
    """Build now what making a ticket from a form needs (pydantic, ``TicketFields``, the
    clocks' time zone), and check the values ``forms`` fix for their tickets as
    ``TicketFields`` reads them (``check_ticket_values``). The desk calls this in a thread
    once its first frame is drawn, so that neither that frame nor the agent's first save
    waits for it. Returns what is wrong, one line per form (empty: nothing)."""
    from hotline.clocks import resolve_zone

    resolve_zone()
    problems = []
    for form in forms:
        try:
            check_ticket_values(form)
        except ValueError as exc:
            problems.append(f"form {form.id!r}: {exc}")
    return problems


# ---------------------------------------------------------------- loading


def _describe(problems: list[tuple[Loc, str]], raw: Mapping[str, Any]) -> str:
    """The problems as 'fields[3] (bite_time).show_if.field: message'."""
    parts = []
    for loc_, message in problems[:5]:
        loc = list(loc_)
        text = ""
        if len(loc) >= 2 and loc[0] == "fields" and isinstance(loc[1], int):
            text = f"fields[{loc[1]}]"
            raw_fields = raw.get("fields")
            if isinstance(raw_fields, list) and loc[1] < len(raw_fields):
                item = raw_fields[loc[1]]
                if isinstance(item, Mapping) and "id" in item:
                    text += f" ({item['id']})"
            loc = loc[2:]
        rest = ".".join(str(p) for p in loc)
        where = ".".join(p for p in (text, rest) if p)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_form(
    raw: Mapping[str, Any], source: str = "form", *, ticket_values: bool = True
) -> FormDef:
    """One form from its TOML/JSON data; ``FormError`` names ``source`` and the field.
    ``ticket_values=False`` leaves out ``check_ticket_values`` (pydantic's): the desk reads
    forms the server or the tests have checked with it, before its first frame."""
    try:
        form = _read_form(raw)
        if ticket_values:
            check_ticket_values(form)
    except _Invalid as exc:
        raise FormError(f"{source}: {_describe(exc.problems, raw)}") from None
    except ValueError as exc:
        raise FormError(f"{source}: {exc}") from None
    return form


def _ordered(forms: Iterable[FormDef]) -> FormSet:
    return {f.id: f for f in sorted(forms, key=lambda f: (f.order, f.id))}


def parse_forms(data: Mapping[str, Any], *, ticket_values: bool = True) -> FormSet:
    """A form set as served over the wire (``{form_id: form}``), e.g. one an admin uploads."""
    if not isinstance(data, Mapping) or not data:
        raise FormError("a form set must map form ids to forms and have at least one form")
    forms = []
    for key, raw in data.items():
        if not isinstance(raw, Mapping):
            raise FormError(f"form {key!r}: must be a table of settings")
        form = parse_form(raw, f"form {key!r}", ticket_values=ticket_values)
        if form.id != key:
            raise FormError(f"form {key!r}: its id is {form.id!r}; the key must be the id")
        forms.append(form)
    return _ordered(forms)


def load_form_file(path: Path, *, ticket_values: bool = True) -> FormDef:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise FormError(f"{path}: not valid TOML: {exc}") from None
    return parse_form(raw, str(path), ticket_values=ticket_values)


def load_forms(dir: Path | str | None = None, *, ticket_values: bool = True) -> FormSet:
    """Every ``*.toml`` form in ``dir`` (default: the shipped ``forms/``), by order then id.
    ``ticket_values``: as ``parse_form``'s."""
    folder = Path(dir) if dir is not None else shipped_dir("forms")
    forms: list[FormDef] = []
    origin: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        form = load_form_file(path, ticket_values=ticket_values)
        if form.id in origin:
            raise FormError(f"{path}: form id {form.id!r} is already used by {origin[form.id]}")
        origin[form.id] = path
        forms.append(form)
    if not forms:
        raise FormError(f"{folder}: no form definitions (*.toml)")
    return _ordered(forms)


def load_shipped_forms(*, ticket_values: bool = True) -> FormSet:
    """The shipped forms (what the server serves until an admin replaces them).
    ``ticket_values``: as ``parse_form``'s (the desk's start leaves it out)."""
    return load_forms(ticket_values=ticket_values)


def forms_as_json(forms: Mapping[str, FormDef]) -> dict[str, Any]:
    """The wire form of a set: ``{form_id: form as JSON}`` (``parse_forms`` reads it back)."""
    return {key: form.as_json() for key, form in forms.items()}


def json_set_version(data: Mapping[str, Any]) -> str:
    """A stable content hash of a set as JSON data (the wire form, or what an admin uploads):
    the same data give the same version on every machine."""
    canon = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def form_set_version(forms: Mapping[str, FormDef]) -> str:
    """``json_set_version`` of the set's wire form."""
    return json_set_version(forms_as_json(forms))


# ---------------------------------------------------------------- answers


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _YES:
            return True
        if text in _NO:
            return False
    return None


def _comparable(f: FormField, value: Any) -> Answer | None:
    """The answer as ``show_if``/``red_if`` compare it: bool for yes/no, stripped text else."""
    if _blank(value):
        return None
    if f.type == "yes_no":
        return _yes_no(value)
    return value.strip() if isinstance(value, str) else None


def visible_fields(form: FormDef, values: Mapping[str, Any]) -> list[FormField]:
    """The fields shown for these answers, in form order."""
    by_id = {f.id: f for f in form.fields}
    memo: dict[str, bool] = {}

    def shown(f: FormField) -> bool:
        if f.id not in memo:
            rule = f.show_if
            if rule is None:
                memo[f.id] = True
            else:  # chains are acyclic (checked on load), so this ends
                source = by_id[rule.field]
                answer = _comparable(source, values.get(source.id))
                memo[f.id] = shown(source) and answer is not None and answer in rule.values
        return memo[f.id]

    return [f for f in form.fields if shown(f)]


def _parse_datetime(value: Any, zone: tzinfo | None) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None and zone is not None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _clean(
    f: FormField, value: Any, districts: Iterable[District | str] | None, zone: tzinfo | None
) -> Any:
    """One answer checked and normalized; raises ``FieldError`` under the form field's id."""
    labels = {"zh": f.label.zh, "en": f.label.en}
    try:
        if f.type in ("text", "long_text", "street", "unit"):
            if not isinstance(value, str):
                raise FieldError(f.id, "not_text")
            text = value.strip()
            limit = f.text_limit()
            if limit is not None and len(text) > limit:
                raise FieldError(f.id, "too_long", {"max": limit, "length": len(text)})
            return text
        if f.type == "yes_no":
            answer = _yes_no(value)
            if answer is None:
                raise FieldError(f.id, "yes_no_invalid")
            return answer
        if not isinstance(value, str | datetime):
            raise FieldError(f.id, "not_text")
        if f.type == "datetime":
            parsed = _parse_datetime(value, zone)
            if parsed is None:
                raise FieldError(f.id, "datetime_invalid", {"value": str(value)})
            return parsed.isoformat(timespec="minutes")
        assert isinstance(value, str)
        if f.type == "phone":
            return validate_phone(value, field=f.id)
        if f.type == "id_card":
            return validate_id_card(value, field=f.id)
        if f.type == "district":
            return validate_district(value, districts, field=f.id)
        if f.type == "topic":
            return validate_topic(value, field=f.id)
        # choice
        text = value.strip()
        if text not in f.choice_values():
            params = {
                "value": text,
                "choices_zh": [c.zh for c in f.choices],
                "choices_en": [c.en for c in f.choices],
            }
            raise FieldError(f.id, "invalid_choice", params)
        return text
    except FieldError as exc:
        raise exc.with_field(f.id, labels) from None


def _clean_all(
    form: FormDef,
    values: Mapping[str, Any],
    districts: Iterable[District | str] | None,
    zone: tzinfo | None,
    disposition: str | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    shown = visible_fields(form, values)
    for f in shown:
        value = values.get(f.id)
        if _blank(value):
            if f.required and not _excused(form, f, values):
                errors.append(FieldError(f.id, "required", labels=f.label.as_dict()))
            continue
        try:
            cleaned[f.id] = _clean(f, value, districts, zone)
        except FieldError as exc:
            errors.append(exc)
    _check_streets(form, shown, cleaned, errors, districts)
    if disposition is not None:
        answer = next((f for f in shown if f.maps_to == "answer"), None)
        if answer is None:  # a form without the field still cannot answer on the spot
            problem = outcome_problem(form.ticket.get("answer"), disposition)
            if problem is not None:
                errors.append(problem)
        elif answer.id not in {e.field for e in errors}:
            problem = outcome_problem(cleaned.get(answer.id), disposition)
            if problem is not None:
                errors.append(problem.with_field(answer.id, answer.label.as_dict()))
    return cleaned, errors


def _excused(form: FormDef, f: FormField, values: Mapping[str, Any]) -> bool:
    """A required field whose ``optional_if`` holds (a phone, for an anonymous caller)."""
    rule = f.optional_if
    if rule is None:
        return False
    source = form.field(rule.field)
    answer = _comparable(source, values.get(source.id))
    return answer is not None and answer in rule.values


def _check_streets(
    form: FormDef,
    shown: list[FormField],
    cleaned: dict[str, Any],
    errors: list[FieldError],
    districts: Iterable[District | str] | None,
) -> None:
    """A street answer must be a street of the district answer (where its list is known)."""
    district_field = next((f for f in shown if f.type == "district"), None)
    if district_field is None or district_field.id not in cleaned:
        return
    failed = {e.field for e in errors}
    for f in shown:
        if f.type == "street" and f.id in cleaned and f.id not in failed:
            try:
                cleaned[f.id] = validate_street(
                    cleaned[f.id], cleaned[district_field.id], districts, field=f.id
                )
            except FieldError as exc:
                errors.append(exc.with_field(f.id, f.label.as_dict()))


def validate_values(
    form: FormDef,
    values: Mapping[str, Any],
    *,
    districts: Iterable[District | str] | None = None,
    disposition: str | None = None,
) -> list[FieldError]:
    """Every problem with the shown fields' answers; errors carry the form field's id and label.
    ``disposition`` (how intake ends, ``on_spot`` / ``dispatch``) adds the outcome rules:
    答复内容 is required for an answer on the spot."""
    return _clean_all(form, values, districts, None, disposition)[1]


def is_red(form: FormDef, values: Mapping[str, Any]) -> bool:
    """Whether any shown field's answer is one of its ``red_if`` answers (or the form is red)."""
    if form.ticket.get("urgency") == Urgency.RED.value:
        return True
    for f in visible_fields(form, values):
        if f.red_if:
            answer = _comparable(f, values.get(f.id))
            if answer is not None and answer in f.red_if:
                return True
    return False


def to_ticket_fields(
    form: FormDef,
    values: Mapping[str, Any],
    *,
    districts: Iterable[District | str] | None = None,
    zone: tzinfo | None = None,
    disposition: str | None = None,
) -> TicketFields:
    """The ticket these answers make. Raises the first ``FieldError`` if any answer is wrong.

    Mapped fields fill their ``TicketFields`` attribute, others go to ``extra`` under the
    field id; ``[ticket]`` of the form fills fixed fields; red answers make ``urgency`` red.
    A date-time typed without a zone is taken in ``zone`` (default Asia/Shanghai).
    """
    from pydantic import ValidationError

    from hotline.clocks import resolve_zone
    from hotline.model import TicketFields

    cleaned, errors = _clean_all(form, values, districts, zone or resolve_zone(), disposition)
    if errors:
        raise errors[0]
    data: dict[str, Any] = dict(form.ticket)
    extra: dict[str, Any] = {}
    for f in form.fields:
        if f.id not in cleaned:
            continue
        if f.maps_to:
            data[f.maps_to] = cleaned[f.id]
        else:
            extra[f.id] = cleaned[f.id]
    data["extra"] = extra
    if is_red(form, values):
        data["urgency"] = Urgency.RED.value
    try:
        return TicketFields(**data)
    except ValidationError as exc:
        # Only a value the form itself fixes gets here (the answers were checked above): a
        # set the desk read without ``check_ticket_values`` and its warm-up found wrong. A
        # field-named refusal, never a traceback: the screen keeps the draft and says so.
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "?"
        value = data.get(where, first.get("input"))
        raise FieldError(where, "form_value_invalid", {"value": value}) from None


def district_choices(
    districts: Iterable[District] | None = None, lang: str = "zh"
) -> list[tuple[str, str]]:
    """(id, label) pairs for a district field's picker."""
    return [(d.id, d.label(lang)) for d in (districts or DEFAULT_DISTRICTS)]


__all__ = [
    "Choice",
    "FieldType",
    "FormDef",
    "FormError",
    "FormField",
    "FormSet",
    "Labels",
    "ShowIf",
    "check_ticket_values",
    "district_choices",
    "form_set_version",
    "forms_as_json",
    "is_red",
    "json_set_version",
    "load_form_file",
    "load_forms",
    "load_shipped_forms",
    "parse_form",
    "parse_forms",
    "to_ticket_fields",
    "validate_values",
    "visible_fields",
    "warm_ticket_rules",
]
