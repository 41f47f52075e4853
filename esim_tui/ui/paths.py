"""Where the Textual CSS is: inside the wheel (esim_tui/styles) or, in a source checkout, top-level styles/."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def styles_dir() -> Path:
    shipped = _PACKAGE / "styles"
    return shipped if shipped.is_dir() else _PACKAGE.parent / "styles"


def stylesheets() -> list[Path]:
    return sorted(styles_dir().glob("*.tcss"))
