"""The queue's search on a real encrypted cache: a ticket is found by its full or partial
number, and a common word gives the same rows, order and count whichever plan the cache picks
for it (issue 14: a word matching most tickets walks the sort index instead of fetching every
match first; timings are in benchmarks/bench_queue.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import offline_cache.sqlbits as sqlbits
import offline_cache.store as store_module
from hotline.protocol import Entity, MutationOutcome, MutationResult, PushResponse
from offline_cache import CacheStore, QueueQuery, QueueSort, QueueView, open_cache
from tests.unit.cache.test_cache_store import T0, Clock, new_ticket, page, server_ticket

USERS = ("alice", "bob", "carol")
TEAMS = ("east", "west", None)
STATUSES = ("accepted", "dispatched", "handling", "closed")
N = 60


def pulled(i: int) -> tuple[Entity, str, dict[str, Any]]:
    """Ticket ``i`` as the server sends it: varied owner, team, status, urgency, address."""
    tid = f"0190b4a0-0000-7000-8000-{i:012d}"
    user = USERS[i % 3]
    return (
        Entity.TICKET,
        tid,
        server_ticket(
            tid,
            number=f"20261124-{i:06d}",
            caller_name=f"市民{i}",
            phone=f"138{i:08d}" if i % 4 else f"139{i:08d}",
            address=f"上海市黄浦区人民路{i % 7}号" if i % 5 else f"徐汇区漕溪北路{i}号",
            account=f"第{i}号诉求：停水" if i % 2 else "路灯不亮",
            assignee=user,
            created_by=user,
            team=TEAMS[i % 3],
            status=STATUSES[i % 4],
            urgency="red" if i % 6 == 0 else "normal",
            call_started_at=T0.replace(minute=i % 60).isoformat(),
            created_at=T0.isoformat(),
        ),
    )


@pytest.fixture
def store() -> Iterator[CacheStore]:
    s = open_cache("test", clock=Clock(T0.replace(hour=9, minute=0)))
    s.set_identity("alice", "east", "agent")
    yield s
    s.close()


@pytest.fixture
def filled(store: CacheStore) -> CacheStore:
    store.apply_pull(page([pulled(i) for i in range(1, N + 1)], cursor=N))
    return store


def ids(store: CacheStore, text: str, **query: Any) -> list[str]:
    return [r.id for r in store.queue_page(QueueQuery(text=text, **query)).rows]


def test_a_ticket_is_found_by_its_full_or_partial_number(store: CacheStore) -> None:
    """Agents type a number read out by the caller, whole or its first digits; the number
    comes with the push answer (the server gives it) or with a pulled ticket."""
    mine = new_ticket(store, address="浦东新区世纪大道100号")
    store.apply_push_result(
        PushResponse(
            last_mutation_id=1,
            results=[
                MutationResult(
                    mutation_id=1,
                    outcome=MutationOutcome.APPLIED,
                    ticket_id=mine,
                    ticket_number="20261124-000123",
                    revision=1,
                )
            ],
        )
    )
    other = "0190b4a0-0000-7000-8000-000000000777"
    store.apply_pull(
        page([(Entity.TICKET, other, server_ticket(other, number="20261125-000124"))], cursor=1)
    )
    assert ids(store, "20261124-000123") == [mine]
    assert ids(store, "20261124-0001") == [mine]
    assert ids(store, "20261124") == [mine]
    assert set(ids(store, "2026112")) == {mine, other}
    assert ids(store, "20261125-000124") == [other]
    assert ids(store, "20") != []  # two characters: the start of both numbers
    assert ids(store, "20261124-000124") == []
    assert ids(store, "世纪大道 20261124") == [mine]  # with another word: both must match
    ticket = store.get_ticket(mine)
    assert ticket is not None and ticket.data["number"] == "20261124-000123"
    assert store.find_by_number("20261124-000123") is not None


def test_search_follows_a_pulled_change_of_address_and_not_a_status_move(
    store: CacheStore,
) -> None:
    tid = "0190b4a0-0000-7000-8000-000000000001"
    store.apply_pull(page([(Entity.TICKET, tid, server_ticket(tid))], cursor=1))
    assert ids(store, "人民路1号") == [tid]
    store.apply_pull(
        page([(Entity.TICKET, tid, server_ticket(tid, status="handling", revision=2))], cursor=2)
    )
    assert ids(store, "人民路1号") == [tid]
    store.apply_pull(
        page(
            [(Entity.TICKET, tid, server_ticket(tid, address="南京西路8号", revision=3))], cursor=3
        )
    )
    assert ids(store, "人民路1号") == [] and ids(store, "南京西路8号") == [tid]
    check = "INSERT INTO tickets_fts(tickets_fts, rank) VALUES ('integrity-check', 1)"
    store._conn.execute(check)  # the index agrees with the rows (raises otherwise)


QUERIES = [
    dict(view=QueueView.ALL, sort=QueueSort.TIME),
    dict(view=QueueView.ALL, sort=QueueSort.URGENCY),
    dict(view=QueueView.ALL, sort=QueueSort.DEADLINE, offset=7),
    dict(view=QueueView.MINE, sort=QueueSort.TIME, user="alice"),
    dict(view=QueueView.TEAM, sort=QueueSort.URGENCY, team="west"),
    dict(view=QueueView.RED, sort=QueueSort.TIME),
    dict(view=QueueView.ALL, sort=QueueSort.TIME, statuses=("handling", "closed")),
]
WORDS = ["人民路", "138", "诉求", "人民路3号", "黄浦区 138", "市民1", "20261124-0000", "漕溪北路"]


@pytest.mark.parametrize("word", WORDS)
def test_a_common_word_gives_the_same_page_and_count_whichever_plan_runs(
    filled: CacheStore, monkeypatch: pytest.MonkeyPatch, word: str
) -> None:
    """The cache picks the plan by how many rows a word matches in the trigram index
    (sqlbits.FTS_FEW, FTS_MANY_SHARE): the rows, their order and the (capped) count must not
    depend on it."""
    monkeypatch.setattr(store_module, "COUNT_CAP", 12)

    def answers() -> list[tuple[list[str], int, bool]]:
        out = []
        for query in QUERIES:
            got = filled.queue_page(QueueQuery(text=word, limit=10, **query))  # type: ignore[arg-type]
            out.append(([r.id for r in got.rows], got.total, got.total_capped))
        return out

    monkeypatch.setattr(sqlbits, "FTS_FEW", 10_000)
    few = answers()  # the matches fetched by rowid and sorted
    monkeypatch.setattr(sqlbits, "FTS_FEW", 3)
    monkeypatch.setattr(sqlbits, "FTS_MANY_SHARE", 1)
    some = answers()  # the sort index walked, rows kept by the set of matches
    monkeypatch.setattr(sqlbits, "FTS_MANY_SHARE", 10_000)
    many = answers()  # the sort index walked, rows tested with LIKE
    assert some == few and many == few
    # and both are what the words say: every word a substring of a text column or the
    # start of the number, in the view, newest call first
    expected = sorted(
        (
            (i, tid, d)
            for i, (_e, tid, d) in ((i, pulled(i)) for i in range(1, N + 1))
            if all(_matches(d, w) for w in word.split())
        ),
        key=lambda t: (t[2]["call_started_at"], t[0]),
        reverse=True,
    )
    rows, total, capped = few[0]
    assert rows == [tid for _i, tid, _d in expected[:10]]
    assert (min(total, 12), capped) == (min(len(expected), 12), len(expected) > 12)


def _matches(data: dict[str, Any], word: str) -> bool:
    texts = [str(data.get(c) or "") for c in sqlbits.TEXT_COLUMNS]
    return any(word in t for t in texts) or str(data["number"]).startswith(word)


def test_a_common_word_walks_the_sort_index_without_fetching_every_match(
    filled: CacheStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100,000 tickets fetching every match of "人民路" cost ~130 ms per query: the page
    and the count of a word with more than FTS_FEW matches must not read the index whole."""
    monkeypatch.setattr(sqlbits, "FTS_FEW", 3)  # "人民路" is in 48 of the 60 tickets
    monkeypatch.setattr(sqlbits, "FTS_MANY_SHARE", 10)
    conn = filled._conn
    for view in (QueueView.ALL, QueueView.MINE):
        query = QueueQuery(view=view, text="人民路", sort=QueueSort.TIME, user="alice")
        page_sql, count_sql, params = filled._page_sql(conn, query)
        for sql, args in ((page_sql, [*params, 50, 0]), (count_sql, params)):
            plan = " | ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
            assert "tickets_fts" not in plan and "TEMP B-TREE" not in plan, plan


