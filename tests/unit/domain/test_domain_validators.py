"""Validators: what an agent types is accepted or refused with a message naming the fault."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.districts import SHANGHAI_DISTRICTS, District
from hotline.model import EDITABLE_FIELDS, TicketFields
from hotline.validators import (
    FieldError,
    clean_ticket_fields,
    id_card_check_char,
    validate_district,
    validate_id_card,
    validate_phone,
    validate_ticket_fields,
)

# No wall-clock limits in tests (a busy CI machine must not fail them).
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- ID card

# The sample number printed in GB 11643 itself, and one computed by hand for Pudong.
FAMOUS_VALID = ["11010519491231002X", "310115198003150012"]


@pytest.mark.parametrize("number", FAMOUS_VALID)
def test_known_valid_id_cards_are_accepted(number: str) -> None:
    assert validate_id_card(number) == number


def test_lower_case_x_and_full_width_digits_are_normalized() -> None:
    assert validate_id_card("11010519491231002x") == "11010519491231002X"
    assert validate_id_card("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"
    assert validate_id_card(" 110105 19491231 002X ") == "11010519491231002X"


def test_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(FieldError) as err:
        validate_id_card("110105194912310021")
    assert err.value.field == "id_card"
    assert err.value.code == "id_card_check_digit"
    assert err.value.params == {"expected": "X", "actual": "1"}
    assert "身份证号校验位应为 X" in err.value.message("zh")
    assert "ID-card number: check digit should be X" in err.value.message("en")


@pytest.mark.parametrize(
    ("number", "code", "zh_part"),
    [
        ("11010519491231002", "id_card_length", "应为 18 位（现为 17 位）"),
        ("1101051949123100A2", "id_card_chars", "第 17 位“A”"),
        ("X10105194912310021", "id_card_chars", "第 1 位“X”"),
        ("00010519491231002X", "id_card_region", "“00”"),
        ("110105194902300020", "id_card_birth_date", "1949-02-30"),
        ("110105188001010014", "id_card_birth_date", "1880-01-01"),
    ],
)
def test_each_fault_has_its_own_message(number: str, code: str, zh_part: str) -> None:
    with pytest.raises(FieldError) as err:
        validate_id_card(number)
    assert err.value.code == code
    assert zh_part in err.value.message("zh")
    assert err.value.message("en").startswith("ID-card number:")


def test_birth_date_in_the_future_is_refused() -> None:
    born = date(2031, 5, 6)
    first17 = "310115" + born.strftime("%Y%m%d") + "123"
    number = first17 + id_card_check_char(first17)
    with pytest.raises(FieldError) as err:
        validate_id_card(number, today=date(2030, 1, 1))
    assert err.value.code == "id_card_birth_future"
    assert validate_id_card(number, today=born) == number


@st.composite
def valid_id_cards(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["11", "31", "44", "65", "81", "83"]))
    area = draw(st.from_regex(r"\A[0-9]{4}\Z"))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    seq = draw(st.from_regex(r"\A[0-9]{3}\Z"))
    first17 = region + area + born.strftime("%Y%m%d") + seq
    return first17 + id_card_check_char(first17)


@PROPERTY
@given(valid_id_cards())
def test_generated_valid_numbers_are_accepted(number: str) -> None:
    assert validate_id_card(number, today=date(2025, 1, 1)) == number


@PROPERTY
@given(valid_id_cards(), st.integers(0, 17), st.integers(1, 9))
def test_any_single_digit_change_is_refused(number: str, pos: int, delta: int) -> None:
    """GB 11643 catches every single-character substitution (mod 11 with these weights)."""
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    old = number[pos]
    new = alphabet[(alphabet.index(old) + delta) % len(alphabet)]
    changed = number[:pos] + new + number[pos + 1 :]
    with pytest.raises(FieldError) as err:
        validate_id_card(changed, today=date(2025, 1, 1))
    assert err.value.field == "id_card"
    assert err.value.code.startswith("id_card_")


@PROPERTY
@given(st.text(max_size=25))
def test_arbitrary_text_gives_a_field_error_never_a_crash(text: str) -> None:
    try:
        out = validate_id_card(text)
    except FieldError as exc:
        assert exc.message("zh")
        assert exc.message("en")
    else:
        assert len(out) == 18


# ---------------------------------------------------------------- phone


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("021-62345678", "02162345678"),
        ("(021) 6234 5678", "02162345678"),
        ("0571-87654321", "057187654321"),
        ("010 12345678", "01012345678"),
        ("４００８２０８８２０", "4008208820"),
        ("+852 9123 4567", "+85291234567"),
    ],
)
def test_phones_are_normalized_to_caller_id_digits(typed: str, normal: str) -> None:
    assert validate_phone(typed) == normal


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("62345678", "phone_area_code"),
        ("12345", "phone_service_number"),
        ("110", "phone_service_number"),
        ("95588", "phone_service_number"),
        ("1381234567", "phone_invalid"),
        ("23812345678", "phone_invalid"),
        ("138一二三45678", "phone_invalid"),
        ("abc", "phone_invalid"),
    ],
)
def test_bad_phones_say_what_is_wrong(typed: str, code: str) -> None:
    with pytest.raises(FieldError) as err:
        validate_phone(typed)
    assert err.value.code == code
    assert err.value.field == "phone"
    assert err.value.message("zh").startswith("联系电话")


def test_service_numbers_can_be_allowed_explicitly() -> None:
    assert validate_phone("12345", allow_service=True) == "12345"


def test_landline_without_area_code_message_suggests_one() -> None:
    with pytest.raises(FieldError) as err:
        validate_phone("62345678")
    assert "021-62345678" in err.value.message("zh")


@PROPERTY
@given(st.sampled_from(["130", "138", "150", "186", "199"]), st.from_regex(r"\A[0-9]{8}\Z"))
def test_generated_mobiles_round_trip(prefix: str, rest: str) -> None:
    number = prefix + rest
    assert validate_phone(number) == number
    assert validate_phone(f"+86 {prefix} {rest[:4]} {rest[4:]}") == number


@PROPERTY
@given(st.text(max_size=30))
def test_any_phone_text_gives_field_error_or_digits(text: str) -> None:
    try:
        out = validate_phone(text)
    except FieldError as exc:
        assert exc.field == "phone"
    else:
        assert out.lstrip("+").isdigit()
        assert validate_phone(out) == out  # normal form is a fixed point


# ---------------------------------------------------------------- district


@pytest.mark.parametrize(
    ("typed", "district_id"),
    [
        ("浦东新区", "pudong"),
        ("浦东", "pudong"),
        ("Pudong New Area", "pudong"),
        ("pudong", "pudong"),
        ("310115", "pudong"),
        ("徐汇区", "xuhui"),
        ("Jing'an", "jingan"),
        ("jing an", "jingan"),
        ("崇明", "chongming"),
    ],
)
def test_districts_by_any_spelling(typed: str, district_id: str) -> None:
    assert validate_district(typed) == district_id


def test_shanghai_has_sixteen_districts() -> None:
    assert len(SHANGHAI_DISTRICTS) == 16
    assert len({d.id for d in SHANGHAI_DISTRICTS}) == 16
    for d in SHANGHAI_DISTRICTS:
        assert validate_district(d.zh) == d.id
        assert validate_district(d.en) == d.id


def test_unknown_district_lists_the_choices_in_the_readers_language() -> None:
    with pytest.raises(FieldError) as err:
        validate_district("朝阳区")
    assert err.value.code == "district_unknown"
    assert "浦东新区" in err.value.message("zh")
    assert "Pudong New Area" in err.value.message("en")
    assert "浦东新区" not in err.value.message("en")


def test_configured_district_list() -> None:
    fuzhou = [District("gulou", "鼓楼区", "Gulou"), "台江区"]
    assert validate_district("鼓楼", fuzhou) == "gulou"
    assert validate_district("台江区", fuzhou) == "台江区"
    with pytest.raises(FieldError):
        validate_district("浦东", fuzhou)


# ---------------------------------------------------------------- whole ticket


def test_ticket_fields_are_cleaned_and_normalized() -> None:
    cleaned, errors = clean_ticket_fields(
        {
            "caller_name": " 刘女士 ",
            "phone": "138 1234 5678",
            "district": "徐汇",
            "account": "家人每周三次血透，被封控在家",
            "kind": "help",
            "id_card": "",
        }
    )
    assert errors == []
    assert cleaned["phone"] == "13812345678"
    assert cleaned["district"] == "xuhui"
    assert cleaned["caller_name"] == "刘女士"
    assert cleaned["id_card"] is None


def test_every_problem_is_reported_once_with_its_field() -> None:
    errors = validate_ticket_fields(
        {
            "phone": "",
            "caller_name": "名" * 51,
            "kind": "rumour",
            "id_card": "110105194912310021",
            "colour": "red",
        }
    )
    found = {(e.field, e.code) for e in errors}
    assert found == {
        ("phone", "required"),
        ("account", "required"),
        ("caller_name", "too_long"),
        ("kind", "invalid_choice"),
        ("id_card", "id_card_check_digit"),
        ("colour", "unknown_field"),
    }
    too_long = next(e for e in errors if e.code == "too_long")
    assert too_long.message("zh") == "来电人姓名最多 50 个字符（现有 51 个）"
    assert too_long.message("en") == "Caller name: at most 50 characters (now 51)"


def test_partial_update_checks_only_given_fields() -> None:
    assert validate_ticket_fields({"promise": "明日上午回电"}, partial=True) == []
    errors = validate_ticket_fields({"account": "  "}, partial=True)
    assert [(e.field, e.code) for e in errors] == [("account", "required")]


def test_required_list_is_configurable() -> None:
    errors = validate_ticket_fields({"phone": "13812345678"}, required=("phone", "district"))
    assert [(e.field, e.code) for e in errors] == [("district", "required")]


def test_field_error_becomes_a_protocol_field_problem() -> None:
    err = FieldError("phone", "required")
    problem = err.as_problem("en")
    assert problem.field == "phone"
    assert problem.message == "Phone: required"
    assert str(err) == "Phone: required"
    assert isinstance(err, ValueError)


def test_baby_born_today_is_not_refused_in_any_time_zone() -> None:
    born = datetime.now(UTC).date() + timedelta(days=1)
    first17 = "310101" + born.strftime("%Y%m%d") + "001"
    validate_id_card(first17 + id_card_check_char(first17))


def test_blank_kind_is_refused_but_blank_optional_text_is_cleared() -> None:
    cleaned, errors = clean_ticket_fields(
        {"phone": "13812345678", "account": "x", "kind": "", "community": " "}
    )
    assert [(e.field, e.code) for e in errors] == [("kind", "invalid_choice")]
    assert cleaned["community"] is None


def test_stored_district_id_is_shown_by_label() -> None:
    from hotline.districts import district_label

    assert district_label("pudong") == "浦东新区"
    assert district_label("pudong", "en") == "Pudong New Area"
    assert district_label("某区") == "某区"
    assert district_label(None) == ""


junk_values = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.integers(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from([*EDITABLE_FIELDS, "bogus", ""]), junk_values, max_size=len(EDITABLE_FIELDS)
    ),
    st.booleans(),
)
def test_any_input_gives_field_errors_never_a_crash(fields: dict[str, Any], partial: bool) -> None:
    cleaned, errors = clean_ticket_fields(fields, partial=partial)
    for err in errors:
        assert err.field in fields or err.field in ("phone", "account")
        assert err.message("zh") and err.message("en")
    if not errors and not partial:
        TicketFields.model_validate(cleaned)  # what passed is storable


def test_a_ticket_s_district_is_read_against_the_configured_list() -> None:
    """``clean_ticket_fields`` reads the list once and checks the district against it (the
    same answer and refusal as ``validate_district`` with that list)."""
    configured = ["东区", "西区"]
    cleaned, problems = clean_ticket_fields({"district": " 西区 "}, districts=configured,
                                            partial=True)  # fmt: skip
    assert not problems and cleaned["district"] == validate_district("西区", configured)
    _, problems = clean_ticket_fields({"district": "徐汇区"}, districts=configured, partial=True)
    with pytest.raises(FieldError) as alone:
        validate_district("徐汇区", configured)
    assert problems == [alone.value] and problems[0].params == alone.value.params
    assert problems[0].params["choices_zh"] == configured
    cleaned, problems = clean_ticket_fields({"district": "徐汇"}, partial=True)  # the default 16
    assert not problems and cleaned["district"] == "xuhui"
