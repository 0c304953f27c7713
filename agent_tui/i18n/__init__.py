"""Translations for the UI: Simplified Chinese first, English with ``--lang en``.

Each area of the UI keeps its own table in a sibling module (``desk``, ``lead``, ...) as a
``TEXTS`` dict of ``key -> (zh, en)``; this module merges them, so two areas never edit one
file. A missing key shows itself as ``⟨key⟩`` on screen instead of raising: a forgotten
translation must never take a desk down during a call.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_language = DEFAULT_LANGUAGE


def set_language(lang: str) -> None:
    """Switch the language of every later ``t()`` call; unknown languages are refused."""
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    _language = lang


def language() -> str:
    return _language


@cache
def _tables() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        table: dict[str, tuple[str, str]] = getattr(module, "TEXTS", {})
        clash = merged.keys() & table.keys()
        if clash:
            raise RuntimeError(f"i18n keys defined twice: {', '.join(sorted(clash))}")
        merged.update(table)
    return merged


def t(key: str, /, lang: str | None = None, **params: object) -> str:
    """The text for ``key`` in the current (or given) language, formatted with ``params``."""
    entry = _tables().get(key)
    if entry is None:
        return f"⟨{key}⟩"
    text = entry[LANGUAGES.index(lang or _language)]
    return text.format(**params) if params else text


def has(key: str) -> bool:
    return key in _tables()


def all_keys() -> frozenset[str]:
    return frozenset(_tables())
