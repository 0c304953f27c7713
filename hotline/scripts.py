"""Answer scripts (答复口径): the words for the caller apart from the notes for the agent.

A knowledge-base article mixes two things: what the agent may say to the caller (口径,
答复话术) and what only the agent should read (内部提示: whom to dispatch to, what to ask,
what not to promise). Inserting an article into a ticket's reply must take only the first.

An article marks its parts with labels at the start of a line, each followed by a colon
(``答复口径：...``) or written as a heading (``【内部提示】``); the text after a label, up to
the next label, is that part:

- words for the caller: 答复口径, 答复话术, 口径, 话术, "Caller script", "Say to the caller";
- notes for the agent: 内部提示, 操作提示, 处置要点, "Agent notes", "Internal notes".

Text before the first label is a note for the agent when the article has labels (a procedure
written first, the script after it). An article without any label is a plain answer written
to be read out, and all of it is the caller's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CALLER_LABELS: tuple[str, ...] = (
    "答复口径",
    "答复话术",
    "口径",
    "话术",
    "caller script",
    "say to the caller",
)
AGENT_LABELS: tuple[str, ...] = (
    "内部提示",
    "操作提示",
    "处置要点",
    "agent notes",
    "internal notes",
)

_ALL = sorted(CALLER_LABELS + AGENT_LABELS, key=len, reverse=True)
_NAMES = "|".join(re.escape(label) for label in _ALL)
# 【label】 / [label] as a heading, or "label:" / "label：" at the start of a line.
_LABEL = re.compile(
    rf"^[ \t]*(?:[【\[](?P<h>{_NAMES})[】\]][ \t]*[:：]?|(?P<c>{_NAMES})[ \t]*[:：])[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Script:
    """An article split in two: ``caller`` is what may be inserted into a reply."""

    caller: str
    notes: str

    @property
    def has_caller_words(self) -> bool:
        return bool(self.caller)


def _is_caller(label: str) -> bool:
    return label.lower() in CALLER_LABELS


def split_script(body: str) -> Script:
    """The caller's words and the agent's notes of an article body (see the module doc)."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    labels = list(_LABEL.finditer(text))
    if not labels:
        return Script(caller=text.strip(), notes="")
    caller: list[str] = []
    notes: list[str] = [text[: labels[0].start()]]
    for i, m in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        part = text[m.end() : end]
        (caller if _is_caller(m.group("h") or m.group("c")) else notes).append(part)
    return Script(caller=_join(caller), notes=_join(notes))


def _join(parts: list[str]) -> str:
    return "\n".join(p.strip() for p in parts if p.strip())
