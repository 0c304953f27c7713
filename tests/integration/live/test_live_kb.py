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
