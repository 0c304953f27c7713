"""Widgets of the shift-lead panel: figure tiles, keyed live tables and charts.

The tables follow Dolphie: rows are keyed (agent name, ticket id) and updated in place, cell
by cell, so a refresh never rebuilds a table and the cursor stays on the row it was on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowKey
from textual_plotext import PlotextPlot


@dataclass(frozen=True, eq=True)
class Cell:
    """A table cell: what is shown, and what it sorts by (``None`` sorts last)."""

    text: str
    sort: Any = None
    style: str = ""

    def __rich__(self) -> Text:
        return Text(self.text, style=self.style)


def sort_key(cell: Any) -> tuple[int, Any]:
    value = cell.sort if isinstance(cell, Cell) else cell
    if value is None:
        return (1, 0)
    return (0, value)


class FigureTile(Vertical):
    """One headline figure: a label, the value, and a line under it."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id, classes="tile")
        self._label = label

    def compose(self) -> ComposeResult:
        yield Static(self._label, classes="label")
        yield Static("—", classes="value")
        yield Static("", classes="sub")

    def show(self, value: str, sub: str = "", *, alarm: bool = False) -> None:
        value_w = self.query_one(".value", Static)
        sub_w = self.query_one(".sub", Static)
        if str(value_w.content) != value:
            value_w.update(value)
        if str(sub_w.content) != sub:
            sub_w.update(sub)
        self.set_class(alarm, "-alarm")

    @property
    def value(self) -> str:
        return str(self.query_one(".value", Static).content)

    @property
    def sub(self) -> str:
        return str(self.query_one(".sub", Static).content)


class KeyedTable(DataTable[Any]):
    """A DataTable kept in step with a ``{row key: cells}`` mapping, in place."""

    def __init__(
        self, columns: Sequence[tuple[str, str, int]], sort_column: str | None, **kwargs: Any
    ) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._columns = list(columns)
        self._sort_column: str | None = sort_column
        self._sort_reverse = False

    def on_mount(self) -> None:
        for key, label, width in self._columns:
            self.add_column(label, key=key, width=width)

    @property
    def column_keys(self) -> list[str]:
        return [key for key, _, _ in self._columns]

    def current_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:
            return None
        return None if row_key.value is None else str(row_key.value)

    def sync_rows(self, rows: dict[str, list[Cell]]) -> None:
        """Make the table show exactly ``rows``: update changed cells, add and drop rows.

        Call inside ``app.batch_update()``; nothing is rebuilt, so the cursor keeps its row.
        """
        keep = self.current_key()
        present = {str(k.value) for k in self.rows}
        for gone in present - rows.keys():
            self.remove_row(gone)
        keys = self.column_keys
        for row_key, cells in rows.items():
            if row_key in present:
                old = self.get_row(row_key)
                for column, new, was in zip(keys, cells, old, strict=True):
                    if new != was:
                        self.update_cell(row_key, column, new)
            else:
                self.add_row(*cells, key=row_key)
        self._resort(keep)

    @property
    def sort_column(self) -> str | None:
        return self._sort_column

    @property
    def sort_reverse(self) -> bool:
        return self._sort_reverse

    def set_sort(self, column: str | None, reverse: bool = False) -> None:
        self._sort_column, self._sort_reverse = column, reverse
        self._resort(self.current_key())

    def _resort(self, keep: str | None) -> None:
        if self.row_count > 1 and self._sort_column is not None:
            self.sort(self._sort_column, key=sort_key, reverse=self._sort_reverse)
        if keep is not None and RowKey(keep) in self.rows:
            self.move_cursor(row=self.get_row_index(keep), animate=False)


class Chart(PlotextPlot):
    """A plotext chart redrawn from a callable that receives ``plt`` (only when data changes)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drawn: Any = object()

    def draw(self, data: Any, painter: Callable[[Any, Any], None]) -> None:
        if data == self._drawn:
            return
        self._drawn = data
        plt = self.plt
        plt.clear_figure()
        painter(plt, data)
        self.refresh()


class CountBars(Static):
    """Horizontal bars of whole counts, drawn as text: plotext measures a label by its
    characters, so Chinese names (two cells each) would push its frame out of line; here
    each label is padded by its width on screen, and each bar ends in its count."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self._drawn: Any = object()
        self.bars: tuple[tuple[str, int], ...] = ()

    def draw(self, bars: tuple[tuple[str, int], ...]) -> None:
        if bars == self._drawn:
            return
        self._drawn = self.bars = bars
        self.update(self._text(max(10, self.content_size.width or 40)))

    def on_resize(self) -> None:
        self.update(self._text(max(10, self.content_size.width)))

    def _text(self, width: int) -> Text:
        out = Text()
        if not self.bars:
            return out
        label_w = min(max(cell_len(name) for name, _ in self.bars), width // 3)
        top = max(n for _, n in self.bars) or 1
        number_w = len(str(top))
        room = max(1, width - label_w - number_w - 3)
        for i, (name, n) in enumerate(self.bars):
            if i:
                out.append("\n")
            out.append(set_cell_size(name, label_w) + " ")
            out.append("█" * round(room * max(0, n) / top), style="cyan")
            out.append(f" {n}", style="bold")
        return out
