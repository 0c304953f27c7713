"""Codes the server sends (category, sub-category, queue) as words in the UI's language.

The server keeps codes (``urgent_medical``, ``dialysis``); every screen that shows one asks
here, so the panel, the ticket view and the charts name a category the same way. An unknown
code is shown as it is rather than hidden.
"""

from __future__ import annotations

from agent_tui.i18n import has, t


def _label(prefix: str, code: object) -> str:
    text = str(code or "")
    key = f"{prefix}.{text}"
    return t(key) if text and has(key) else text


def category_label(code: object) -> str:
    return _label("category", code)


def subcategory_label(code: object) -> str:
    return _label("subcategory", code)


def queue_label(code: object) -> str:
    return _label("callqueue", code)
