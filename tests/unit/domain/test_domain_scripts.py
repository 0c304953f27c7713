"""Answer scripts: the words for the caller are told apart from the notes for the agent."""

from __future__ import annotations

from hotline.scripts import split_script


def test_labelled_article_splits_into_caller_words_and_agent_notes() -> None:
    body = (
        "记录小区名称、积水深度。\n"
        "内部提示：派单区水务局；不要承诺具体抽排时间。\n"
        "答复口径：您好，您反映的积水情况已转交区水务部门，\n"
        "他们会尽快安排抽排。\n"
    )
    s = split_script(body)
    assert s.caller == "您好，您反映的积水情况已转交区水务部门，\n他们会尽快安排抽排。"
    assert "派单区水务局" in s.notes and "记录小区名称" in s.notes
    assert "水务局" not in s.caller.replace("水务部门", "")
    assert s.has_caller_words


def test_heading_labels_and_english_labels() -> None:
    body = "【内部提示】\n先核实地址。\n【答复话术】\n请您保持电话畅通。"
    s = split_script(body)
    assert (s.caller, s.notes) == ("请您保持电话畅通。", "先核实地址。")
    en = split_script("Agent notes: check the address.\nCaller script: Please keep your phone on.")
    assert (en.caller, en.notes) == ("Please keep your phone on.", "check the address.")
    half = split_script("口径:  感谢来电。\n操作提示:  派单街道。")
    assert (half.caller, half.notes) == ("感谢来电。", "派单街道。")


def test_several_script_parts_are_joined_in_order() -> None:
    s = split_script("答复口径：第一句。\n内部提示：别念这句。\n答复口径：第二句。")
    assert s.caller == "第一句。\n第二句。"
    assert s.notes == "别念这句。"


def test_an_article_without_labels_is_all_words_for_the_caller() -> None:
    s = split_script("因管道抢修临时停水，预计今晚八点前恢复供水。")
    assert s.caller == "因管道抢修临时停水，预计今晚八点前恢复供水。" and s.notes == ""


def test_notes_only_have_nothing_to_insert() -> None:
    s = split_script("内部提示：这类来电转派街道。")
    assert not s.has_caller_words and s.notes == "这类来电转派街道。"


def test_a_label_inside_a_sentence_is_not_a_label() -> None:
    s = split_script("答复口径：请按口径：先登记再派单的顺序办理。")
    assert s.caller == "请按口径：先登记再派单的顺序办理。"
