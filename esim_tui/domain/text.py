"""Provider text made safe to show: no control, bidi or format characters, bounded length.

Every string that comes from a provider goes through :func:`clean` before any widget sees it, and is
then rendered as plain text (never as markup). Textual passes ESC/OSC/CSI sequences to the terminal
even with ``markup=False``, so stripping is needed as well as plain rendering.
"""

from __future__ import annotations

import unicodedata

# Cc: C0/C1 controls (ESC, 0x9B CSI, DEL...). Cf: format and bidi controls (U+202E...).
# Cs: lone surrogates. Zl/Zp: line and paragraph separators.
_DROP = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def clean(text: object, *, max_length: int = 500, keep_newlines: bool = False) -> str:
    """Return ``text`` as a displayable string: control and bidi characters removed, length capped."""
    if text is None:
        return ""
    value = text if isinstance(text, str) else str(text)
    out = []
    for ch in value:
        if keep_newlines and ch == "\n":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif unicodedata.category(ch) not in _DROP:
            out.append(ch)
    result = "".join(out)
    if len(result) > max_length:
        result = result[: max_length - 1] + "…"
    return result
