"""A QR code drawn with terminal cells, for the customer's phone to scan off the counter screen.

The code is always black modules on a white quiet zone, whatever the theme: inverted codes (light on
dark) are not read by every phone camera. It is drawn whole or not at all: a cropped code cannot scan,
so when the widget is too small it shows how much room it needs instead.

Two forms (sizes from ``esim_tui.services.qr``):
- large:   two cells per module across, one per module down, drawn as background colour only (no glyph,
           so no font gap can show); a version-4 code needs 82×41 cells.
- compact: "▀" per cell, foreground = upper module, background = lower module; 41×21 cells for
           version 4. Depends on the font drawing the half block flush, which most do.

``form = "auto"`` draws the large form when it fits and the compact one otherwise; "large" or "compact"
force one (the screen's "large QR" toggle).

Give the widget its room from the layout (styles/qr_code.tcss: ``width: 1fr; height: 1fr``) and it
centres the code in it and re-plans on every resize. ``width: auto; height: auto`` also works: the widget
then asks for the size of the largest form its container can hold, but a container that is later
smaller than that would clip it, so prefer the fractional sizing. (The handover screen uses auto, so the
codes beside it take exactly the room the code leaves; a message in place of the code keeps to a narrow
column there.)
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from esim_tui.services.qr import QrForm, QrMatrix, qr_matrix

FormChoice = Literal["auto", "compact", "large"]
_FORM_CHOICES = ("auto", "compact", "large")

#: Module colours. Fixed, not theme variables: scanners want dark modules on a light background.
DARK = "#000000"
LIGHT = "#ffffff"


def _style(foreground: bool, background: bool) -> Style:
    """A style for a cell whose foreground/background show a dark (True) or light (False) module."""
    return Style(color=DARK if foreground else LIGHT, bgcolor=DARK if background else LIGHT)


_UPPER_HALF = "\u2580"  # ▀
T = TypeVar("T")


def _compact_rows(matrix: QrMatrix) -> list[list[Segment]]:
    """Cell rows of the compact form: each cell shows two modules, upper as foreground of "▀"."""
    rows = list(matrix.rows)
    if len(rows) % 2:
        # An odd last module row pairs with a light row: the extra half row only widens the quiet zone.
        rows.append((False,) * matrix.width)
    lines = []
    for upper, lower in zip(rows[0::2], rows[1::2]):
        lines.append(_runs(list(zip(upper, lower, strict=True)), lambda pair, n: Segment(_UPPER_HALF * n, _style(*pair))))
    return lines


def _large_rows(matrix: QrMatrix) -> list[list[Segment]]:
    """Cell rows of the large form: each module is two spaces in the module's colour as background."""
    return [_runs(list(row), lambda dark, n: Segment("  " * n, _style(dark, dark))) for row in matrix.rows]


def _runs(cells: Sequence[T], make: Callable[[T, int], Segment]) -> list[Segment]:
    """Segments for a row of cell values, one segment per run of equal values."""
    segments: list[Segment] = []
    start = 0
    for x in range(1, len(cells) + 1):
        if x == len(cells) or cells[x] != cells[start]:
            segments.append(make(cells[start], x - start))
            start = x
    return segments


