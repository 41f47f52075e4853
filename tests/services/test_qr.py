"""QR matrices for activation codes: size, ECC level, quiet zone, exact payload, no Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest
import zxingcpp
from PIL import Image

from esim_tui.domain.codes import ActivationCode
from esim_tui.services.qr import QUIET_ZONE, QrMatrix, cell_size, qr_matrix

TYPICAL = "LPA:1$rsp.sandbox.octopuscards.example$K2-4CVQ7B-9MZXTLA"


def matrix_image(matrix: QrMatrix, scale: int = 4) -> Image.Image:
    """The matrix as a black-on-white image, ``scale`` pixels per module."""
    image = Image.new("L", (matrix.width, matrix.height), 255)
    image.putdata([0 if dark else 255 for row in matrix.rows for dark in row])
    return image.resize((matrix.width * scale, matrix.height * scale), Image.NEAREST)


@pytest.mark.parametrize(
    "lpa",
    [
        TYPICAL,
        "LPA:1$consumer.e-sim.global$TN2024061012345678901",
        "LPA:1$smdp-plus.esim-go.example.com$ESG-0A1B2C3D4E5F6A7B9C8D",
    ],
    ids=["56-chars", "49-chars", "60-chars"],
)
def test_typical_activation_code_size(lpa: str) -> None:
    """49-60 character codes are version 4 at ECC M: 41x41 modules with the quiet zone."""
    assert 49 <= len(lpa) <= 60
    matrix = qr_matrix(lpa)
    assert (matrix.version, matrix.error) == (4, "M")
    assert (matrix.width, matrix.height) == (41, 41)
    assert all(len(row) == 41 for row in matrix.rows)
    assert matrix.cells("compact") == (41, 21)
    assert matrix.cells("large") == (82, 41)


def test_error_level_is_not_boosted() -> None:
    """A short payload stays at M, where segno's default boost would raise it to Q at the same version."""
    import segno

    payload = "LPA:1$a.io"
    assert segno.make(payload, error="m", micro=False).error == "Q"  # the premise of this test
    matrix = qr_matrix(payload)
    assert (matrix.version, matrix.error) == (1, "M")
    assert qr_matrix(payload, error="Q").error == "Q"


def test_quiet_zone_is_four_light_modules() -> None:
    matrix = qr_matrix(TYPICAL)
    n = matrix.width
    for i in range(QUIET_ZONE):
        assert not any(matrix.rows[i]) and not any(matrix.rows[n - 1 - i])
        assert not any(row[i] for row in matrix.rows) and not any(row[n - 1 - i] for row in matrix.rows)
    # The finder patterns start right after the margin: their outer corners are dark.
    assert matrix.rows[QUIET_ZONE][QUIET_ZONE]
    assert matrix.rows[QUIET_ZONE][n - 1 - QUIET_ZONE]
    assert matrix.rows[n - 1 - QUIET_ZONE][QUIET_ZONE]


@pytest.mark.parametrize(
    ("width", "height", "form", "cells"),
    [
        (41, 41, "compact", (41, 21)),  # odd: the last module row takes a whole cell row
        (40, 40, "compact", (40, 20)),
        (41, 41, "large", (82, 41)),
        (29, 29, "compact", (29, 15)),
        (73, 73, "large", (146, 73)),
    ],
)
def test_cell_size(width: int, height: int, form, cells: tuple[int, int]) -> None:
    assert cell_size(width, height, form) == cells


def test_cell_size_refuses_unknown_form() -> None:
    with pytest.raises(ValueError):
        cell_size(41, 41, "huge")  # type: ignore[arg-type]


def test_payload_is_encoded_exactly_case_kept() -> None:
    """Matching IDs may be case-sensitive: the code must scan back to the very same string."""
    lpa = "LPA:1$rsp.sandbox.octopuscards.example$k2-4cvq7b-9MzXtLa"
    results = zxingcpp.read_barcodes(matrix_image(qr_matrix(lpa)), try_invert=False)
    assert [r.text for r in results] == [lpa]


def test_longest_activation_code_is_encodable() -> None:
    """255 characters, the SGP.22 maximum, is version 12 at M: 73 modules, 73x37 cells compact."""
    head = "LPA:1$smdp." + "a" * 60 + ".example$" + "M" * 60 + "$1."
    lpa = ActivationCode.parse(head + "2" * (255 - len(head))).lpa
    assert len(lpa) == 255
    matrix = qr_matrix(lpa)
    assert (matrix.version, matrix.width) == (12, 73)
    assert matrix.cells("compact") == (73, 37)
    assert [r.text for r in zxingcpp.read_barcodes(matrix_image(matrix), try_invert=False)] == [lpa]


def test_empty_and_oversized_payloads_are_refused() -> None:
    with pytest.raises(ValueError):
        qr_matrix("")
    with pytest.raises(ValueError):  # segno.DataOverflowError is a ValueError
        qr_matrix("x" * 3000)


def test_matrix_is_immutable() -> None:
    matrix = qr_matrix(TYPICAL)
    with pytest.raises(AttributeError):
        matrix.version = 5  # type: ignore[misc]
    assert isinstance(matrix.rows, tuple) and isinstance(matrix.rows[0], tuple)


def test_import_is_cheap_and_headless() -> None:
    """Importing the module pulls in neither Textual nor segno (segno is loaded on first use)."""
    code = (
        "import sys, esim_tui.services.qr as q\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
        "assert 'segno' not in sys.modules, 'segno imported eagerly'\n"
        "q.qr_matrix('x')\n"
        "assert 'segno' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
