"""Issue 13 through a real server process (SQLite and PostgreSQL): the new ticket fields,
the answer rules, the handling-unit directory, and what another agent sees of a
confidential caller (list, read, history, pull) and what an export holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.integration.core.conftest import Api, client_id, mutation, ticket_args

SECRET_NAME = "保密来电人"
SECRET_PHONE = "13911112222"
SECRET_ID = "02162345678"
SECRET_ADDRESS = "徐汇区漕溪北路88弄9号"


def _results(api: Api, user: str, mutations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    r = api.push(user, client_id(), mutations)
    assert r.status_code == 200, r.text
    results: list[dict[str, Any]] = r.json()["results"]
    return results


def test_new_fields_round_trip_and_the_answer_rules(api: Api) -> None:
    full = ticket_args(street="徐家汇", topic="供水排水与积水", reply_needed=True,
                       reply_method="sms", respondent="某物业公司", caller_number="021-62345678",
                       handling_unit="市水务局", disposition="dispatch")  # fmt: skip
    no_answer = ticket_args(disposition="on_spot", answer="")
    wrong_street = ticket_args(street="外滩")  # 外滩街道 is in 黄浦区, not 徐汇区
    anonymous = ticket_args(phone="", caller_name="", privacy="anonymous")
    results = _results(
        api,
        "amy",
        [
            mutation(i, "create_ticket", a)
            for i, a in enumerate([full, no_answer, wrong_street, anonymous], 1)
        ],
    )
    assert [r["outcome"] for r in results] == ["applied", "rejected", "rejected", "applied"]
    assert results[1]["field"].endswith("answer")
    assert "answered on the spot" in results[1]["reason"]
    assert results[2]["field"].endswith("street") and "Xuhui" in results[2]["reason"]

    with api.client("amy") as c:
        got = c.get(f"/api/v1/tickets/{full['id']}").json()
        assert (got["street"], got["topic"], got["reply_method"]) == (
            "徐家汇街道", "water_drainage", "sms")  # fmt: skip
        assert (got["phone"], got["caller_number"]) == ("13800138000", "02162345678")
        assert (got["respondent"], got["privacy"]) == ("某物业公司", "normal")
        assert c.get(f"/api/v1/tickets/{anonymous['id']}").json()["phone"] == ""

    # 已答复 needs the answer: refused without it, applied once it is written
    tid = full["id"]
    refused = _results(api, "amy", [mutation(1, "change_status",
                                             {"ticket_id": tid, "to": "replied",
                                              "base_revision": 1})])  # fmt: skip
    assert refused[0]["outcome"] == "rejected"
    assert "marked replied" in refused[0]["reason"]
    done = _results(api, "amy", [
        mutation(1, "update_ticket", {"ticket_id": tid, "base_revision": 1,
                                      "changes": {"answer": "已疏通排水管道"}}),
        mutation(2, "change_status", {"ticket_id": tid, "to": "replied", "base_revision": 2}),
    ])  # fmt: skip
    assert [r["outcome"] for r in done] == ["applied", "applied"]


def test_the_server_serves_the_handling_unit_directory(api: Api) -> None:
    with api.client("bob") as c:
        r = c.get("/api/v1/directory/units")
    assert r.status_code == 200
    body = r.json()
    names = [u["zh"] for u in body["units"]]
    assert "市水务局" in names and body["version"]
    with api.client() as anonymous:
        assert anonymous.get("/api/v1/directory/units").status_code == 401


def test_another_agent_never_sees_a_confidential_caller(api: Api) -> None:
    secret = ticket_args(phone=SECRET_PHONE, caller_name=SECRET_NAME, address=SECRET_ADDRESS,
                         caller_number=SECRET_ID, privacy="confidential",
                         account="举报小区内群租", topic="housing")  # fmt: skip
    amy_desk = client_id()
    r = api.push("amy", amy_desk, [mutation(1, "create_ticket", secret)])
    assert r.json()["results"][0]["outcome"] == "applied"
    tid = secret["id"]
    caller = (SECRET_NAME, SECRET_PHONE, SECRET_ID, SECRET_ADDRESS)

    def text_of(value: Any) -> str:
        import json

        return json.dumps(value, ensure_ascii=False)

    # bob (another agent) sees the ticket (no teams: every agent does), never the caller
    with api.client("bob") as c:
        one = c.get(f"/api/v1/tickets/{tid}").json()
        listed = c.get("/api/v1/tickets", params={"limit": 500}).json()["tickets"]
        history = c.get(f"/api/v1/tickets/{tid}/history").json()
        found = c.get("/api/v1/tickets", params={"text": SECRET_PHONE}).json()
    assert one["caller_hidden"] is True and one["account"] == "举报小区内群租"
    assert (one["caller_name"], one["phone"], one["caller_number"], one["address"]) == (
        "", "", None, "")  # fmt: skip
    mine = [t for t in listed if t["id"] == tid]
    assert len(mine) == 1 and mine[0]["caller_name"] == "" and mine[0]["caller_hidden"]
    assert found["total"] == 0  # searching by the hidden number finds nothing
    pulled = [ch for ch in api.pull_all("bob") if ch["entity_id"] == tid]
    assert pulled and all(ch["data"]["phone"] == "" for ch in pulled)
    for shown in (one, mine[0], history, pulled):
        assert not any(secret_text in text_of(shown) for secret_text in caller)

    # amy (who took the call) and lee (the lead) see everything
    with api.client("amy") as c:
        assert c.get(f"/api/v1/tickets/{tid}").json()["caller_name"] == SECRET_NAME
        assert c.get("/api/v1/tickets", params={"text": SECRET_PHONE}).json()["total"] == 1
    with api.client("lee") as c:
        lead_view = c.get(f"/api/v1/tickets/{tid}").json()
        assert (lead_view["phone"], lead_view["caller_hidden"]) == (SECRET_PHONE, False)
        day = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        csv = c.get("/api/v1/reports/daily", params={"date": day, "format": "csv"})
    assert [ch["data"]["caller_name"] for ch in api.pull_all("amy", amy_desk)
            if ch["entity_id"] == tid] == [SECRET_NAME]  # fmt: skip
    # the export (the daily report a lead downloads) holds no caller data
    assert csv.status_code == 200
    assert not any(secret_text in csv.text for secret_text in caller)


def test_a_ticket_made_confidential_later_leaves_no_caller_in_the_feed(api: Api) -> None:
    name, phone = "后来保密的李先生", "13733334444"
    ticket = ticket_args(phone=phone, caller_name=name)
    tid = ticket["id"]
    made = _results(api, "amy", [
        mutation(1, "create_ticket", ticket),
        mutation(2, "update_ticket", {"ticket_id": tid, "base_revision": 1,
                                      "changes": {"promise": "三日内回复"}}),
        mutation(3, "update_ticket", {"ticket_id": tid, "base_revision": 2,
                                      "changes": {"privacy": "confidential"}}),
    ])  # fmt: skip
    assert [r["outcome"] for r in made] == ["applied"] * 3
    # a desk pulling from the start (a new laptop) gets every entry of the ticket, none
    # with the caller: the entries from before it was made confidential were cleared too
    feed = [ch["data"] for ch in api.pull_all("bob") if ch["entity_id"] == tid]
    assert len(feed) == 3
    assert all(d["caller_name"] == "" and d["phone"] == "" for d in feed)
    owner_feed = [ch["data"] for ch in api.pull_all("amy") if ch["entity_id"] == tid]
    assert owner_feed[-1]["caller_name"] == name  # the owner's latest state keeps it
