"""The lead panel's outcome line against a real `hotline-server` process: 满意率, the red
tickets' first response (mean, share within 30 minutes) and tickets by kind, each worked out
by hand from the tickets pushed below."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tui.i18n import set_language
from agent_tui.lead import HttpLeadSource, LeadPanelScreen
from hotline.ids import uuid7
from tests.integration.live.conftest import LIVE_ENV, USERS, Live
from tests.support.server import start_server
from tests.tui.lead.test_lead_live import PanelApp, wait_for


@pytest.fixture
def live(tmp_path: Any) -> Iterator[Live]:
    server = start_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path, USERS, LIVE_ENV)
    try:
        yield Live(server)
    finally:
        server.stop()


def ticket(now: datetime, call_ago: int, written_ago: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "call_started_at": (now - timedelta(minutes=call_ago)).isoformat(),
        "created_at": (now - timedelta(minutes=written_ago)).isoformat(),
        "caller_name": "张三",
        "phone": "13800000009",
        "district": "徐汇区",
        "account": "来电求助。",
        **fields,
    }


# Last 60 minutes, by hand:
#   r1 red, called 50 min ago, dispatched 40 min ago: first response after 600 s
#   r2 red, called 45 min ago, dispatched 19 min ago: after 1560 s (26 min, still in time)
#   r3 red, called 40 min ago, no response yet: 40 min > 30, judged late
#   -> mean (600 + 1560) / 2 = 1080 s = 18:00; within 30 min 2 of 3 = 66.7 %
#   n1 举报 on the spot, called back: 满意; n2 投诉 on the spot, called back: 不满意
#   -> 满意率 1 / 2 = 50.0 % (2 evaluated); kinds: 求助 3, 投诉 1, 举报 1, others 0
def feed(live: Live) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    red = {"urgency": "red", "category": "medical", "urgent_subcategory": "dialysis",
           "kind": "help"}  # fmt: skip
    n1 = ticket(now, 10, 8, kind="report", disposition="on_spot", answer="已受理并答复。")
    n2 = ticket(now, 9, 7, kind="complaint", disposition="on_spot", answer="已解释。")
    created = [
        ticket(now, 50, 40, disposition="dispatch", **red),
        ticket(now, 45, 19, disposition="dispatch", **red),
        ticket(now, 40, 38, **red),
        n1,
        n2,
    ]
    muts: list[dict[str, Any]] = [
        {"mutation_id": i, "name": "create_ticket", "args": a, "client_time": now.isoformat()}
        for i, a in enumerate(created, start=1)
    ]
    for tid, score in ((n1["id"], "satisfied"), (n2["id"], "dissatisfied")):
        args = {"ticket_id": tid, "reached": True, "satisfaction": score}
        muts.append({"mutation_id": len(muts) + 1, "name": "record_callback", "args": args,
                     "client_time": now.isoformat()})  # fmt: skip
    with live.client("amy") as amy:
        r = amy.post("/api/v1/sync/push", json={"client_id": str(uuid.uuid4()), "mutations": muts})
        assert [x["outcome"] for x in r.json()["results"]] == ["applied"] * len(muts), r.text


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_outcome_line_equals_hand_computed_values(live: Live, lang: str) -> None:
    feed(live)
    set_language(lang)
    source = HttpLeadSource(live.url, live.token("lee"))
    screen = LeadPanelScreen(source)
    app = PanelApp(screen)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("2")  # last 60 minutes
            await wait_for(pilot, lambda: screen.data.summaries.get("60m"), "the first data")
            await pilot.pause()
            line = str(screen.query_one("#outcomes").content)  # type: ignore[attr-defined]
    finally:
        await source.aclose()
        set_language("zh")
    if lang == "zh":
        assert line == (
            "满意率 50.0%（评价 2 单）· 红单平均响应 18:00 · 30分钟内响应 66.7%（3 单中 2）"
            "· 类型 咨询 0 求助 3 投诉 1 举报 1 建议 0 表扬 0"
        )
    else:
        assert line == (
            "Satisfaction 50.0% (2 evaluated) · red response avg 18:00 · in 30 min 66.7% (2/3)"
            " · kinds consult 0 help 3 complaint 1 report 1 suggest 0 praise 0"
        )
