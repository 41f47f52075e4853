"""A keyboard-first table that draws only the rows on screen (Textual's line API).

Refilling a DataTable with 10,000 rows takes about a second; swapping this widget's row list costs
nothing, so filtering as the agent types stays within a frame. Cells are plain text, never markup.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from esim_tui.domain.text import clean

RowT = TypeVar("RowT")

#: The cursor when the highlighted row has left the list: nothing is highlighted, and an action says so.
NONE = -1

LEFT = "The row you had highlighted has left this list; choose one."


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    width: int  # cells; a flex column grows or shrinks (to half this) with the room there is
    align: str = "left"  # "left" or "right"
    flex: bool = False


class OfferTable(ScrollView, Generic[RowT], can_focus=True):
    """Rows of any objects, formatted to cells by ``format_row``. Up/Down move, Enter chooses.

    The highlight is a row's identity (``key``, e.g. an order id), never a position: when the list
    changes under the agent (``set_rows(keep=True)``) it stays on that row wherever it moved; when the
    row has left, nothing is highlighted (``highlighted`` is None) until the agent moves, and Enter
    says so (``left_text``) instead of choosing another row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home", "edge(0)", "First", show=False, id="table.first"),
        Binding("end", "edge(1)", "Last", show=False, id="table.last"),
        Binding("enter", "choose", "Choose", id="table.choose"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"offer-table--header", "offer-table--cursor", "offer-table--row", "offer-table--empty"}

    cursor: reactive[int] = reactive(0, always_update=True)

    class _RowMessage(Message):
        def __init__(self, table: OfferTable, row: Any) -> None:
            self.table = table
            self.row = row
            super().__init__()

        @property
        def control(self) -> OfferTable:
            return self.table

    class Highlighted(_RowMessage):
        """The cursor moved to ``row`` (None: the highlighted row left the list)."""

    class Chosen(_RowMessage):
        """Enter (or a click on the highlighted row) chose ``row``."""

    def __init__(
        self,
        columns: Sequence[Column],
        format_row: Callable[[RowT], Sequence[str]],
        *,
        empty_text: str = "Nothing to show.",
        key: Callable[[RowT], Hashable] | None = None,
        left_text: str = LEFT,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns = tuple(columns)
        self.format_row = format_row
        self.empty_text = empty_text
        self.key = key
        self.left_text = left_text
        self.rows: Sequence[RowT] = ()
        self._line_cache: dict[tuple[int, int, bool], Strip] = {}

    # ------------------------------------------------------------ data

    def set_rows(self, rows: Sequence[RowT], *, keep: bool = False) -> None:
        """Show ``rows``. A fresh list (the agent's own search) starts at its first row; ``keep``: the
        list changed under the agent, so the highlight stays on the same row (by ``key``), or on
        nothing when that row has left (or had left before)."""
        before = self.highlighted
        self.rows = rows
        self._line_cache.clear()
        self.virtual_size = Size(self._table_width(), len(rows) + 1)
        index = 0
        if keep and before is not None:
            try:
                # C speed, stopping at the row: the order list may hold 100,000 rows
                index = operator.indexOf(map(self.key, rows), self.key(before)) if self.key else rows.index(before)
            except ValueError:
                index = NONE
        elif keep and self.cursor == NONE:
            index = NONE  # gone it stays: a row that arrives since was never the one the agent saw
        self.cursor = index
        self.refresh()

    @property
    def highlighted(self) -> RowT | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def left(self) -> bool:
        """The row the agent had highlighted has left the list (and they have not moved since)."""
        return self.cursor == NONE

    def acted_on(self, none_text: str = "") -> RowT | None:
        """The highlighted row, for an action on it; None when there is none, and the agent is told
        why (``left_text`` when it left the list, else ``none_text`` if given)."""
        row = self.highlighted
        if row is None and (self.left or none_text):
            self.notify(self.left_text if self.left else none_text, severity="warning", markup=False)
        return row

    def refresh_rows(self) -> None:
        """Redraw after the row objects changed in place."""
        self._line_cache.clear()
        self.refresh()

    # ------------------------------------------------------------ cursor

    def validate_cursor(self, value: int) -> int:
        if value == NONE:
            return NONE
        return max(0, min(value, len(self.rows) - 1)) if self.rows else 0

    def watch_cursor(self, old: int, new: int) -> None:
        self._line_cache = {k: v for k, v in self._line_cache.items() if k[0] not in (old, new)}
        self.refresh()
        if new == NONE:
            self.post_message(self.Highlighted(self, None))
            return
        self._scroll_to_cursor()
        if self.rows:
            self.post_message(self.Highlighted(self, self.rows[new]))

    def _scroll_to_cursor(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        if self.cursor == NONE:  # from nothing highlighted: Down goes to the first row, Up to the last
            self.action_edge(0 if step > 0 else 1)
        else:
            self.cursor = max(0, self.cursor + step)

    def action_page(self, direction: int) -> None:
        if self.cursor == NONE:
            self.action_edge(0 if direction > 0 else 1)
        else:
            self.cursor = max(0, self.cursor + direction * max(1, self.scrollable_content_region.height - 2))

    def action_edge(self, end: int) -> None:
        self.cursor = len(self.rows) - 1 if end and self.rows else 0

    def action_choose(self) -> None:
        row = self.acted_on()
        if row is not None:
            self.post_message(self.Chosen(self, row))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor:
                self.action_choose()
            else:
                self.cursor = index

    def on_resize(self) -> None:
        self._line_cache.clear()
        self.virtual_size = Size(self._table_width(), len(self.rows) + 1)

    # ------------------------------------------------------------ drawing

    def _table_width(self) -> int:
        return self.scrollable_content_region.width

    def _widths(self, width: int) -> list[int]:
        flex = next((i for i, c in enumerate(self.columns) if c.flex), len(self.columns) - 1)
        fixed = sum(c.width + 1 for i, c in enumerate(self.columns) if i != flex)
        room = width - fixed
        column = self.columns[flex]
        widths = [c.width for c in self.columns]
        widths[flex] = max(room, column.width // 2) if room < column.width or column.flex else max(column.width, room)
        return widths

    def _cells(self, values: Sequence[str], width: int) -> str:
        parts = []
        for column, w, value in zip(self.columns, self._widths(width), values, strict=False):
            text = clean(value, max_length=max(w, 1))
            if len(text) > w:
                text = text[: max(w - 1, 0)] + "…"
            parts.append(text.rjust(w) if column.align == "right" else text.ljust(w))
        return " ".join(parts)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            style = self.get_component_rich_style("offer-table--header")
            return Strip([Segment(self._cells([c.label for c in self.columns], width)[:width].ljust(width), style)])
        index = int(self.scroll_y) + y - 1
        if not self.rows:
            if y == 1:
                style = self.get_component_rich_style("offer-table--empty")
                return Strip([Segment(clean(self.empty_text)[:width].ljust(width), style)])
            return Strip.blank(width, self.rich_style)
        if index >= len(self.rows):
            return Strip.blank(width, self.rich_style)
        is_cursor = index == self.cursor
        key = (index, width, is_cursor and self.has_focus)
        strip = self._line_cache.get(key)
        if strip is None:
            if is_cursor:
                style = self.get_component_rich_style("offer-table--cursor" if self.has_focus else "offer-table--row")
                style += Style(reverse=not self.has_focus)
            else:
                style = self.get_component_rich_style("offer-table--row")
            text = self._cells(self.format_row(self.rows[index]), width)
            strip = Strip([Segment(text[:width].ljust(width), style)])
            self._line_cache[key] = strip
        return strip

    def on_focus(self) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._line_cache.clear()
        self.refresh()
