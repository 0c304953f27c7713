"""Issue 13's intake fields and the caller-privacy rule, in the domain (no UI, no server)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hotline import privacy
from hotline.forms import load_shipped_forms, to_ticket_fields, validate_values
from hotline.metrics import TicketRecord, ticket_measures
from hotline.validators import (
    FieldError,
    clean_ticket_fields,
    outcome_problem,
    reply_problem,
    validate_street,
    validate_topic,
)

GENERAL = load_shipped_forms()["general"]
BASE = {"kind": "consultation", "phone": "13812345678", "account": "小区门口积水"}


def errors(values: dict[str, object], **kw: object) -> dict[str, FieldError]:
    return {e.field: e for e in validate_values(GENERAL, values, **kw)}  # type: ignore[arg-type]


def test_the_general_form_has_the_new_fields_with_both_languages() -> None:
    ids = [f.id for f in GENERAL.fields]
    for field in ("street", "respondent", "reply_needed", "reply_method", "topic",
                  "handling_unit", "privacy", "caller_number"):  # fmt: skip
        assert field in ids
        f = GENERAL.field(field)
        assert f.label.zh and f.label.en
    # the fields agents type through by Tab keep their order at the top
    assert ids[:9] == ["kind", "caller_name", "phone", "id_card", "address", "district",
                       "community", "urgent", "account"]  # fmt: skip
    assert GENERAL.field("handling_unit").type == "unit"
    assert GENERAL.field("topic").type == "topic"


def test_a_street_must_belong_to_the_district_where_the_list_is_known() -> None:
    bad = errors({**BASE, "district": "xuhui", "street": "外滩"})["street"]
    assert bad.code == "street_unknown"
    assert bad.message("zh").startswith("街道/镇“外滩”不是徐汇区的街道/镇")
    assert bad.message("en").startswith('Street / town: "外滩" is not a street or town of Xuhui')
    fields = to_ticket_fields(GENERAL, {**BASE, "district": "黄浦区", "street": "外滩"})
    assert (fields.district, fields.street) == ("huangpu", "外滩街道")
    # a district without a recorded list keeps the street as typed
    assert validate_street("川沙新镇", "pudong") == "川沙新镇"
    assert "street" not in errors({**BASE, "district": "pudong", "street": "川沙新镇"})


def test_an_anonymous_caller_needs_no_phone_and_a_named_one_does() -> None:
    named = {k: v for k, v in BASE.items() if k != "phone"}
    assert errors(named)["phone"].message("en") == "Phone: required"
    assert "phone" not in errors({**named, "privacy": "anonymous"})
    fields = to_ticket_fields(GENERAL, {**named, "privacy": "anonymous"})
    assert (fields.phone, fields.privacy.value) == ("", "anonymous")
    # the server's rule is the same
    assert [e.field for e in clean_ticket_fields({"account": "x"})[1]] == ["phone"]
    assert clean_ticket_fields({"account": "x", "privacy": "anonymous"})[1] == []


def test_an_answer_on_the_spot_needs_the_answer_text() -> None:
    problem = errors(BASE, disposition="on_spot")["answer"]
    assert problem.message("zh") == "答复内容为必填项：当场解答的工单须写明答复内容"
    assert problem.message("en") == "Answer: required when the call is answered on the spot"
    assert "answer" not in errors(BASE, disposition="dispatch")
    assert "answer" not in errors({**BASE, "answer": "已告知"}, disposition="on_spot")
    assert outcome_problem("  ", "on_spot") is not None
    replied = reply_problem(None)
    assert replied is not None and "已答复" in replied.message("zh")
    assert reply_problem("已电话告知") is None


def test_topic_reply_and_caller_id_are_kept_apart() -> None:
    values = {**BASE, "topic": "供水排水与积水", "reply_needed": True, "reply_method": "sms",
              "caller_number": "021-62345678", "respondent": "某物业公司"}  # fmt: skip
    fields = to_ticket_fields(GENERAL, values)
    assert fields.topic == "water_drainage"
    assert (fields.phone, fields.caller_number) == ("13812345678", "02162345678")
    assert (fields.reply_needed, fields.reply_method) == (True, "sms")
    assert fields.respondent == "某物业公司"
    assert validate_topic("housing") == "housing"
    with pytest.raises(FieldError) as bad:
        validate_topic("天气")
    assert bad.value.message("zh").startswith("诉求分类“天气”不在诉求分类中")
    # no reply needed: the reply method is hidden, so not kept
    quiet = to_ticket_fields(GENERAL, {**values, "reply_needed": False})
    assert quiet.reply_method is None


def test_a_confidential_callers_fields_are_hidden_from_everyone_but_owner_and_leads() -> None:
    ticket = {"privacy": "confidential", "created_by": "amy", "assignee": "amy",
              "caller_name": "王五", "phone": "13812345678", "caller_number": "13812345678",
              "address": "漕溪北路1号", "id_card": None, "district": "xuhui",
              "account": "举报噪音"}  # fmt: skip
    assert privacy.for_viewer(ticket, "amy", "agent") == ticket
    assert privacy.for_viewer(ticket, "lee", "lead") == ticket
    seen = privacy.for_viewer(ticket, "bob", "agent")
    assert seen["caller_hidden"] is True
    assert (seen["caller_name"], seen["phone"], seen["caller_number"], seen["address"]) == (
        "", "", None, "")  # fmt: skip
    assert (seen["district"], seen["account"]) == ("xuhui", "举报噪音")
    exported = privacy.for_viewer(ticket, None, None)  # an export
    assert exported["caller_name"] == ""
    normal = {**ticket, "privacy": "normal"}
    assert privacy.for_viewer(normal, "bob", "agent") == normal


def test_resolution_rate_by_topic() -> None:
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
    rows = [
        TicketRecord("1", t0, t0, topic="housing", dispatched=True, status="closed"),
        TicketRecord("2", t0, t0, topic="housing", dispatched=True, status="handling"),
        TicketRecord("3", t0, t0, topic="transport", dispatched=True, status="evaluated"),
        TicketRecord("4", t0, t0, disposition="on_spot", status="closed"),
    ]
    m = ticket_measures(rows, [], t0, t0 + timedelta(hours=1))
    assert m.by_topic["housing"] == {"created": 2, "dispatched": 2, "resolved": 1,
                                     "resolution_rate": 0.5}  # fmt: skip
    assert m.by_topic["transport"]["resolution_rate"] == 1.0
    assert m.by_topic["unclassified"] == {"created": 1, "dispatched": 0, "resolved": 0,
                                          "resolution_rate": None}  # fmt: skip


def test_every_shipped_form_can_take_the_answer_an_on_the_spot_call_needs() -> None:
    for form in load_shipped_forms().values():
        assert any(f.maps_to == "answer" for f in form.fields), form.id
    bare = replace(GENERAL, fields=[f for f in GENERAL.fields if f.id != "answer"])
    [problem] = [e for e in validate_values(bare, BASE, disposition="on_spot")]
    assert (problem.field, problem.code) == ("answer", "answer_required_on_spot")
