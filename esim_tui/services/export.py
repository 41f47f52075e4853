"""Export an eSIM's install material to a folder: the QR as PNG and SVG, the install links, and the
provider's own install pack when it has one. No Textual.

The files hold a live activation code (a bearer token for the eSIM), so they are written 0600, each
atomically (a temporary file renamed into place), and never over an existing file of another order.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from esim_tui.domain.errors import EsimTuiError
from esim_tui.domain.orders import Order
from esim_tui.services.qr import DEFAULT_ERROR, QUIET_ZONE
from esim_tui.store.storage import ensure_private_folder

PNG_SCALE = 10  # pixels per module: about 450 px for a version 4 code, plenty for printing


class ExportFailed(EsimTuiError):
    def __init__(self, folder: Path, why: str) -> None:
        super().__init__(f"Could not export to {folder}: {why}.", "Choose another folder; nothing was lost, the order keeps its code.")


class NothingToExport(EsimTuiError):
    def __init__(self, why: str) -> None:
        super().__init__(why)


@dataclass(frozen=True)
class Export:
    folder: Path
    files: tuple[Path, ...]


def install_links(order: Order) -> str:
    """The text file beside the QR: every way to install the eSIM by hand."""
    code = order.activation
    assert code is not None
    lines = [
        f"eSIM for {order.customer_label or order.client_reference}",
        f"Plan: {order.plan.name} ({order.plan.destination.name})",
        f"ICCID: {order.iccid or '-'}",
        f"Client reference: {order.client_reference}",
        "",
        f"Activation code: {code.lpa}",
        f"SM-DP+ address: {code.smdp_address}",
        f"Matching ID: {code.matching_id or '(none)'}",
        "",
        f"iPhone, iOS 17.4+: {code.apple_install_url}",
        f"Android: {code.android_install_url}",
        "",
        "The code works once: after the eSIM is installed it cannot be used again.",
    ]
    return "\n".join(lines) + "\n"


def why_not_exportable(order: Order) -> str | None:
    """Why ``order`` has nothing to export, or None: what the desk is told when it presses e anyway."""
    if order.activation is None:
        return "This order has no activation code to export."
    if order.is_installed:
        return "This eSIM is installed: its activation code is spent, so there is nothing to export."
    return None


def export_install(order: Order, folder: Path, pack: bytes | None = None) -> Export:
    """Write ``<order>-qr.png``, ``<order>-qr.svg``, ``<order>-install.txt`` (and ``<order>-pack.zip``)."""
    if why := why_not_exportable(order):
        raise NothingToExport(why)
    folder = folder.expanduser()
    import segno  # lazily, as in services.qr: only an export needs it

    qr = segno.make(order.activation.lpa, error=DEFAULT_ERROR.lower(), micro=False, boost_error=False)
    png, svg = io.BytesIO(), io.BytesIO()
    # Black on white with the 4-module quiet zone, whatever the terminal's theme.
    qr.save(png, kind="png", scale=PNG_SCALE, border=QUIET_ZONE, dark="#000000", light="#ffffff")
    qr.save(svg, kind="svg", scale=PNG_SCALE, border=QUIET_ZONE, dark="#000000", light="#ffffff", title=f"eSIM {order.client_reference}")
    stem = f"esim-{order.client_reference}"
    contents = {
        f"{stem}-qr.png": png.getvalue(),
        f"{stem}-qr.svg": svg.getvalue(),
        f"{stem}-install.txt": install_links(order).encode(),
    }
    if pack:
        contents[f"{stem}-pack.zip"] = pack
    try:
        # A folder made here is 0700: it holds live codes. One that exists is the agent's and left as it is.
        ensure_private_folder(folder)
        written = tuple(_write_private(folder / name, data) for name, data in contents.items())
    except OSError as exc:
        raise ExportFailed(folder, exc.strerror or type(exc).__name__) from None
    return Export(folder, written)


def _write_private(path: Path, data: bytes) -> Path:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
