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

import hashlib
import json
import tomllib
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hotline.clocks import resolve_zone
from hotline.districts import DEFAULT_DISTRICTS, District
from hotline.model import TicketFields, Urgency
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
_YES = frozenset({"yes", "true", "1", "y", "是", "有"})
_NO = frozenset({"no", "false", "0", "n", "否", "无"})
_ID_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"


class FormError(ValueError):
    """A form definition that cannot be used; the message names the file and the field."""


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)

    def get(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(min_length=1, max_length=60)
    zh: str = Field(min_length=1, max_length=100)
    en: str = Field(min_length=1, max_length=100)

    def label(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh


class ShowIf(BaseModel):
    """Show the field only while ``field`` (shown itself) has one of ``values``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    values: list[Answer] = Field(min_length=1)


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID_PATTERN)
    type: FieldType
    label: Labels
    help: Labels | None = None
    required: bool = False
    max_length: int | None = Field(default=None, ge=1, le=4000)
    choices: list[Choice] = Field(default_factory=list)
    show_if: ShowIf | None = None
    optional_if: ShowIf | None = None  # required, except while that field has these answers
    red_if: list[Answer] = Field(default_factory=list)
    maps_to: str = ""  # a TicketFields attribute; empty: the answer goes to ``extra``
    default: Answer | None = None

    @model_validator(mode="after")
    def _own_rules(self) -> FormField:
        if self.type == "choice":
            if not self.choices:
                raise ValueError("a choice field needs choices")
            values = [c.value for c in self.choices]
            if len(set(values)) != len(values):
                raise ValueError("choices repeat a value")
        elif self.choices:
            raise ValueError(f"only choice fields have choices (this one is {self.type})")
        if self.max_length is not None and self.type not in DEFAULT_MAX_LENGTH:
            raise ValueError(f"max_length applies to text and long_text, not {self.type}")
        if self.maps_to:
            if self.maps_to not in TicketFields.model_fields or self.maps_to == "extra":
                raise ValueError(f"maps_to {self.maps_to!r} is not a ticket field")
            limit = _TICKET_LIMITS.get(self.maps_to)
            if limit is not None and self.max_length is not None and self.max_length > limit:
                raise ValueError(
                    f"max_length {self.max_length} exceeds the ticket field {self.maps_to}'s "
                    f"limit of {limit}"
                )
        for answer in self.red_if:
            _check_answer_fits(self, answer, "red_if")
        if self.default is not None:
            _check_answer_fits(self, self.default, "default")
        return self

    def text_limit(self) -> int | None:
        """The effective length limit of a text answer."""
        if self.type not in DEFAULT_MAX_LENGTH:
            return None
        limit = self.max_length or DEFAULT_MAX_LENGTH[self.type]
        ticket_limit = _TICKET_LIMITS.get(self.maps_to) if self.maps_to else None
        return min(limit, ticket_limit) if ticket_limit else limit

    def choice_values(self) -> list[str]:
        return [c.value for c in self.choices]


def _check_answer_fits(f: FormField, answer: Answer, where: str) -> None:
    if f.type == "yes_no":
        if not isinstance(answer, bool):
            raise ValueError(f"{where} of a yes_no field must be true or false, not {answer!r}")
    elif isinstance(answer, bool):
        raise ValueError(f"{where} of a {f.type} field must be text, not {answer!r}")
    elif f.type == "choice" and answer not in f.choice_values():
        raise ValueError(f"{where} value {answer!r} is not one of the choices")


class FormDef(BaseModel):
    """One ticket-entry form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID_PATTERN)
    version: int = Field(default=1, ge=1)
    order: int = 100
    title: Labels
    description: Labels | None = None
    ticket: dict[str, str] = Field(default_factory=dict)
    fields: list[FormField] = Field(min_length=1)

    @model_validator(mode="after")
    def _cross_rules(self) -> FormDef:
        by_id: dict[str, FormField] = {}
        for f in self.fields:
            if f.id in by_id:
                raise ValueError(f"field id {f.id!r} is used twice")
            by_id[f.id] = f
        mapped: dict[str, str] = {}
        for f in self.fields:
            if f.maps_to:
                if f.maps_to in mapped:
                    raise ValueError(
                        f"fields {mapped[f.maps_to]!r} and {f.id!r} both map to {f.maps_to}"
                    )
                if f.maps_to in self.ticket:
                    raise ValueError(f"field {f.id!r} maps to {f.maps_to}, fixed in [ticket]")
                mapped[f.maps_to] = f.id
            for key, rule in (("show_if", f.show_if), ("optional_if", f.optional_if)):
                if rule is None:
                    continue
                source = by_id.get(rule.field)
                if source is None or source.id == f.id:
                    raise ValueError(
                        f"field {f.id!r}: {key}.field {rule.field!r} is not another "
                        "field of this form"
                    )
                for answer in rule.values:
                    try:
                        _check_answer_fits(source, answer, key)
                    except ValueError as exc:
                        raise ValueError(f"field {f.id!r}: {exc}") from None
        for f in self.fields:  # show_if chains must end: a cycle would hide fields forever
            seen = {f.id}
            current = f
            while current.show_if is not None:
                current = by_id[current.show_if.field]
                if current.id in seen:
                    raise ValueError(f"field {f.id!r}: show_if goes round in a circle")
                seen.add(current.id)
        for key in self.ticket:
            if key not in TicketFields.model_fields or key == "extra":
                raise ValueError(f"[ticket] {key!r} is not a ticket field")
        try:
            TicketFields(**self.ticket)
            for f in self.fields:
                if f.maps_to and f.type == "choice":
                    for value in f.choice_values():
                        TicketFields(**{f.maps_to: value})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from None
        return self

    def field(self, field_id: str) -> FormField:
        for f in self.fields:
            if f.id == field_id:
                return f
        raise KeyError(field_id)


FormSet = dict[str, FormDef]


# ---------------------------------------------------------------- loading


def _describe(exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """Pydantic's error as 'fields[3] (bite_time).show_if.field: message'."""
    parts = []
    for err in exc.errors()[:5]:
        loc = list(err["loc"])
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
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_form(raw: Mapping[str, Any], source: str = "form") -> FormDef:
    """One form from its TOML/JSON data; ``FormError`` names ``source`` and the field."""
    try:
        return FormDef.model_validate(dict(raw))
    except ValidationError as exc:
        raise FormError(f"{source}: {_describe(exc, raw)}") from None


def _ordered(forms: Iterable[FormDef]) -> FormSet:
    return {f.id: f for f in sorted(forms, key=lambda f: (f.order, f.id))}


def parse_forms(data: Mapping[str, Any]) -> FormSet:
    """A form set as served over the wire (``{form_id: form}``), e.g. one an admin uploads."""
    if not isinstance(data, Mapping) or not data:
        raise FormError("a form set must map form ids to forms and have at least one form")
    forms = []
    for key, raw in data.items():
        if not isinstance(raw, Mapping):
            raise FormError(f"form {key!r}: must be a table of settings")
        form = parse_form(raw, f"form {key!r}")
        if form.id != key:
            raise FormError(f"form {key!r}: its id is {form.id!r}; the key must be the id")
        forms.append(form)
    return _ordered(forms)


def load_form_file(path: Path) -> FormDef:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise FormError(f"{path}: not valid TOML: {exc}") from None
    return parse_form(raw, str(path))


def load_forms(dir: Path | str | None = None) -> FormSet:
    """Every ``*.toml`` form in ``dir`` (default: the shipped ``forms/``), by order then id."""
    folder = Path(dir) if dir is not None else shipped_dir("forms")
    forms: list[FormDef] = []
    origin: dict[str, Path] = {}
    for path in sorted(folder.glob("*.toml")):
        form = load_form_file(path)
        if form.id in origin:
            raise FormError(f"{path}: form id {form.id!r} is already used by {origin[form.id]}")
        origin[form.id] = path
        forms.append(form)
    if not forms:
        raise FormError(f"{folder}: no form definitions (*.toml)")
    return _ordered(forms)


def load_shipped_forms() -> FormSet:
    """The shipped forms (what the server serves until an admin replaces them)."""
    return load_forms()


def forms_as_json(forms: Mapping[str, FormDef]) -> dict[str, Any]:
    """The wire form of a set: ``{form_id: form as JSON}`` (``parse_forms`` reads it back)."""
    return {key: form.model_dump(mode="json") for key, form in forms.items()}


def form_set_version(forms: Mapping[str, FormDef]) -> str:
    """A stable content hash: the same forms give the same version on every machine."""
    canon = json.dumps(
        forms_as_json(forms), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


form_version = form_set_version  # the name hotline_server.live.forms calls


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
                errors.append(FieldError(f.id, "required", labels=f.label.model_dump()))
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
                errors.append(problem.with_field(answer.id, answer.label.model_dump()))
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
                errors.append(exc.with_field(f.id, f.label.model_dump()))


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
    return TicketFields(**data)


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
    "district_choices",
    "form_set_version",
    "form_version",
    "forms_as_json",
    "is_red",
    "load_form_file",
    "load_forms",
    "load_shipped_forms",
    "parse_form",
    "parse_forms",
    "to_ticket_fields",
    "validate_values",
    "visible_fields",
]
