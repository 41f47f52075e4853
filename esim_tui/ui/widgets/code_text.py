"""A code an agent reads out (SM-DP+ address, matching ID, ICCID): wrapped only between its parts, never inside one.

A code folded mid-token reads as two codes ("rsp.sandbox.octopusc" / "ards.example"), so the widget packs
whole parts into each line and breaks only between them. A part longer than the widget's room keeps its
line whole: the widget is never narrower than its longest part, and the scrolling container around it
scrolls sideways instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.content import Content
from textual.geometry import Size
from textual.widgets import Static


def lpa_parts(lpa: str) -> list[str]:
    """An activation code split after each ``$``: ``LPA:1$`` / ``smdp$`` / ``matching-id`` (the separators kept)."""
    fields = lpa.split("$")
    return [f + "$" for f in fields[:-1]] + ([fields[-1]] if fields[-1] else [])


def pack(parts: Sequence[str], width: int) -> list[str]:
    """Whole parts joined into lines of at most ``width`` cells; a longer part gets a line of its own."""
    lines: list[str] = []
    for part in parts:
        if lines and cell_len(lines[-1]) + cell_len(part) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return lines


class CodeText(Static):
    """Plain text (never markup) of ``parts`` joined, broken only between parts."""

    def __init__(self, parts: Sequence[str], *, id: str | None = None, classes: str | None = None) -> None:
        self.parts = [p for p in parts if p] or [""]
        super().__init__("".join(self.parts), id=id, classes=classes, markup=False)
        # Never narrower than the longest part: the container scrolls sideways rather than break it.
        self.styles.min_width = max(cell_len(p) for p in self.parts)

    @property
    def value(self) -> str:
        """The whole code, as it is copied or typed."""
        return "".join(self.parts)

    def lines(self, width: int) -> list[str]:
        return pack(self.parts, max(width, 1))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return cell_len(self.value)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Content:
        return Content("\n".join(self.lines(self.content_size.width)))
