"""The phone rule remembers what phonenumbers made of a number (``_phone_normal_form``, a
bounded memo): a remembered answer must be the one checking it afresh gives, and an error
built from it must still name the field and the text of the call at hand."""

from __future__ import annotations

import random

import pytest

from hotline import validators
from hotline.validators import FieldError, clean_ticket_fields, validate_phone

fresh = validators._phone_normal_form.__wrapped__  # the same rule without the memo

EDGES = [
    "13812345678", "17912345678", "19912345678", "14012345678", "1381234567", "138123456789",
    "02162345678", "0216234567", "01012345678", "4008123456", "8008123456", "057112345678",
    "+8613812345678", "+86 13812345678".replace(" ", ""), "+85291234567", "+85212345",
    "+14155552671", "+1415555267", "+442079460958", "+999123456789", "+", "+0", "0", "00",
    "12593138123456", "11012345678", "96012345", "1", "123", "99999999999",
]  # fmt: skip


@pytest.fixture(autouse=True)
def empty_memo() -> None:
    validators._phone_normal_form.cache_clear()


def test_remembered_answers_are_the_ones_a_fresh_check_gives() -> None:
    rng = random.Random(14)
    numbers = EDGES + [f"1{rng.randrange(10**10):010d}" for _ in range(400)]
    numbers += [f"0{rng.randrange(10**10):010d}" for _ in range(200)]
    for compact in numbers:
        first = validators._phone_normal_form(compact)  # computed, then remembered
        again = validators._phone_normal_form(compact)  # from the memo
        assert first == again == fresh(compact), compact
    info = validators._phone_normal_form.cache_info()
    assert info.hits >= len(set(numbers)) and info.currsize == len(set(numbers))


@pytest.mark.parametrize("typed", ["138 1234 5678", "+86 138-1234-5678", "021 6234 5678",
                                   "1381234567", "+852 1234 5", "17912345678"])  # fmt: skip
def test_validate_phone_answers_the_same_with_the_memo_full(typed: str) -> None:
    def outcome() -> tuple[str, str | None, dict[str, object]]:
        try:
            return validate_phone(typed), None, {}
        except FieldError as exc:
            return exc.field, exc.code, exc.params

    cold = outcome()
    warm = outcome()
    validators._phone_normal_form.cache_clear()
    assert cold == warm == outcome()


def test_an_error_from_a_remembered_number_names_this_call_s_field_and_text() -> None:
    with pytest.raises(FieldError) as first:
        validate_phone("138-1234-567")
    with pytest.raises(FieldError) as second:
        validate_phone("138 1234 567", field="caller_number", allow_service=True)
    assert validators._phone_normal_form.cache_info().hits == 1  # the second came from memory
    assert (first.value.field, first.value.code) == ("phone", "phone_invalid")
    assert first.value.params == {"value": "138-1234-567"}
    assert (second.value.field, second.value.code) == ("caller_number", "phone_invalid")
    assert second.value.params == {"value": "138 1234 567"}
    assert second.value.message("zh") == "来电号码“138 1234 567”不是有效的手机或固定电话号码"


def test_service_numbers_and_area_codes_are_refused_before_the_memo() -> None:
    for text, code, kw in [("12345", "phone_service_number", {}),
                           ("62345678", "phone_area_code", {"allow_service": True})]:  # fmt: skip
        with pytest.raises(FieldError) as err:
            validate_phone(text, **kw)  # type: ignore[arg-type]
        assert err.value.code == code
    assert validate_phone("12345", allow_service=True) == "12345"
    assert validators._phone_normal_form.cache_info().currsize == 0


def test_a_ticket_s_phone_and_caller_id_are_matched_once() -> None:
    cleaned, problems = clean_ticket_fields(
        {"phone": "138 1234 5678", "caller_number": "13812345678", "account": "停水"}
    )
    assert not problems
    assert cleaned["phone"] == cleaned["caller_number"] == "13812345678"
    info = validators._phone_normal_form.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_the_memo_is_bounded() -> None:
    size = validators.PHONE_MEMO_SIZE
    for i in range(size + 50):
        validators._phone_normal_form(f"138{i:08d}")
    info = validators._phone_normal_form.cache_info()
    assert info.maxsize == size and info.currsize == size
    assert validators._phone_normal_form("13800000000") == "13800000000"  # evicted: again
    assert validators._phone_normal_form.cache_info().misses == size + 51


def test_warming_the_phone_rules_remembers_no_number() -> None:
    """The server warms the phone rules before it serves: the tables and China's joined
    patterns are ready after it, and the memo holds nothing (no number was checked)."""
    import sys

    validators.warm_phone_rules()
    assert "phonenumbers" in sys.modules
    assert validators._cn_eleven_digit_rules.cache_info().currsize == 1
    assert validators._phone_normal_form.cache_info().currsize == 0
