"""Knowledge base (答复口径): answer scripts leads write and agents read, searchable in Chinese.

Search works without word boundaries: ``live.text.search_tokens`` turns an article into
tokens (CJK character bigrams, lower-cased words) stored space-separated in ``search_text``;
a query's tokens must all occur (``LIKE '% tok %'``), the same on SQLite and PostgreSQL.
Titles rank above bodies. Articles also go into the change log (``Entity.KB_ARTICLE``) so
every desk pulls them and can search them offline.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hotline_server.live.schema import kb_articles
from hotline_server.live.wire import KbArticleIn, KbArticleOut


class KbError(ValueError):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def _search_text(title: str, body: str, tags: list[str], category: str) -> str:
    from hotline_server.live.text import search_tokens

    tokens = search_tokens(" ".join([title, body, *tags, category]))
    return " " + " ".join(dict.fromkeys(tokens)) + " "


def _escape_like(token: str) -> str:
    return token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def article_out(row: Any) -> KbArticleOut:
    return KbArticleOut.model_validate(
        {k: row[k] for k in KbArticleOut.model_fields}, from_attributes=False
    )


def article_data(a: KbArticleOut) -> dict[str, Any]:
    """The change-log payload of an article."""
    return a.model_dump(mode="json")


def save_article(
    conn: Connection, body: KbArticleIn, *, author: str, now: datetime
) -> KbArticleOut:
    """Create (no id, or a new id) or update (id + base_revision) an article."""
    if body.valid_from and body.valid_to and body.valid_to < body.valid_from:
        raise KbError(422, "valid_to is before valid_from", "valid_to")
    values = {
        "title": body.title,
        "body": body.body,
        "tags": [t.strip() for t in body.tags if t.strip()],
        "category": body.category,
        "valid_from": body.valid_from,
        "valid_to": body.valid_to,
        "author": author,
        "updated_at": now,
        "search_text": _search_text(body.title, body.body, body.tags, body.category),
    }
    existing = None
    if body.id is not None:
        existing = (
            conn.execute(
                sa.select(kb_articles).where(kb_articles.c.id == body.id).with_for_update()
            )
            .mappings()
            .first()
        )
    if existing is None:
        article_id = body.id or str(uuid.uuid4())
        conn.execute(
            kb_articles.insert().values(id=article_id, revision=1, created_at=now, **values)
        )
    else:
        article_id = existing["id"]
        if body.base_revision is None:
            raise KbError(422, "updating an article needs base_revision", "base_revision")
        if body.base_revision != existing["revision"]:
            raise KbError(
                409,
                f"the article changed since revision {body.base_revision} "
                f"(now revision {existing['revision']}); reload it and edit again",
                "base_revision",
            )
        conn.execute(
            kb_articles.update()
            .where(kb_articles.c.id == article_id)
            .values(revision=existing["revision"] + 1, **values)
        )
    row = conn.execute(sa.select(kb_articles).where(kb_articles.c.id == article_id)).mappings()
    return article_out(row.one())


def get_article(conn: Connection, article_id: str) -> KbArticleOut | None:
    row = conn.execute(sa.select(kb_articles).where(kb_articles.c.id == article_id)).mappings()
    first = row.first()
    return article_out(first) if first else None


def search(
    conn: Connection,
    q: str | None,
    *,
    category: str | None = None,
    now: datetime | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[KbArticleOut], int]:
    """Articles matching every token of ``q`` (all when empty), best first."""
    from hotline_server.live.text import query_tokens, search_tokens

    conds: list[sa.ColumnElement[bool]] = []
    tokens = list(dict.fromkeys(query_tokens(q or "")))
    for tok in tokens:
        conds.append(kb_articles.c.search_text.like(f"% {_escape_like(tok)} %", escape="\\"))
    if category:
        conds.append(kb_articles.c.category == category)
    if now is not None:
        conds.append(sa.or_(kb_articles.c.valid_from.is_(None), kb_articles.c.valid_from <= now))
        conds.append(sa.or_(kb_articles.c.valid_to.is_(None), kb_articles.c.valid_to > now))
    where = sa.and_(sa.true(), *conds)
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(kb_articles).where(where)).scalar_one()
    )
    rows = (
        conn.execute(sa.select(kb_articles).where(where).order_by(kb_articles.c.updated_at.desc()))
        .mappings()
        .all()
    )
    articles = [article_out(r) for r in rows]
    if tokens:
        # Rank: tokens found in the title count triple; then the most recently updated.
        def score(a: KbArticleOut) -> int:
            title = " " + " ".join(search_tokens(a.title)) + " "
            return sum(3 if f" {t} " in title else 1 for t in tokens)

        articles.sort(key=score, reverse=True)
    return articles[offset : offset + limit], total
