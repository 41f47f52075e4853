"""QR code module matrices for activation codes, and their size in terminal cells. No Textual.

The counter screen draws the matrix itself (``esim_tui.ui.widgets.qr_code``); this module only decides
which modules are dark and how many cells each drawing form needs, so it can be tested headless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The quiet zone the QR specification asks for (ISO/IEC 18004 §6.3.8): 4 light modules on every side.
#: Scanners find the code by its contrast with this margin, so it is always part of the matrix.
QUIET_ZONE = 4

#: ECC level M recovers ~15 % damage (glare on a screen, a dead pixel) and keeps a typical activation
#: code at version 4 (41×41 modules with the quiet zone), small enough for a 24-row terminal.
DEFAULT_ERROR = "M"

QrForm = Literal["compact", "large"]
"""How a matrix is drawn in a terminal.

compact: one cell per module across, two modules per cell down (upper half block with fg/bg colours);
large:   two cells per module across, one cell per module down (full background-colour cells).
"""


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """The modules of a QR code, quiet zone included. ``rows[y][x]`` is True for a dark module."""

    rows: tuple[tuple[bool, ...], ...]
    version: int
    error: str

    @property
    def width(self) -> int:
        """Width in modules, quiet zone included."""
        return len(self.rows[0]) if self.rows else 0

    @property
    def height(self) -> int:
        """Height in modules, quiet zone included."""
        return len(self.rows)

    def cells(self, form: QrForm) -> tuple[int, int]:
        """The (columns, rows) of terminal cells the matrix needs when drawn in ``form``."""
        return cell_size(self.width, self.height, form)


def cell_size(width_modules: int, height_modules: int, form: QrForm) -> tuple[int, int]:
    """The (columns, rows) of terminal cells a ``width_modules`` × ``height_modules`` matrix needs."""
    if form == "compact":
        # Two module rows per cell row; an odd last row takes a whole cell row (paired with light).
        return width_modules, (height_modules + 1) // 2
    if form == "large":
        return 2 * width_modules, height_modules
    raise ValueError(f"unknown QR form {form!r}")


def qr_matrix(payload: str, *, error: str = DEFAULT_ERROR) -> QrMatrix:
    """Build the QR matrix for ``payload`` with a 4-module quiet zone.

    ``boost_error=False`` keeps the ECC level at ``error``: segno would otherwise raise it whenever the
    version stays the same, which is harmless for the size but makes the level depend on the payload.

    The payload is encoded exactly as given. In particular it is NOT upper-cased to reach the denser
    alphanumeric mode (which would save one version): SM-DP+ host names are case-insensitive, but
    SGP.22 does not promise that matching IDs are, so an upper-cased code could fail to download the
    profile. segno still picks alphanumeric mode by itself when the provider's code is already
    all upper case.

    Raises ValueError for an empty payload and ``segno.DataOverflowError`` (a ValueError) for a payload
    too long for any QR version.
    """
    if not payload:
        raise ValueError("an empty payload has nothing to scan")
    import segno  # lazily: the import costs ~40 ms and only the handover screen needs it

    code = segno.make(payload, error=error.lower(), micro=False, boost_error=False)
    rows = tuple(tuple(bool(module) for module in row) for row in code.matrix_iter(scale=1, border=QUIET_ZONE))
    return QrMatrix(rows=rows, version=int(code.version), error=code.error)
