"""Codes the server sends (category, sub-category, queue) as words in the UI's language.

The server keeps codes (``urgent_medical``, ``dialysis``); every screen that shows one asks
here, so the panel, the ticket view and the charts name a category the same way. An unknown
code is shown as it is rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent_tui.i18n import has, t
from hotline.forms import FormDef


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


def form_field_labels(forms: Mapping[str, FormDef], lang: str) -> dict[str, FieldWords]:
    """Field id -> its label and its choices' labels, from the forms' own zh/en texts: the
    words for a ticket's extra fields (``bite_time``, ``vaccine_dose``) outside intake."""
    out: dict[str, FieldWords] = {}
    for form in forms.values():
        for field in form.fields:
            if field.id not in out:
                choices = {c.value: c.label(lang) for c in field.choices}
                out[field.id] = FieldWords(field.label.get(lang), choices)
    return out


@dataclass(frozen=True)
class FieldWords:
    label: str
    choices: dict[str, str]
