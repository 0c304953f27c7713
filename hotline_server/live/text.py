"""Search tokens for Chinese text without word boundaries (the knowledge base).

Chinese has no spaces, so a run of CJK characters becomes its single characters and its
character bigrams; runs of letters and digits become lower-cased words. An article stores
all its tokens; a query asks for its bigrams (or the lone character of a one-character
run) and its words, so "核酸检测" finds "核酸检测点" but not "检测核酸". The same plain
``LIKE`` then works on SQLite and PostgreSQL without extensions.
"""

from __future__ import annotations

import re
import unicodedata

_RUN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([0-9a-z]+)")


def _runs(text: str) -> list[tuple[str, bool]]:
    norm = unicodedata.normalize("NFKC", text).lower()
    return [(m.group(0), m.group(1) is not None) for m in _RUN.finditer(norm)]


def search_tokens(text: str) -> list[str]:
    """Every token an article is found by."""
    out: list[str] = []
    for run, cjk in _runs(text):
        if cjk:
            out.extend(run)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def query_tokens(text: str) -> list[str]:
    """The tokens a query needs (all of them must occur)."""
    out: list[str] = []
    for run, cjk in _runs(text):
        if cjk and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out
