"""The QR code widget: what the screen shows must scan, in both forms, on dark and light themes.

The scan tests rebuild a picture from the cells the app's compositor produces (glyph + colours), not
from the matrix, and decode it with zxing-cpp: a drawing bug (swapped halves, a lost odd row, theme
colours leaking in, cropping) makes them fail the way a phone would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw
from rich.cells import cell_len
from textual.app import App, ComposeResult
from textual.containers import Container
from textual.geometry import Region

from esim_tui.domain.codes import ActivationCode
from esim_tui.ui.widgets.qr_code import QrCode

CSS = Path(__file__).resolve().parents[2] / "styles" / "qr_code.tcss"

PAYLOAD = "LPA:1$rsp.sandbox.octopuscards.example$K2-4CVQ7B-9MZXTLA"
#: 120 characters with an SM-DP+ OID: version 7 (53 modules, 53x27 cells compact, 106x53 large).
LONG_PAYLOAD = ActivationCode(
    "smdp-plus.rsp.eu-west-1.provider-example.travel", "JQ-1Y8R0S-7XKV2M4P9TQ3WZ5K", "1.3.6.1.4.1.31746.1.500.200.101.7.2.1.1"
).lpa

BLACK = (0, 0, 0)
WHITE = (255, 255, 255)

#: Pixels per terminal cell: cells are about twice as tall as wide, so a half block is a square module.
CELL_W, CELL_H = 4, 8


class QrApp(App):
    CSS_PATH = str(CSS)

    def __init__(self, payload: str = PAYLOAD, *, form: str = "auto", theme: str = "textual-dark") -> None:
        super().__init__()
        self._payload = payload
        self._form = form
        self._theme_name = theme
        self.animation_level = "none"

    def compose(self) -> ComposeResult:
        yield QrCode(self._payload, form=self._form)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.theme = self._theme_name


class AutoSizedQrApp(QrApp):
    """The widget sized by its content and centred by its container."""

    CSS = "Container { align: center middle; } QrCode { width: auto; height: auto; }"

    def compose(self) -> ComposeResult:
        with Container():
            yield QrCode(self._payload, form=self._form)  # type: ignore[arg-type]


# ---------------------------------------------------------------- reading the screen back


Cell = tuple[str, tuple[int, int, int] | None, tuple[int, int, int] | None]


def screen_cells(app: App) -> list[list[Cell]]:
    """Every cell of the composed screen as (glyph, foreground rgb, background rgb)."""
    width, height = app.size
    rows = []
    for strip in app.screen._compositor.render_strips():  # the same strips the SVG export prints
        row: list[Cell] = []
        for segment in strip:
            if segment.control:
                continue
            style = segment.style
            fg = tuple(style.color.get_truecolor()) if style and style.color else None
            bg = tuple(style.bgcolor.get_truecolor()) if style and style.bgcolor else None
            if style and style.reverse:
                fg, bg = bg, fg
            for char in segment.text:
                assert cell_len(char) == 1, f"unexpected wide character {char!r}"
                row.append((char, fg, bg))
        assert len(row) == width
        rows.append(row)
    assert len(rows) == height
    return rows


def screen_image(app: App, region: Region | None = None) -> Image.Image:
    """Paint the screen (or only ``region`` of it, e.g. the QR widget's) the way a terminal does with block
    elements, CELL_W x CELL_H pixels a cell."""
    cells = screen_cells(app)
    if region is not None:
        cells = [row[region.x : region.right] for row in cells[region.y : region.bottom]]
    image = Image.new("RGB", (len(cells[0]) * CELL_W, len(cells) * CELL_H))
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(cells):
        for x, (char, fg, bg) in enumerate(row):
            left, top = x * CELL_W, y * CELL_H
            if char == " ":
                halves = (bg, bg)
            elif char == "█":
                halves = (fg, fg)
            elif char == "▀":
                halves = (fg, bg)
            elif char == "▄":
                halves = (bg, fg)
            else:  # text on a QR screen would be drawn over the code; no test here expects any
                raise AssertionError(f"unexpected glyph {char!r} at {x},{y}")
            assert None not in halves, f"cell {x},{y} has no explicit colour"
            draw.rectangle((left, top, left + CELL_W - 1, top + CELL_H // 2 - 1), fill=halves[0])
            draw.rectangle((left, top + CELL_H // 2, left + CELL_W - 1, top + CELL_H - 1), fill=halves[1])
    return image


def scan(app: App, region: Region | None = None) -> list[str]:
    """Decode the screen (or ``region``) as a phone would; inverted (light-on-dark) codes are refused, as
    many phones do."""
    results = zxingcpp.read_barcodes(screen_image(app, region), formats=zxingcpp.BarcodeFormat.QRCode, try_invert=False)
    return [result.text for result in results]


def screen_text(app: App) -> str:
    return "\n".join("".join(char for char, _, _ in row) for row in screen_cells(app))


def qr_box(app: App) -> tuple[int, int, int, int]:
    """(left, top, columns, rows) of the cells drawn in pure black/white, i.e. the code with its margin."""
    hits = [
        (x, y)
        for y, row in enumerate(screen_cells(app))
        for x, (_, fg, bg) in enumerate(row)
        if bg in (BLACK, WHITE) and fg in (BLACK, WHITE)
    ]
    xs = [x for x, _ in hits]
    ys = [y for _, y in hits]
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


# ---------------------------------------------------------------- scanning


@pytest.mark.anyio
@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize(
    ("payload", "terminal", "form", "box"),
    [
        (PAYLOAD, (100, 40), "compact", (41, 21)),
        (PAYLOAD, (140, 60), "large", (82, 41)),
        (LONG_PAYLOAD, (100, 40), "compact", (53, 27)),
        (LONG_PAYLOAD, (140, 60), "large", (106, 53)),
    ],
    ids=["compact", "large", "long-compact", "long-large"],
)
async def test_screen_scans(payload: str, terminal: tuple[int, int], form: str, box: tuple[int, int], theme: str) -> None:
    """The picked form fills the expected cells, centred, and the screen decodes to the exact code."""
    app = QrApp(payload, theme=theme)
    async with app.run_test(size=terminal) as pilot:
        await pilot.pause()
        assert app.current_theme.name == theme
        assert app.query_one(QrCode).rendered_form == form
        left, top, columns, rows = qr_box(app)
        assert (columns, rows) == box
        assert (left, top) == ((terminal[0] - columns) // 2, (terminal[1] - rows) // 2)
        assert scan(app) == [payload]


@pytest.mark.anyio
async def test_payload_is_not_markup() -> None:
    """Square brackets are data: they go into the code unchanged, nothing is parsed as markup."""
    payload = "LPA:1$[b]smdp.example[/b]$[red]X1[/red]"
    app = QrApp(payload)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert scan(app) == [payload]


@pytest.mark.anyio
async def test_forced_form_and_toggle() -> None:
    """Forcing compact draws compact where large would fit; back to auto draws large again."""
    app = QrApp(form="compact")
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        assert widget.rendered_form == "compact"
        assert qr_box(app)[2:] == (41, 21)
        assert scan(app) == [PAYLOAD]
        widget.form = "auto"
        await pilot.pause()
        assert widget.rendered_form == "large"
        assert qr_box(app)[2:] == (82, 41)
        assert scan(app) == [PAYLOAD]
        with pytest.raises(ValueError):
            widget.form = "huge"  # type: ignore[assignment]


@pytest.mark.anyio
async def test_forced_large_without_room_says_so() -> None:
    """The large form is never squeezed or cropped: the agent is told to enlarge or go compact."""
    app = QrApp(form="large")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert app.query_one(QrCode).rendered_form is None
        text = " ".join(screen_text(app).split())
        assert "Terminal too small for the large QR code: needs 82×41, has 100×40." in text
        assert "switch to the compact QR code" in text
        assert "▀" not in text


@pytest.mark.anyio
async def test_resize_replans_the_code() -> None:
    """Shrinking the terminal goes large -> compact -> message, and growing it brings the code back."""
    app = QrApp()
    async with app.run_test(size=(140, 60)) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        assert widget.rendered_form == "large"
        await pilot.resize_terminal(100, 40)
        assert widget.rendered_form == "compact"
        assert scan(app) == [PAYLOAD]
        await pilot.resize_terminal(40, 20)  # one row short of the compact code
        assert widget.rendered_form is None
        assert "needs 41×21, has 40×20" in " ".join(screen_text(app).split())
        await pilot.resize_terminal(41, 21)  # exactly enough
        assert widget.rendered_form == "compact"
        assert scan(app) == [PAYLOAD]


@pytest.mark.anyio
async def test_too_small_shows_message_and_no_code() -> None:
    app = QrApp()
    async with app.run_test(size=(30, 12)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        flat = " ".join(text.split())
        assert "Terminal too small for the QR code: needs 41×21, has 30×12." in flat
        assert "use the manual codes instead" in flat
        assert not any(ch in text for ch in "▀▄█")
        cells = screen_cells(app)
        assert not any(bg in (BLACK, WHITE) for row in cells for _, _, bg in row)


@pytest.mark.anyio
async def test_show_new_payload_and_empty() -> None:
    """Nothing is drawn without a payload; show() draws the new code; an unencodable one says so."""
    app = QrApp("")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        assert widget.rendered_form is None and widget.matrix is None
        assert screen_text(app).strip() == ""
        widget.show(LONG_PAYLOAD)
        await pilot.pause()
        assert widget.matrix is not None and widget.matrix.version == 7
        assert scan(app) == [LONG_PAYLOAD]
        widget.show("x" * 3000)
        await pilot.pause()
        assert widget.matrix is None
        assert "too long for a QR code" in " ".join(screen_text(app).split())


@pytest.mark.anyio
async def test_auto_sized_widget_centres_in_its_container() -> None:
    """With width/height auto the widget is exactly the code's size and the container centres it."""
    app = AutoSizedQrApp()
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        widget = app.query_one(QrCode)
        assert widget.rendered_form == "compact"
        assert widget.region.size == (41, 21)
        assert (widget.region.x, widget.region.y) == ((100 - 41) // 2, (40 - 21) // 2)
        assert scan(app) == [PAYLOAD]


# ---------------------------------------------------------------- snapshots


def test_snapshot_compact(snap_compare) -> None:
    """Compact half-block code for a typical activation code, centred in a 100x40 terminal."""
    assert snap_compare(QrApp(), terminal_size=(100, 40))


def test_snapshot_large(snap_compare) -> None:
    """Large code (two cells per module) when the terminal has room for it."""
    assert snap_compare(QrApp(), terminal_size=(140, 60))


def test_snapshot_too_small(snap_compare) -> None:
    """A terminal too small for any form shows the message, never a cropped code."""
    assert snap_compare(QrApp(), terminal_size=(30, 12))
