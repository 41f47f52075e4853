"""Domain, adapters, sandbox, store and services work headless: importing them never loads Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = [
    "esim_tui.domain.destinations",
    "esim_tui.domain.orders",
    "esim_tui.domain.codes",
    "esim_tui.providers.octopus",
    "esim_tui.providers.esimgo",
    "esim_tui.sandbox.app",
    "esim_tui.sandbox.server",
    "esim_tui.store.orders",
    "esim_tui.services.ordering",
    "esim_tui.services.following",
    "esim_tui.services.catalogue",
    "esim_tui.services.qr",
    "esim_tui.services.support",
    "esim_tui.services.export",
    "esim_tui.reports",
    "esim_tui.config",
    "esim_tui.cli",
]


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; from esim_tui.sandbox.app import Sandbox; Sandbox(); print(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"{module} pulled in Textual: {out.stdout}"


# What `esim-tui` imports before its first paint: Textual and the standard library, not the services.
START_PATH = "import esim_tui.cli as cli; cli.build_parser(details=False); import esim_tui.config_file, esim_tui.ui.app"
# rapidfuzz: the search's typo matching, imported by the full catalogue's build or the first search of 3 letters
HEAVY = ("pydantic", "httpx", "pycountry", "babel", "tinydb", "filelock", "starlette", "segno", "rapidfuzz")


def test_the_first_paint_imports_none_of_the_services_libraries() -> None:
    code = f"import sys; {START_PATH}; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m == 'importlib.metadata'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"the start path pulled in: {out.stdout}"
