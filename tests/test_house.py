"""Rules of the house that keep it easy to change (CONTRIBUTING.md)."""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[1] / "esim_tui" / "ui"


def test_every_style_lives_in_the_stylesheets() -> None:
    """Screens' and widgets' styles are in styles/*.tcss, one place to look, never in the code."""
    inline = []
    for path in sorted(UI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target] if isinstance(item, ast.AnnAssign) else []
                    for target in targets:
                        if isinstance(target, ast.Name) and target.id in {"DEFAULT_CSS", "CSS"}:
                            inline.append(f"{path.relative_to(UI)}: {node.name}.{target.id}")
    assert inline == []