def test_a_rare_word_reads_only_its_rows(filled: CacheStore) -> None:
    """A word few tickets match is looked up once (index and number) and its rows fetched
    by rowid: no walk through the table."""
    conn = filled._conn
    page_sql, count_sql, params = filled._page_sql(conn, QueueQuery(text="市民42"))
    for sql, args in ((page_sql, [*params, 50, 0]), (count_sql, params)):
        plan = " | ".join(str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))
        assert "INTEGER PRIMARY KEY" in plan and "SCAN tickets " not in plan + " ", plan


def test_every_page_of_a_search_reports_the_same_total(filled: CacheStore) -> None:
    """A page that runs out of rows gives the total without counting again; past the end,
    and on full pages, the count says it."""
    expected = filled.queue_page(QueueQuery(text="漕溪北路", limit=100))
    assert expected.total == 12 and len(expected.rows) == 12
    for offset, limit, shown in ((0, 5, 5), (10, 5, 2), (12, 5, 0), (30, 5, 0), (0, 12, 12)):
        got = filled.queue_page(QueueQuery(text="漕溪北路", limit=limit, offset=offset))
        assert [r.id for r in got.rows] == [r.id for r in expected.rows][offset : offset + limit]
        assert (len(got.rows), got.total) == (shown, 12), (offset, limit)
