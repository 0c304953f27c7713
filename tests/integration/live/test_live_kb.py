"""Knowledge-base validity: the current search leaves out expired and not-yet-valid articles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.live.conftest import Live


def test_current_search_honours_valid_from_and_to(live: Live) -> None:
    now = datetime.now(UTC)
    base = {"body": "封控小区居民就医，联系居委会开具通行证明。", "tags": ["就医"],
            "category": "epidemic"}  # fmt: skip
    articles = {
        "expired": {**base, "title": "旧口径：就医通行证明",
                    "valid_from": (now - timedelta(days=30)).isoformat(),
                    "valid_to": (now - timedelta(hours=1)).isoformat()},
        "current": {**base, "title": "现行口径：就医通行证明",
                    "valid_from": (now - timedelta(hours=1)).isoformat(),
                    "valid_to": (now + timedelta(days=30)).isoformat()},
        "open_ended": {**base, "title": "长期口径：就医通行证明"},
        "future": {**base, "title": "新口径：就医通行证明",
                   "valid_from": (now + timedelta(days=1)).isoformat()},
    }  # fmt: skip
    ids: dict[str, str] = {}
    with live.client("lee") as lead:
        for name, article in articles.items():
            r = lead.post("/api/v1/kb", json=article)
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        backwards = {**base, "title": "错误", "valid_from": now.isoformat(),
                     "valid_to": (now - timedelta(days=1)).isoformat()}  # fmt: skip
        assert lead.post("/api/v1/kb", json=backwards).status_code == 422
    with live.client("amy") as amy:
        current = amy.get("/api/v1/kb", params={"q": "通行证明", "current": "true"}).json()
        everything = amy.get("/api/v1/kb", params={"q": "通行证明"}).json()
    assert {a["id"] for a in current["articles"]} == {ids["current"], ids["open_ended"]}
    assert current["total"] == 2
    assert {a["id"] for a in everything["articles"]} == set(ids.values())  # history is kept


# An everyday word a caller uses -> the demo article an agent should find with it.
EVERYDAY_QUERIES = {
    "居住证": "居住证办理与续签",
    "积水": "道路、小区积水",
    "噪音": "噪音扰民",
    "暖气": "冬季供暖与暖气不热",
    "物业费": "物业服务纠纷",
    "社保": "社保缴费与查询",
    "公交": "公交线路调整与投诉",
    "停电": "停水停电",
    "欠薪": "拖欠工资",
    "违建": "违章建筑举报",
}


def test_the_demo_knowledge_base_finds_everyday_topics_by_chinese_keywords(live: Live) -> None:
    """The demo's articles, written through the API as the demo does, are found by the words
    callers use; the best hit is the topic's article, and its script splits in two parts."""
    import httpx

    from agent_tui.demo import seed
    from hotline.scripts import split_script

    with httpx.Client(base_url=live.url, timeout=30) as http:
        written = seed.write_articles(http, live.token("lee"))
    assert written >= 20
    with live.client("amy") as amy:
        for query, title in EVERYDAY_QUERIES.items():
            found = amy.get("/api/v1/kb", params={"q": query}).json()
            titles = [a["title"] for a in found["articles"]]
            assert titles and titles[0] == title, (query, titles)
            script = split_script(found["articles"][0]["body"])
            assert script.caller and script.notes, title
            assert "派单" not in script.caller, title  # dispatch advice is for the agent only


def test_the_english_demo_writes_english_scripts_found_by_english_and_chinese_words(
    live: Live,
) -> None:
    import httpx

    from agent_tui.demo import seed
    from hotline.scripts import split_script

    with httpx.Client(base_url=live.url, timeout=30) as http:
        seed.write_articles(http, live.token("lee"), "en")
    with live.client("amy") as amy:
        for query in ("waterlogging", "积水"):
            found = amy.get("/api/v1/kb", params={"q": query}).json()["articles"]
            assert found and found[0]["title"] == "Waterlogged roads and estates (积水)", query
        body = found[0]["body"]
    script = split_script(body)
    assert script.caller.startswith("We have recorded the waterlogging you reported")
    assert "drainage" in script.caller and "119" not in script.caller  # the notes stay out
