"""Forms: every shipped form loads; hidden fields are ignored; red rules; broken files named."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.forms import (
    FormDef,
    FormError,
    form_set_version,
    forms_as_json,
    is_red,
    load_forms,
    parse_form,
    parse_forms,
    to_ticket_fields,
    validate_values,
    visible_fields,
)
from hotline.model import Kind, Urgency, UrgentSubcategory
from hotline.resources import shipped_dir
from hotline.validators import FieldError

# No wall-clock limits in tests (a busy CI machine must not fail them).
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

SHIPPED = load_forms()
MEDICAL = SHIPPED["urgent_medical"]
GENERAL = SHIPPED["general"]
SUBCATEGORIES = [s.value for s in UrgentSubcategory]


def medical_answers(**over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "urgent_subcategory": "dialysis",
        "caller_name": "刘女士",
        "phone": "13812345678",
        "address": "浦东新区苗圃路 1 号",
        "district": "浦东",
        "account": "家人每周需血透三次，已 4 天未做",
    }
    values.update(over)
    return values


def test_every_shipped_form_loads_with_both_languages() -> None:
    files = sorted(shipped_dir("forms").glob("*.toml"))
    assert len(files) == len(SHIPPED) >= 2
    for form in SHIPPED.values():
        assert form.title.zh and form.title.en
        for f in form.fields:
            assert f.label.zh and f.label.en


def test_general_form_offers_the_six_kinds() -> None:
    kind = GENERAL.field("kind")
    assert kind.choice_values() == [k.value for k in Kind]
    assert [c.zh for c in kind.choices] == ["咨询", "求助", "投诉", "举报", "建议", "表扬"]
    ids = {f.id for f in GENERAL.fields}
    assert {"caller_name", "phone", "id_card", "address", "district", "community"} <= ids
    assert {"account", "answer", "handling_unit", "promise"} <= ids
    assert GENERAL.field("id_card").required is False


def test_medical_form_has_the_six_subcategories_all_red() -> None:
    sub = MEDICAL.field("urgent_subcategory")
    assert sub.choice_values() == SUBCATEGORIES
    for value in SUBCATEGORIES:
        assert is_red(MEDICAL, medical_answers(urgent_subcategory=value))


def test_bite_time_is_shown_only_for_rabies_vaccine() -> None:
    shown = {f.id for f in visible_fields(MEDICAL, medical_answers())}
    assert "bite_time" not in shown
    assert "last_dialysis" in shown
    rabies = {
        f.id for f in visible_fields(MEDICAL, medical_answers(urgent_subcategory="rabies_vaccine"))
    }
    assert "bite_time" in rabies
    assert "last_dialysis" not in rabies


def test_hidden_required_field_is_not_validated_and_not_stored() -> None:
    values = medical_answers(bite_time="not a time at all")
    assert validate_values(MEDICAL, values) == []
    fields = to_ticket_fields(MEDICAL, values)
    assert "bite_time" not in fields.extra


def test_shown_required_field_is_validated() -> None:
    errors = validate_values(MEDICAL, medical_answers(urgent_subcategory="rabies_vaccine"))
    assert [(e.field, e.code) for e in errors] == [("bite_time", "required")]
    assert errors[0].message("zh") == "咬伤/抓伤时间为必填项"
    assert errors[0].message("en") == "Time of the bite or scratch: required"
    bad = validate_values(
        MEDICAL, medical_answers(urgent_subcategory="rabies_vaccine", bite_time="昨天")
    )
    assert [(e.field, e.code) for e in bad] == [("bite_time", "datetime_invalid")]


def test_errors_use_the_form_label_and_reuse_the_validators() -> None:
    errors = validate_values(MEDICAL, medical_answers(id_card="110105194912310021", phone="123"))
    by_field = {e.field: e for e in errors}
    assert by_field["id_card"].code == "id_card_check_digit"
    assert by_field["id_card"].message("zh").startswith("患者身份证号校验位应为 X")
    assert by_field["phone"].code == "phone_service_number"


def test_to_ticket_fields_maps_and_keeps_the_rest_in_extra() -> None:
    values = medical_answers(
        urgent_subcategory="rabies_vaccine",
        bite_time="2022-03-20 08:00",
        vaccine_dose="3",
        patient_name="葛小弟",
        phone="+86 138 1234 5678",
    )
    fields = to_ticket_fields(MEDICAL, values)
    assert fields.urgency == Urgency.RED
    assert fields.category == "urgent_medical"
    assert fields.kind == Kind.HELP
    assert fields.urgent_subcategory == UrgentSubcategory.RABIES_VACCINE
    assert fields.phone == "13812345678"
    assert fields.district == "pudong"
    assert fields.extra == {
        "bite_time": "2022-03-20T08:00+08:00",
        "vaccine_dose": "3",
        "patient_name": "葛小弟",
    }


def test_general_form_is_red_only_when_marked_urgent() -> None:
    base = {"kind": "help", "phone": "13812345678", "account": "咨询核酸检测点"}
    assert not is_red(GENERAL, base)
    assert to_ticket_fields(GENERAL, base).urgency == Urgency.NORMAL
    assert is_red(GENERAL, {**base, "urgent": True})
    assert is_red(GENERAL, {**base, "urgent": "是"})
    assert to_ticket_fields(GENERAL, {**base, "urgent": "yes"}).urgency == Urgency.RED
    assert to_ticket_fields(GENERAL, {**base, "urgent": "yes"}).extra == {"urgent": True}


def test_invalid_answers_raise_from_to_ticket_fields() -> None:
    with pytest.raises(ValueError) as err:
        to_ticket_fields(GENERAL, {"kind": "help", "phone": "", "account": "x"})
    assert getattr(err.value, "field", None) == "phone"


def test_form_set_version_is_stable_and_follows_content() -> None:
    again = load_forms()
    assert form_set_version(again) == form_set_version(SHIPPED)
    assert parse_forms(forms_as_json(SHIPPED)) == SHIPPED
    changed = dict(SHIPPED)
    changed["general"] = replace(GENERAL, version=GENERAL.version + 1)
    assert form_set_version(changed) != form_set_version(SHIPPED)


def test_server_serves_the_same_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline_server.live import forms as live_forms

    served = live_forms.shipped()
    assert served.version == form_set_version(SHIPPED)
    assert set(served.forms) == set(SHIPPED)
    live_forms.validate(served.forms)


@PROPERTY
@given(
    st.sampled_from(SUBCATEGORIES),
    st.dictionaries(
        st.sampled_from(["bite_time", "vaccine_dose", "last_dialysis", "gestation_weeks"]),
        st.text(max_size=12),
    ),
)
def test_hidden_fields_never_affect_the_outcome(sub: str, junk: dict[str, str]) -> None:
    values = medical_answers(urgent_subcategory=sub)
    visible = {f.id for f in visible_fields(MEDICAL, values)}
    hidden_junk = {k: v for k, v in junk.items() if k not in visible}
    assert validate_values(MEDICAL, {**values, **hidden_junk}) == validate_values(MEDICAL, values)
    assert is_red(MEDICAL, {**values, **hidden_junk}) == is_red(MEDICAL, values)


# ---------------------------------------------------------------- broken definitions

GOOD = """
id = "t"
title = { zh = "测试", en = "Test" }
[[fields]]
id = "sub"
type = "choice"
label = { zh = "类", en = "Kind" }
choices = [{ value = "a", zh = "甲", en = "A" }]
"""


def write(tmp_path: Path, text: str, name: str = "t.toml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (
            '[[fields]]\nid = "when"\ntype = "datetime"\nlabel = { zh = "时", en = "When" }\n'
            'show_if = { field = "nope", values = ["a"] }\n',
            "field 'when': show_if.field 'nope' is not another field",
        ),
        (
            '[[fields]]\nid = "x"\ntype = "colour"\nlabel = { zh = "色", en = "Colour" }\n',
            "fields[1] (x).type",
        ),
        (
            '[[fields]]\nid = "x"\ntype = "text"\nlabel = { zh = "文", en = "Text" }\n'
            'maps_to = "shoe_size"\n',
            "maps_to 'shoe_size' is not a ticket field",
        ),
        (
            '[[fields]]\nid = "x"\ntype = "choice"\nlabel = { zh = "选", en = "Pick" }\n'
            'choices = [{ value = "b", zh = "乙", en = "B" }]\nred_if = ["c"]\n',
            "red_if value 'c' is not one of the choices",
        ),
        (
            '[[fields]]\nid = "sub"\ntype = "text"\nlabel = { zh = "文", en = "Text" }\n',
            "field id 'sub' is used twice",
        ),
    ],
)
def test_broken_form_names_the_file_and_field(tmp_path: Path, extra: str, needle: str) -> None:
    folder = write(tmp_path, GOOD + extra)
    with pytest.raises(FormError) as err:
        load_forms(folder)
    assert str(tmp_path / "t.toml") in str(err.value)
    assert needle in str(err.value)


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD + "\n[[fields]\n")
    with pytest.raises(FormError, match=r"t\.toml: not valid TOML"):
        load_forms(folder)


def test_show_if_cycle_is_refused(tmp_path: Path) -> None:
    text = """
