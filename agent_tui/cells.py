"""Terminal-cell arithmetic for Chinese text.

A Chinese character takes two cells on a terminal, so ``len()`` lies about how wide a name or
an address is. Columns are cut and padded by cells (``rich.cells.cell_len``), never by
characters, and a cut never splits a double-width character in half.
"""

from __future__ import annotations

from rich.cells import cell_len, get_character_cell_size

ELLIPSIS = "…"
_FLATTEN = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded with spaces to exactly ``width`` cells."""
    if width <= 0:
        return ""
    text = text.replace("\r\n", " ").translate(_FLATTEN)  # a newline must not break a row
    used = cell_len(text)
    if used <= width:
        return text + " " * (width - used)
    out: list[str] = []
    room = width - cell_len(ELLIPSIS)
    used = 0
    for ch in text:
        size = get_character_cell_size(ch)
        if used + size > room:
            break
        out.append(ch)
        used += size
    cut = "".join(out) + ELLIPSIS
    return cut + " " * (width - cell_len(cut))


def fit_right(text: str, width: int) -> str:
    """Like :func:`fit`, but right-aligned (numbers, countdowns)."""
    fitted = fit(text, width).rstrip()
    return " " * (width - cell_len(fitted)) + fitted


def columns(values: list[str], widths: list[int], gap: int = 1) -> str:
    """One table row: each value fitted to its column width, joined by ``gap`` spaces."""
    return (" " * gap).join(fit(v, w) for v, w in zip(values, widths, strict=True))
