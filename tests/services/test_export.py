"""Exporting an eSIM's QR and install links: files a customer or a printer can use, private to the user."""

from __future__ import annotations

import stat

import pytest
import zxingcpp
from PIL import Image

from esim_tui.domain.orders import InstallState
from esim_tui.services.export import ExportFailed, NothingToExport, export_install
from tests.store import make_order as delivered_order


def test_export_writes_a_png_that_scans_an_svg_and_the_install_links(tmp_path):
    order = delivered_order()
    result = export_install(order, tmp_path / "exports")
    names = sorted(p.name for p in result.files)
    stem = f"esim-{order.client_reference}"
    assert names == [f"{stem}-install.txt", f"{stem}-qr.png", f"{stem}-qr.svg"]
    png = next(p for p in result.files if p.suffix == ".png")
    decoded = zxingcpp.read_barcodes(Image.open(png))
    assert [d.text for d in decoded] == [order.activation_code]
    svg = next(p for p in result.files if p.suffix == ".svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    text = next(p for p in result.files if p.suffix == ".txt").read_text()
    assert order.activation_code in text
    assert order.activation.apple_install_url in text and order.activation.android_install_url in text
    for path in result.files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_folder_the_export_makes_is_private_and_one_that_exists_is_left_as_it_is(tmp_path):
    import os

    old = os.umask(0o022)  # a usual umask: folders would be 0755, readable by everyone
    try:
        result = export_install(delivered_order(), tmp_path / "exports")
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        export_install(delivered_order(), shared)
    finally:
        os.umask(old)
    assert stat.S_IMODE(result.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # the agent's own folder: only the files are private
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in shared.iterdir())


def test_the_provider_pack_is_saved_beside_the_qr(tmp_path):
    order = delivered_order()
    result = export_install(order, tmp_path, pack=b"PK\x03\x04zip")
    pack = [p for p in result.files if p.suffix == ".zip"]
    assert len(pack) == 1 and pack[0].read_bytes() == b"PK\x03\x04zip"


def test_an_installed_esim_has_nothing_to_export(tmp_path):
    order = delivered_order().model_copy(update={"install_state": InstallState.INSTALLED})
    with pytest.raises(NothingToExport, match="spent"):
        export_install(order, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_gives_a_clear_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportFailed) as failure:
        export_install(delivered_order(), blocker / "sub")
    assert str(blocker) in failure.value.message and "Choose another folder" in failure.value.message