id = "c"
title = { zh = "环", en = "Cycle" }
[[fields]]
id = "a"
type = "yes_no"
label = { zh = "甲", en = "A" }
show_if = { field = "b", values = [true] }
[[fields]]
id = "b"
type = "yes_no"
label = { zh = "乙", en = "B" }
show_if = { field = "a", values = [true] }
"""
    with pytest.raises(FormError, match="circle"):
        load_forms(write(tmp_path, text))


def test_duplicate_form_ids_name_both_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "one.toml")
    write(tmp_path, GOOD, "two.toml")
    with pytest.raises(FormError) as err:
        load_forms(tmp_path)
    assert "one.toml" in str(err.value) and "two.toml" in str(err.value)


def test_server_side_parse_refuses_a_mismatched_key() -> None:
    data = forms_as_json(SHIPPED)
    data["other"] = data.pop("general")
    with pytest.raises(FormError, match="key must be the id"):
        parse_forms(data)


def test_a_form_is_plain_data() -> None:
    assert isinstance(MEDICAL, FormDef)
    dumped = json.loads(json.dumps(MEDICAL.as_json()))
    assert parse_form(dumped) == MEDICAL


answer_values = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.booleans(),
    st.integers(),
    st.sampled_from(["13812345678", "浦东", "2022-03-20 08:00", *SUBCATEGORIES]),
)


@PROPERTY
@given(
    st.sampled_from(sorted(SHIPPED)),
    st.dictionaries(
        st.sampled_from(sorted({f.id for form in SHIPPED.values() for f in form.fields})),
        answer_values,
    ),
)
def test_any_answers_give_field_errors_or_a_ticket(form_id: str, values: dict[str, Any]) -> None:
    form = SHIPPED[form_id]
    errors = validate_values(form, values)
    shown = {f.id for f in visible_fields(form, values)}
    assert {e.field for e in errors} <= shown
    if errors:
        with pytest.raises(ValueError):
            to_ticket_fields(form, values)
    else:
        fields = to_ticket_fields(form, values)
        assert (fields.urgency == Urgency.RED) == is_red(form, values)


def test_a_value_the_form_fixes_that_a_ticket_cannot_take_is_a_field_named_refusal() -> None:
    """The desk reads forms without ``check_ticket_values`` (its first frame has no pydantic),
    so a set written to the server's database by hand can reach a save with a ``[ticket]``
    value ``TicketFields`` refuses. The save must name the field, not raise pydantic's error
    (the intake screen shows a ``FieldError`` and keeps the draft; anything else would be a
    traceback)."""
    raw = json.loads(json.dumps(forms_as_json({"general": GENERAL})["general"]))
    raw["ticket"] = {**raw.get("ticket", {}), "category": "c" * 41}  # TicketFields: <= 40
    with pytest.raises(FormError, match="category"):
        parse_form(raw)
    form = parse_form(raw, ticket_values=False)
    answers = {"kind": "help", "phone": "13812345678", "account": "咨询核酸检测点"}
    with pytest.raises(FieldError) as caught:
        to_ticket_fields(form, answers)
    assert caught.value.field == "category"
    assert caught.value.code == "form_value_invalid"
    assert "c" * 41 in caught.value.message("zh") and "分类" in caught.value.message("zh")
    assert "draft is kept" in caught.value.message("en")
