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