class QrCode(Widget):
    """Draws ``payload`` as a QR code that fits the widget, or a message saying how much room it needs."""

    COMPONENT_CLASSES = {"qr-code--message"}
    """``qr-code--message``: the text shown in place of a code that does not fit."""

    #: Appended to the "too small" message; the handover screen always shows the codes for manual entry.
    TOO_SMALL_HINT = "Enlarge the window, or use the manual codes instead."

    #: With ``width: auto``, the most a message (in place of a code) asks for: the manual codes
    #: beside it need the room more than the message does.
    MESSAGE_WIDTH = 30

    payload: reactive[str] = reactive("", layout=True, init=False)
    """The text to encode (an activation code's ``lpa``). Empty draws nothing."""

    form: reactive[FormChoice] = reactive("auto", layout=True, init=False)
    """"auto" (large if it fits, else compact), or force "compact" / "large"."""

    def __init__(
        self,
        payload: str = "",
        *,
        form: FormChoice = "auto",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._matrix: QrMatrix | None = None
        self._unencodable = False
        self._rows: dict[QrForm, list[list[Segment]]] = {}
        self.set_reactive(QrCode.form, self.validate_form(form))
        self.set_reactive(QrCode.payload, payload)
        self._encode(payload)

    # ------------------------------------------------------------------ public API

    def show(self, payload: str) -> None:
        """Show a new code (same as setting ``payload``)."""
        self.payload = payload

    @property
    def matrix(self) -> QrMatrix | None:
        """The matrix being drawn, or None when there is no payload or it cannot be encoded."""
        return self._matrix

    @property
    def rendered_form(self) -> QrForm | None:
        """The form drawn at the widget's current size, or None when no code is drawn."""
        form, _ = self._plan(self.content_size)
        return form

    # ------------------------------------------------------------------ reactives

    def validate_form(self, form: str) -> FormChoice:
        if form not in _FORM_CHOICES:
            raise ValueError(f"QR form must be one of {', '.join(_FORM_CHOICES)}, not {form!r}")
        return form  # type: ignore[return-value]

    def watch_payload(self, payload: str) -> None:
        self._encode(payload)

    def _encode(self, payload: str) -> None:
        self._rows = {}
        self._unencodable = False
        self._matrix = None
        if not payload:
            return
        try:
            self._matrix = qr_matrix(payload)
        except ValueError:  # includes segno.DataOverflowError: longer than any QR version holds
            self._unencodable = True

    # ------------------------------------------------------------------ planning

    def _candidates(self) -> tuple[QrForm, ...]:
        if self.form == "auto":
            return ("large", "compact")
        return (self.form,)

    def _fitting_form(self, size: Size) -> QrForm | None:
        if self._matrix is None:
            return None
        for form in self._candidates():
            columns, rows = self._matrix.cells(form)
            if columns <= size.width and rows <= size.height:
                return form
        return None

    def _plan(self, size: Size) -> tuple[QrForm | None, str]:
        """What to draw in ``size``: a form, or None and a message (empty for nothing at all)."""
        if self._unencodable:
            return None, "This activation code is too long for a QR code: use the manual codes instead."
        if self._matrix is None:
            return None, ""
        form = self._fitting_form(size)
        if form is not None:
            return form, ""
        smallest = self._candidates()[-1]
        columns, rows = self._matrix.cells(smallest)
        what = "the large QR code" if self.form == "large" else "the QR code"
        return None, (
            f"Terminal too small for {what}: needs {columns}×{rows}, has {size.width}×{size.height}. "
            + ("Enlarge the window or switch to the compact QR code." if self.form == "large" else self.TOO_SMALL_HINT)
        )

    def _cell_rows(self, form: QrForm) -> list[list[Segment]]:
        assert self._matrix is not None
        if form not in self._rows:
            self._rows[form] = _compact_rows(self._matrix) if form == "compact" else _large_rows(self._matrix)
        return self._rows[form]

    # ------------------------------------------------------------------ sizing (for width/height: auto)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        form = self._fitting_form(container)
        if form is not None and self._matrix is not None:
            return self._matrix.cells(form)[0]
        _, message = self._plan(container)
        return min(len(message), self.MESSAGE_WIDTH, container.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        form = self._fitting_form(container)
        if form is not None and self._matrix is not None:
            return self._matrix.cells(form)[1]
        _, message = self._plan(container)
        return len(textwrap.wrap(message, max(width, 1))) if message else 0

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        size = self.content_size
        base = self.visual_style.rich_style
        form, message = self._plan(size)
        if form is not None and self._matrix is not None:
            rows = self._cell_rows(form)
            columns = self._matrix.cells(form)[0]
            top = (size.height - len(rows)) // 2
            if top <= y < top + len(rows):
                return self._centred(rows[y - top], columns, size.width, base)
            return Strip.blank(size.width, base)
        if message and size.width > 0:
            # Plain text segments: nothing here is ever read as markup.
            style = self.get_component_rich_style("qr-code--message")
            lines = textwrap.wrap(message, size.width)
            top = max((size.height - len(lines)) // 2, 0)
            if top <= y < top + len(lines):
                text = lines[y - top]
                return self._centred([Segment(text, style)], len(text), size.width, base)
        return Strip.blank(size.width, base)

    @staticmethod
    def _centred(segments: list[Segment], length: int, width: int, base: Style) -> Strip:
        left = (width - length) // 2
        right = width - length - left
        parts = ([Segment(" " * left, base)] if left else []) + segments + ([Segment(" " * right, base)] if right else [])
        return Strip(parts, width)
