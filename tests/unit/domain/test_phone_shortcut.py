"""A mainland mobile number is checked without ``phonenumbers.parse``: the answer must be the
one parsing gives, for every prefix the shortcut takes and the ones next to it."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from hotline import validators
from hotline.validators import FieldError, validate_phone


def parsed_answer(compact: str) -> str | None:
    """What the phone rule answered before the shortcut: parse, then validity and type."""
    try:
        number = phonenumbers.parse(compact, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    national = str(phonenumbers.national_significant_number(number))
    if number.country_code != 86:
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "0" + national
    return national


def answer(compact: str) -> str | None:
    try:
        return validate_phone(compact)
    except FieldError as exc:
        assert exc.field == "phone" and exc.code == "phone_invalid"
        return None


def test_every_four_digit_prefix_of_an_eleven_digit_number_answers_as_parsing_does() -> None:
    rng = random.Random(14)
    checked = taken = 0
    for prefix in range(1000, 2000):  # 1000..1999: the shortcut's shapes and the ones around
        for _ in range(12):
            compact = f"{prefix}{rng.randrange(10**7):07d}"
            taken += validators._mainland_mobile_shape(compact)
            assert answer(compact) == parsed_answer(compact), compact
            checked += 1
    assert checked == 12_000 and taken == 12 * 690  # 13xx-19xx (700) without 179x (10)


@pytest.mark.parametrize("text", ["13812345678", "１３８１２３４５６７８", "138-1234-5678",
                                  "+8613812345678", "008613812345678", "17912345678",
                                  "12593138123456", "11012345678", "02162345678"])  # fmt: skip
def test_typed_forms_of_a_number_answer_as_parsing_does(text: str) -> None:
    raw = validators._nfkc(text)
    compact = "".join(ch for ch in raw if ch not in validators._PHONE_SEPARATORS)
    compact = "+" + compact[2:] if compact.startswith("00") else compact
    assert answer(text) == parsed_answer(compact)


def typed_answer(compact: str) -> str | None:
    """What the rule answered for a mainland mobile shape before its type was matched from
    joined patterns: ``number_type`` of the number +86 ``compact``."""
    number = phonenumbers.PhoneNumber(country_code=86, national_number=int(compact))
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return None
    if kind == phonenumbers.PhoneNumberType.FIXED_LINE:
        return "0" + compact
    return compact


def test_every_five_digit_prefix_gets_the_type_number_type_gives() -> None:
    """The type of a mainland mobile shape, matched with China's patterns joined
    (``_cn_eleven_digit_form``), against ``phonenumbers.number_type``: every five-digit
    prefix 13000-19999 (the shapes the shortcut takes), each with its lowest and highest
    six-digit ending and a random one."""
    rules = validators._cn_eleven_digit_rules()
    assert rules is not None  # the shortcut is on for this phonenumbers
    rng = random.Random(14)
    checked = 0
    for prefix in range(13000, 20000):
        for ending in (0, 999_999, rng.randrange(10**6)):
            compact = f"{prefix}{ending:06d}"
            if not validators._mainland_mobile_shape(compact):
                continue
            assert validators._cn_eleven_digit_form(compact, rules) == typed_answer(compact), (
                compact
            )
            checked += 1
    assert checked == 3 * 6900  # 13000-19999 without 179xx
