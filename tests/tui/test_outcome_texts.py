"""The server's new outcome reasons read in the UI language: why a red ticket is overdue (no
first response, or answered but not solved in time) and why a merge was refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_tui.i18n import set_language
from agent_tui.reasons import reason_text


@pytest.fixture(autouse=True)
def _lang() -> Iterator[None]:
    yield
    set_language("zh")


def test_overdue_reasons_say_what_happened() -> None:
    answered = (
        "overdue: first response given, but still unresolved at 2026-03-16 12:00 "
        "(the end of a red ticket's handling window)"
    )
    silent = (
        "overdue: no first response by 2026-03-16 12:30 (a red ticket's first-response deadline)"
    )
    set_language("zh")
    assert (
        reason_text(answered) == "已超时：已首次响应，但至 2026-03-16 12:00（紧急办理时限）仍未办结"
    )
    assert reason_text(silent) == "已超时：红色工单至 2026-03-16 12:30 仍未首次响应"
    set_language("en")
    assert "responded, but still unresolved at 2026-03-16 12:00" in reason_text(answered)


def test_merge_into_a_finished_ticket_refusal_in_chinese() -> None:
    reason = (
        "ticket 20260316-000001 is already evaluated: a repeated request is not merged into a "
        "finished ticket; save it as a new ticket (or reopen that one first)"
    )
    set_language("zh")
    assert reason_text(reason) == (
        "工单 20260316-000001 状态为“已评价”，不能并入已结束的工单：请另建新单（或先重新办理该单）"
    )


def test_score_refusals_in_chinese() -> None:
    set_language("zh")
    needs = (
        "Satisfaction: an evaluation (评价) needs the caller's score (satisfied, basically "
        "satisfied or dissatisfied): record it with record_callback"
    )
    assert reason_text(needs) == "评价须记录满意度（满意、基本满意或不满意）：请用回访记录评价"
    unreached = "Satisfaction: the caller was not reached, so there is no score to record"
    assert reason_text(unreached) == "满意度：未联系上来电人，不能记录评价"
