"""The form definitions' reading, compared with the pydantic models it replaced.

``hotline.forms`` reads a definition with plain code (the desk does it before its first frame,
without pydantic). ``form_readings_pydantic.json`` is what the pydantic models of
``hotline.forms`` at 5291781 gave for each definition below, through the same
``parse_form(raw, "S")``: the refusal message (which names the setting and the field), or the
form as JSON. The plain reading must give the same, refusal for refusal.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hotline.forms import (
    FormError,
    check_ticket_values,
    load_shipped_forms,
    parse_form,
    warm_ticket_rules,
)
from hotline.model import EDITABLE_FIELDS, TICKET_MAX_LENGTHS

PYDANTIC = json.loads((Path(__file__).with_name("form_readings_pydantic.json")).read_text("utf-8"))

F = {"id": "x", "type": "text", "label": {"zh": "文", "en": "Text"}}
C = {
    "id": "c",
    "type": "choice",
    "label": {"zh": "选", "en": "Pick"},
    "choices": [{"value": "a", "zh": "甲", "en": "A"}],
}
Y = {"id": "y", "type": "yes_no", "label": {"zh": "是", "en": "Yes"}}
BASE = {"id": "t", "title": {"zh": "测", "en": "T"}, "fields": [F, C, Y]}


def form(**over: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d.update(over)
    return d


def field(i: int, **over: Any) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d["fields"][i] = {**d["fields"][i], **over}
    return d


def drop(key: str) -> dict[str, Any]:
    d = copy.deepcopy(BASE)
    d.pop(key)
    return d


CASES: dict[str, Any] = {
    "form_extra_key": form(colour="red"),
    "form_no_title": drop("title"),
    "form_no_fields": drop("fields"),
    "form_no_id": drop("id"),
    "form_bad_id": form(id="Bad"),
    "form_id_not_text": form(id=7),
    "form_id_too_long": form(id="a" * 41),
    "form_version_zero": form(version=0),
    "form_version_fraction": form(version=1.5),
    "form_version_word": form(version="one"),
    "form_order_none": form(order=None),
    "form_title_not_table": form(title="T"),
    "form_title_empty_zh": form(title={"zh": "", "en": "T"}),
    "form_title_no_en": form(title={"zh": "测"}),
    "form_title_extra": form(title={"zh": "测", "en": "T", "fr": "T"}),
    "form_title_too_long": form(title={"zh": "测", "en": "T" * 201}),
    "form_description_not_table": form(description=3),
    "form_fields_empty": form(fields=[]),
    "form_fields_not_list": form(fields="x"),
    "form_field_not_table": form(fields=["x"]),
    "form_ticket_not_table": form(ticket=["a"]),
    "form_ticket_value_not_text": form(ticket={"category": 3}),
    "form_ticket_unknown_key": form(ticket={"shoe_size": "9"}),
    "form_ticket_extra_key": form(ticket={"extra": "x"}),
    "form_ticket_category_too_long": form(ticket={"category": "x" * 41}),
    "form_ticket_bad_kind": form(ticket={"kind": "nope"}),
    "form_ticket_bad_urgency": form(ticket={"urgency": "amber"}),
    "field_extra_key": field(0, colour="red"),
    "field_no_label": {**BASE, "fields": [{"id": "x", "type": "text"}]},
    "field_no_type": {**BASE, "fields": [{"id": "x", "label": {"zh": "a", "en": "b"}}]},
    "field_bad_type": field(0, type="colour"),
    "field_type_not_text": field(0, type=3),
    "field_bad_id": field(0, id="X-1"),
    "field_required_word": field(0, required="maybe"),
    "field_required_two": field(0, required=2),
    "field_max_length_zero": field(0, max_length=0),
    "field_max_length_big": field(0, max_length=4001),
    "field_max_length_word": field(0, max_length="long"),
    "field_max_length_on_choice": field(1, max_length=10),
    "field_max_length_over_ticket": field(0, maps_to="phone", max_length=30),
    "field_label_not_table": field(0, label=None),
    "field_help_not_table": field(0, help="x"),
    "field_choice_without_choices": field(1, choices=[]),
    "field_choices_repeat": field(
        1, choices=[{"value": "a", "zh": "甲", "en": "A"}, {"value": "a", "zh": "乙", "en": "B"}]
    ),
    "field_choices_on_text": field(0, choices=[{"value": "a", "zh": "甲", "en": "A"}]),
    "field_choice_no_value": field(1, choices=[{"zh": "甲", "en": "A"}]),
    "field_choice_value_too_long": field(1, choices=[{"value": "v" * 61, "zh": "甲", "en": "A"}]),
    "field_choice_extra": field(1, choices=[{"value": "a", "zh": "甲", "en": "A", "x": 1}]),
    "field_choices_not_list": field(1, choices="a"),
    "field_maps_to_unknown": field(0, maps_to="shoe_size"),
    "field_maps_to_extra": field(0, maps_to="extra"),
    "field_maps_to_not_text": field(0, maps_to=3),
    "field_red_if_not_list": field(0, red_if="a"),
    "field_red_if_not_a_choice": field(1, red_if=["b"]),
    "field_red_if_text_on_yes_no": field(2, red_if=["yes"]),
    "field_red_if_bool_on_text": field(0, red_if=[True]),
    "field_red_if_item_bad": field(0, red_if=[3]),
    "field_red_if_item_none": field(0, red_if=[None]),
    "field_default_number": field(0, default=3),
    "field_default_one": field(0, default=1),
    "field_default_not_a_choice": field(1, default="z"),
    "field_show_if_unknown": field(0, show_if={"field": "nope", "values": ["a"]}),
    "field_show_if_self": field(0, show_if={"field": "x", "values": ["a"]}),
    "field_show_if_no_values": field(0, show_if={"field": "c", "values": []}),
    "field_show_if_values_not_list": field(0, show_if={"field": "c", "values": "a"}),
    "field_show_if_no_field": field(0, show_if={"values": ["a"]}),
    "field_show_if_extra": field(0, show_if={"field": "c", "values": ["a"], "x": 1}),
    "field_show_if_not_a_choice": field(0, show_if={"field": "c", "values": ["b"]}),
    "field_show_if_text_for_yes_no": field(0, show_if={"field": "y", "values": ["yes"]}),
    "field_show_if_not_table": field(0, show_if="c"),
    "field_optional_if_unknown": field(0, optional_if={"field": "nope", "values": [True]}),
    "field_optional_if_bool_for_choice": field(0, optional_if={"field": "c", "values": [True]}),
    "field_twice": form(fields=[F, F]),
    "fields_map_twice": form(
        fields=[{**F, "maps_to": "address"}, {**F, "id": "z", "maps_to": "address"}]
    ),
    "field_maps_to_fixed": form(
        fields=[{**F, "maps_to": "category"}], ticket={"category": "water"}
    ),
    "show_if_circle": form(
        fields=[
            {**Y, "show_if": {"field": "z", "values": [True]}},
            {**Y, "id": "z", "show_if": {"field": "y", "values": [True]}},
        ]
    ),
    "choice_value_bad_for_kind": form(fields=[{**C, "maps_to": "kind"}]),
    "choice_value_too_long_for_district": form(
        fields=[
            {**C, "maps_to": "district", "choices": [{"value": "d" * 21, "zh": "区", "en": "D"}]}
        ]
    ),
    "many_problems": form(
        id="Bad", version=0, fields=[{**F, "type": "colour"}, {**C, "required": "maybe"}]
    ),
}
OK: dict[str, Any] = {
    "ok_plain": BASE,
    "ok_version_true": form(version=True),
    "ok_version_text": form(version="3"),
    "ok_version_float": form(version=2.0),
    "ok_required_word": field(0, required="yes"),
    "ok_required_one": field(0, required=1),
    "ok_default_one_on_yes_no": field(2, default=1),
    "ok_red_if_tuple": field(1, red_if=("a",)),
    "ok_help_none": field(0, help=None),
    "ok_ticket_padded": form(ticket={"category": " padded "}),
    "ok_ticket_kind": form(ticket={"kind": "help", "urgency": "red"}),
    "ok_maps_choice_kind": form(
        fields=[
            {**C, "maps_to": "kind", "choices": [{"value": "help", "zh": "求助", "en": "Help"}]}
        ]
    ),
}
ALL = {**CASES, **OK}
# the cases whose refusal is TicketFields' reading of a value the form fixes for its tickets
TICKET_VALUES = (
    "form_ticket_category_too_long",
    "form_ticket_bad_kind",
    "form_ticket_bad_urgency",
    "choice_value_bad_for_kind",
    "choice_value_too_long_for_district",
)


def test_every_case_was_read_by_the_pydantic_version() -> None:
    assert set(PYDANTIC) == set(ALL)
    assert {name for name, (how, _) in PYDANTIC.items() if how == "refused"} == set(CASES)


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_definition_reads_as_the_pydantic_models_read_it(name: str) -> None:
    how, expected = PYDANTIC[name]
    if how == "refused":
        with pytest.raises(FormError) as err:
            parse_form(copy.deepcopy(ALL[name]), "S")
        assert str(err.value) == expected
    else:
        assert parse_form(copy.deepcopy(ALL[name]), "S").as_json() == expected


@pytest.mark.parametrize("name", TICKET_VALUES)
def test_the_ticket_values_check_is_the_only_one_the_desk_leaves_out(name: str) -> None:
    """``ticket_values=False`` (the desk's start) reads the same form and leaves out only
    ``TicketFields``' check, which ``check_ticket_values`` and the desk's warm-up run."""
    form = parse_form(copy.deepcopy(ALL[name]), "S", ticket_values=False)
    expected = PYDANTIC[name][1].removeprefix("S: ")
    with pytest.raises(ValueError) as err:
        check_ticket_values(form)
    assert str(err.value) == expected
    assert warm_ticket_rules([form]) == [f"form 't': {expected}"]


@pytest.mark.parametrize("name", sorted(set(CASES) - set(TICKET_VALUES)))
def test_every_other_refusal_stands_without_the_ticket_values_check(name: str) -> None:
    with pytest.raises(FormError) as err:
        parse_form(copy.deepcopy(ALL[name]), "S", ticket_values=False)
    assert str(err.value) == PYDANTIC[name][1]


def test_the_shipped_forms_pass_the_ticket_values_check() -> None:
    forms = load_shipped_forms(ticket_values=False)
    assert warm_ticket_rules(forms.values()) == []
    assert load_shipped_forms() == forms


def test_the_plain_ticket_vocabulary_is_the_models() -> None:
    """The form rules read the ticket's field names and length limits without the model:
    they are its own (the model declares its limits from the table)."""
    from hotline.model import TicketFields

    assert tuple(TicketFields.model_fields) == EDITABLE_FIELDS
    limits = {
        name: meta.max_length
        for name, info in TicketFields.model_fields.items()
        for meta in info.metadata
        if isinstance(getattr(meta, "max_length", None), int)
    }
    assert limits == TICKET_MAX_LENGTHS
