"""Field validation shared by the desk (as the agent types) and the server (on every mutation).

Both sides call the same functions, so a ticket the desk accepted offline is never refused
by the server for a reason the agent was not shown. Every failure is a ``FieldError`` with a
stable ``code`` and ``params``; ``message(lang)`` turns it into Chinese or English text that
names the field and what is wrong (texts in ``hotline.field_messages``).

Normal forms (what the validators return, and what is stored):
- ID-card number: 18 characters, upper-case ``X``; full-width digits typed with a Chinese
  input method are accepted and converted.
- Phone: digits only, as caller ID shows them. Mainland mobiles as 11 digits
  (``13812345678``); landlines with the trunk ``0`` and area code (``02162345678``); 400/800
  numbers as dialled; numbers outside the mainland in E.164 (``+85291234567``).
  Short service numbers (12345, 110, 95xxx, ...) are refused by default: the phone field is
  where the hotline calls the citizen back, and a service number cannot take that call. A
  field that really wants them passes ``allow_service=True``.
- District: the district's stable id (``"pudong"``), see ``hotline.districts``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from hotline.districts import (
    District,
    as_districts,
    district_label,
    find_district,
    find_street,
    streets_of,
)
from hotline.field_messages import Lang, render
from hotline.model import (
    EDITABLE_FIELDS,
    LEGACY_SATISFACTION,
    TICKET_MAX_LENGTHS,
    Channel,
    Kind,
    Privacy,
    ReplyMethod,
    Satisfaction,
    Urgency,
    UrgentSubcategory,
)
from hotline.topics import TOPICS, find_topic

if TYPE_CHECKING:  # the wire protocol's models: imported on use (the desk's form needs none)
    from hotline.protocol import FieldProblem


class FieldError(ValueError):
    """One thing wrong with one field. ``str()`` is the English text, for logs."""

    def __init__(
        self,
        field: str,
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.field = field
        self.code = code
        self.params: dict[str, Any] = dict(params or {})
        self.labels: dict[str, str] | None = dict(labels) if labels else None
        super().__init__(self.message("en"))

    def message(self, lang: Lang = "zh") -> str:
        return render(self.code, self.field, self.params, lang, self.labels)

    def with_field(self, field: str, labels: Mapping[str, str] | None = None) -> FieldError:
        """The same problem reported under another name (a form field mapped to a ticket field)."""
        return FieldError(field, self.code, self.params, labels=labels or self.labels)

    def as_problem(self, lang: Lang = "zh") -> FieldProblem:
        """For ``hotline.protocol.ErrorBody.fields``."""
        from hotline.protocol import FieldProblem

        return FieldProblem(field=self.field, message=self.message(lang))

    def __repr__(self) -> str:
        return f"FieldError({self.field!r}, {self.code!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.field, self.code, self.params) == (other.field, other.code, other.params)

    def __hash__(self) -> int:
        return hash((self.field, self.code))


def _nfkc(s: str) -> str:
    """Full-width digits and letters (typed with a Chinese IME) become ASCII."""
    return unicodedata.normalize("NFKC", s).strip()


# ---------------------------------------------------------------- ID card (GB 11643-1999)

ID_CARD_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CARD_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# First two digits: provinces of GB/T 2260, plus 81/82/83 (residence permits of Hong Kong,
# Macao and Taiwan residents); permanent-residence cards of foreigners start with 9.
_PROVINCES = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
PROVINCE_CODES: frozenset[str] = frozenset((_PROVINCES + "61 62 63 64 65 71 81 82 83").split())
EARLIEST_BIRTH = date(1890, 1, 1)


def id_card_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_CARD_WEIGHTS, strict=True))
    return ID_CARD_CHECK_CHARS[total % 11]


def validate_id_card(s: str, *, field: str = "id_card", today: date | None = None) -> str:
    """Return the normalized 18-character number or raise ``FieldError`` naming the fault.

    Checks, in order: length, characters, province code, birth date (a real date, not
    before 1890, not after ``today``, which defaults to tomorrow in UTC so that no time
    zone can refuse a baby born today), check digit.
    """
    value = _nfkc(s).replace(" ", "").upper()
    if not value:
        raise FieldError(field, "required")
    if len(value) != 18:
        raise FieldError(field, "id_card_length", {"length": len(value)})
    for i, ch in enumerate(value):
        ok = ch in "0123456789" or (i == 17 and ch == "X")
        if not ok:
            raise FieldError(field, "id_card_chars", {"position": i + 1, "char": ch})
    region = value[:2]
    if region not in PROVINCE_CODES and not region.startswith("9"):
        raise FieldError(field, "id_card_region", {"region": region})
    birth_text = f"{value[6:10]}-{value[10:12]}-{value[12:14]}"
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise FieldError(field, "id_card_birth_date", {"birth": birth_text}) from None
    if birth < EARLIEST_BIRTH:
        raise FieldError(field, "id_card_birth_date", {"birth": birth_text})
    latest = today if today is not None else (datetime.now(UTC) + timedelta(days=1)).date()
    if birth > latest:
        raise FieldError(field, "id_card_birth_future", {"birth": birth_text})
    expected = id_card_check_char(value[:17])
    if value[17] != expected:
        raise FieldError(field, "id_card_check_digit", {"expected": expected, "actual": value[17]})
    return value


# ---------------------------------------------------------------- phone

_PHONE_SEPARATORS = " -()（）.·—_"
_NO_SEPARATORS = str.maketrans("", "", _PHONE_SEPARATORS)  # str.translate drops them


def _is_service_number(digits: str) -> bool:
    """12345, 110, 120, 95xxx, 96xxx, 10086-type: short numbers nobody can be called back on."""
    if 3 <= len(digits) <= 6 and digits[0] == "1":
        return True
    return len(digits) in (5, 6) and digits[:2] in ("95", "96")


@cache
def _cn_parsing_known() -> bool:
    """China's prefixes for parsing are the ones :func:`_mainland_mobile_shape` was written
    against (a phonenumbers release that changes them turns the shortcut off)."""
    import phonenumbers

    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return bool(
        meta is not None
        and meta.international_prefix == r"00|1(?:[12]\d|79)\d\d00"
        and meta.national_prefix_for_parsing == r"(1(?:[12]\d|79)\d\d)|0"
        and meta.national_prefix_transform_rule is None
    )


def _mainland_mobile_shape(compact: str) -> bool:
    """11 ASCII digits from 13 to 19 (not 179): ``phonenumbers.parse(compact, "CN")`` reads
    them as they are, +86 and this national number (no international or carrier prefix
    of China's, 00 / 1[12]xx / 179xx, and no trunk 0 starts them). Most numbers a hotline
    takes have this shape, and parsing is half of checking one."""
    return (
        len(compact) == 11
        and compact[0] == "1"
        and compact[1] in "3456789"
        and not compact.startswith("179")
        and compact.isdigit()
        and compact.isascii()
        and _cn_parsing_known()
    )


def load_phone_tables() -> None:
    """Import the phone-number library now. It is imported on the first number checked, not
    with this module (~30 ms of tables: off the desk's first frame); the desk calls this in
    a thread once its form is up, so the agent's first digits do not wait for it either."""
    import phonenumbers  # noqa: F401


def warm_phone_rules() -> None:
    """Load the phone-number library and China's tables, and build the joined patterns,
    now rather than in the first request that checks a number (~30-50 ms; the server calls
    this before it serves). Nothing is remembered for any number."""
    load_phone_tables()
    for number in ("13800000000", "02162345678"):  # a mobile shape, and one parse() reads
        _phone_normal_form.__wrapped__(number)


def validate_phone(s: str, *, field: str = "phone", allow_service: bool = False) -> str:
    """Return the number in its normal form (module docstring) or raise ``FieldError``."""
    raw = _nfkc(s)
    if not raw:
        raise FieldError(field, "required")
    compact = raw.translate(_NO_SEPARATORS)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    body = compact[1:] if compact.startswith("+") else compact
    if not body.isdigit() or not body.isascii():
        raise FieldError(field, "phone_invalid", {"value": raw})
    if not compact.startswith("+"):
        if _is_service_number(body):
            if allow_service:
                return body
            raise FieldError(field, "phone_service_number", {"value": body})
        if len(body) in (7, 8) and body[0] not in "01":
            raise FieldError(field, "phone_area_code", {"value": body})
    normal = _phone_normal_form(compact)
    if normal is None:
        raise FieldError(field, "phone_invalid", {"value": raw})
    return normal


# How many numbers :func:`_phone_normal_form` remembers (the least recently used go first):
# a hotline hears the same callers again, the desk checks a number as it is typed and again
# on save, and a ticket's phone is usually its caller ID too. ~100 bytes per entry.
PHONE_MEMO_SIZE = 4096


@lru_cache(maxsize=PHONE_MEMO_SIZE)
def _phone_normal_form(compact: str) -> str | None:
    """The normal form of ``compact`` (separators gone, ``00`` read as ``+``, past the
    service-number and area-code rules), or None when phonenumbers finds it invalid. A pure
    function of its text (phonenumbers' tables do not change while the process runs), so
    its answers are remembered: matching a number's type is most of the cost of a check."""
    import phonenumbers  # see load_phone_tables

    if _mainland_mobile_shape(compact):  # what parse() makes of it, without its cost
        rules = _cn_eleven_digit_rules()
        if rules is not None:
            return _cn_eleven_digit_form(compact, rules)
        number = phonenumbers.PhoneNumber(country_code=86, national_number=int(compact))
    else:
        try:
            number = phonenumbers.parse(compact, "CN")
        except phonenumbers.NumberParseException:
            return None
    if number.country_code != 86:
        if not phonenumbers.is_valid_number(number):
            return None
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    # +86 is one region's code (CN): there ``is_valid_number`` is "its type is known", so
    # the type is matched once (matching it is most of a mainland number's cost)
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None
    national = str(phonenumbers.national_significant_number(number))
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "0" + national
    return national


# the types number_type tries before fixed line, in its order
_CN_TYPE_DESCS = "premium_rate toll_free shared_cost voip personal_number pager uan voicemail"
_CnRules = tuple[re.Pattern[str], re.Pattern[str] | None, re.Pattern[str] | None, bool]


@cache
def _cn_eleven_digit_rules() -> _CnRules | None:
    """China's number types, as ``phonenumbers.number_type`` matches them, for an 11-digit
    national number: (the general pattern, one pattern for every type that is not fixed
    line, the fixed-line pattern, whether mobile and fixed line share theirs), read from
    phonenumbers' own tables; a type whose lengths leave out 11 is left out, as
    ``number_type`` skips it. A number's type then takes two matches instead of up to six
    (the fixed-line pattern, the longest, only when no other type matched). None, and the
    shortcut off, when a pattern could not be joined to others (a back reference)."""
    import phonenumbers

    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    if meta is None:
        return None

    def pattern(desc: Any) -> str | None:
        if desc is None or not desc.national_number_pattern:
            return None
        if desc.possible_length and 11 not in desc.possible_length:
            return None
        return str(desc.national_number_pattern)

    same = bool(meta.same_mobile_and_fixed_line_pattern)
    others = [pattern(getattr(meta, name)) for name in _CN_TYPE_DESCS.split()]
    if not same:
        others.append(pattern(meta.mobile))
    found = [p for p in others if p is not None]
    general, fixed = pattern(meta.general_desc), pattern(meta.fixed_line)
    if general is None or any(re.search(r"\\[1-9]|\(\?P=", p) for p in found):
        return None
    joined = re.compile("|".join(f"(?:{p})" for p in found)) if found else None
    return re.compile(general), joined, re.compile(fixed) if fixed else None, same


def _cn_eleven_digit_form(national: str, rules: _CnRules) -> str | None:
    """What :func:`_phone_normal_form` answers for a mainland mobile shape, by
    ``number_type``'s rules: not China's general pattern, no type: invalid; any type but
    fixed line (mobile too, when its pattern is its own): the number; fixed line only: with
    its trunk 0 (``tests/unit/domain/test_phone_shortcut.py`` compares it with
    phonenumbers over every five-digit prefix)."""
    general, others, fixed, same = rules
    if general.fullmatch(national) is None:
        return None
    if others is not None and others.fullmatch(national) is not None:
        return national
    if fixed is not None and fixed.fullmatch(national) is not None:
        return national if same else "0" + national
    return None


# ---------------------------------------------------------------- district


def validate_district(
    s: str,
    districts: Iterable[District | str] | None = None,
    *,
    field: str = "district",
) -> str:
    """Return the district's id. ``districts`` defaults to Shanghai's 16 (``hotline.districts``)."""
    return _district_id(s, as_districts(districts), field)


def _district_id(s: str, listed: tuple[District, ...], field: str = "district") -> str:
    """:func:`validate_district` of a list already read by ``as_districts``."""
    value = _nfkc(s)
    if not value:
        raise FieldError(field, "required")
    found = find_district(value, listed)
    if found is None:
        params = {
            "value": value,
            "choices_zh": [d.zh for d in listed],
            "choices_en": [d.en for d in listed],
        }
        raise FieldError(field, "district_unknown", params)
    return found.id


# ---------------------------------------------------------------- street, topic


def validate_street(
    s: str,
    district_id: str,
    districts: Iterable[District | str] | None = None,
    *,
    field: str = "street",
) -> str:
    """The street/town as recorded for ``district_id``; a district without a recorded list
    keeps the text as typed (``hotline.districts.STREETS``)."""
    value = _nfkc(s)
    if not value:
        raise FieldError(field, "required")
    known = streets_of(district_id)
    if not known:
        return value
    found = find_street(value, district_id)
    if found is None:
        listed = as_districts(districts)
        params = {
            "value": value,
            "district_zh": district_label(district_id, "zh", listed),
            "district_en": district_label(district_id, "en", listed),
            "choices": list(known),
        }
        raise FieldError(field, "street_unknown", params)
    return found


def validate_topic(s: str, *, field: str = "topic") -> str:
    """The topic's id (``hotline.topics``) for an id or a name."""
    value = _nfkc(s)
    found = find_topic(value)
    if found is None:
        params = {
            "value": value,
            "choices_zh": [t.zh for t in TOPICS],
            "choices_en": [t.en for t in TOPICS],
        }
        raise FieldError(field, "topic_unknown", params)
    return found.id


# ---------------------------------------------------------------- outcome rules


def outcome_problem(answer: Any, disposition: str) -> FieldError | None:
    """答复内容 is required when the call is answered on the spot (当场解答)."""
    if disposition == "on_spot" and _blank(answer):
        return FieldError("answer", "answer_required_on_spot")
    return None


def reply_problem(answer: Any) -> FieldError | None:
    """答复内容 is required before a ticket is marked replied (已答复)."""
    if _blank(answer):
        return FieldError("answer", "answer_required_replied")
    return None


# ---------------------------------------------------------------- whole ticket

DEFAULT_REQUIRED: tuple[str, ...] = ("phone", "account")

_ENUMS: dict[str, list[str]] = {
    "kind": [e.value for e in Kind],
    "urgency": [e.value for e in Urgency],
    "urgent_subcategory": [e.value for e in UrgentSubcategory],
    "channel": [e.value for e in Channel],
    "reply_method": [e.value for e in ReplyMethod],
    "privacy": [e.value for e in Privacy],
}


def max_lengths() -> dict[str, int]:
    """Hard length limits: ``TICKET_MAX_LENGTHS``, the table ``TicketFields`` declares its
    own from (one source of truth, read without building the model)."""
    return dict(TICKET_MAX_LENGTHS)


_MAX_LENGTHS = max_lengths()
_EDITABLE = frozenset(EDITABLE_FIELDS)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_ticket_fields(
    fields: Mapping[str, Any],
    *,
    districts: Iterable[District | str] | None = None,
    required: Sequence[str] = DEFAULT_REQUIRED,
    partial: bool = False,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate and normalize ticket fields; returns (cleaned values, every error found).

    ``partial=True`` is for updates: only the given fields are checked, and a required
    field is an error only when it is given and blank.
    """
    listed = as_districts(districts)
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    if fields.get("privacy") == Privacy.ANONYMOUS.value:  # 匿名: no phone to call back
        required = [name for name in required if name != "phone"]
    for name in required:
        if name not in fields:
            if not partial:
                errors.append(FieldError(name, "required"))
        elif _blank(fields[name]):
            errors.append(FieldError(name, "required"))
    for name, value in fields.items():
        if name not in _EDITABLE:
            errors.append(FieldError(name, "unknown_field"))
            continue
        if name == "extra":
            if not isinstance(value, Mapping):
                errors.append(FieldError(name, "not_text"))
            else:
                problem = extra_problem(value)
                if problem is not None:
                    errors.append(problem)
                else:
                    cleaned[name] = dict(value)
            continue
        if name == "reply_needed":
            if value is None or isinstance(value, bool):
                cleaned[name] = value
            else:
                errors.append(FieldError(name, "yes_no_invalid"))
            continue
        if _blank(value):
            if name in _ENUMS and name not in _nullable():  # kind, urgency, channel: never blank
                allowed = _ENUMS[name]
                errors.append(FieldError(name, "invalid_choice", {"value": "", "choices": allowed}))
                continue
            cleaned[name] = None if name in _nullable() else ""
            continue
        if name in _ENUMS:
            allowed = _ENUMS[name]
            if value not in allowed:
                errors.append(
                    FieldError(name, "invalid_choice", {"value": value, "choices": allowed})
                )
            else:
                cleaned[name] = value
            continue
        if not isinstance(value, str):
            errors.append(FieldError(name, "not_text"))
            continue
        text = value.strip()
        try:
            if name == "phone":
                text = validate_phone(text)
            elif name == "id_card":
                text = validate_id_card(text)
            elif name == "district":
                text = _district_id(text, listed)
            elif name == "caller_number":  # caller ID shows what the network sends
                text = validate_phone(text, field=name, allow_service=True)
            elif name == "topic":
                text = validate_topic(text, field=name)
        except FieldError as exc:
            errors.append(exc)
            continue
        limit = _MAX_LENGTHS.get(name)
        if limit is not None and len(text) > limit:
            errors.append(FieldError(name, "too_long", {"max": limit, "length": len(text)}))
            continue
        cleaned[name] = text
    street = cleaned.get("street")
    if street and not any(e.field in ("street", "district") for e in errors):
        district = cleaned.get("district")
        if isinstance(district, str) and district:
            try:
                cleaned["street"] = validate_street(street, district, listed)
            except FieldError as exc:
                errors.append(exc)
    return cleaned, errors


# ``extra`` holds a form's own answers (flat: one value per form field). Bounded so one
# ticket cannot carry megabytes or a structure too deep to store and show.
MAX_EXTRA_DEPTH = 8  # containers inside ``extra`` (a form's answers use none)
MAX_EXTRA_BYTES = 64 * 1024  # as compact UTF-8 JSON: sixteen full long answers in Chinese


def _too_deep(value: Any, path: str, depth: int) -> str | None:
    """The path of the first container nested more than MAX_EXTRA_DEPTH levels down."""
    if isinstance(value, Mapping):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    if depth > MAX_EXTRA_DEPTH:
        return path
    for key, item in items:
        found = _too_deep(item, f"{path}.{key}", depth + 1)
        if found is not None:
            return found
    return None


def extra_problem(extra: Mapping[str, Any]) -> FieldError | None:
    """What is wrong with ``extra`` as a whole: nested too deep (the error names the path,
    e.g. ``extra.a.b.c``) or too large; ``None`` when it is fine."""
    if not extra:
        return None  # nothing nested, two bytes
    import json

    for key, value in extra.items():
        deep = _too_deep(value, f"extra.{key}", 1)
        if deep is not None:
            return FieldError(deep, "extra_too_deep", {"max": MAX_EXTRA_DEPTH})
    try:
        size = len(json.dumps(extra, ensure_ascii=False, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        return FieldError("extra", "not_text")
    if size > MAX_EXTRA_BYTES:
        return FieldError("extra", "extra_too_large", {"max": MAX_EXTRA_BYTES, "size": size})
    return None


@cache
def _nullable() -> frozenset[str]:
    """The ticket fields whose empty value is None, read from ``TicketFields`` when first
    needed (the server's checks; the desk's form rules do not ask)."""
    from hotline.model import TicketFields

    return frozenset(
        name
        for name, info in TicketFields.model_fields.items()
        if info.default is None and name != "extra"
    )


def validate_ticket_fields(
    fields: Mapping[str, Any],
    *,
    districts: Iterable[District | str] | None = None,
    required: Sequence[str] = DEFAULT_REQUIRED,
    partial: bool = False,
) -> list[FieldError]:
    """Every error in ``fields`` (empty list: valid). Same rules on the desk and the server."""
    return clean_ticket_fields(fields, districts=districts, required=required, partial=partial)[1]


# 评价's three levels as people read them, in the order a dialog offers them.
SATISFACTION_LABELS: dict[Satisfaction, tuple[str, str]] = {
    Satisfaction.SATISFIED: ("满意", "satisfied"),
    Satisfaction.BASICALLY_SATISFIED: ("基本满意", "basically satisfied"),
    Satisfaction.DISSATISFIED: ("不满意", "dissatisfied"),
}


def validate_satisfaction(value: Any) -> Satisfaction:
    """The score an evaluation (评价) records: one of the three levels (a legacy 1-5 score is
    read as its level). Missing or anything else: a FieldError naming ``satisfaction``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError("satisfaction", "satisfaction_required")
    if isinstance(value, int) and not isinstance(value, bool) and value in LEGACY_SATISFACTION:
        return LEGACY_SATISFACTION[value]
    try:
        return Satisfaction(str(value).strip())
    except ValueError:
        pass
    raise FieldError(
        "satisfaction",
        "invalid_choice",
        {
            "value": str(value)[:40],
            "choices_zh": [zh for zh, _ in SATISFACTION_LABELS.values()],
            "choices_en": [en for _, en in SATISFACTION_LABELS.values()],
        },
    )
