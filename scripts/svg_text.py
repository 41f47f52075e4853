"""Print the text of a Textual SVG screenshot line by line, to review snapshots in a terminal."""

from __future__ import annotations

import html
import re
import sys
from collections import defaultdict


def svg_lines(svg: str) -> list[str]:
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for x, y, text in re.findall(r'<text[^>]*x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        rows[float(y)].append((float(x), html.unescape(re.sub(r"<[^>]+>", "", text))))
    out = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            col = round(x / 12.2)
            line = line.ljust(col) + text
        out.append(line.rstrip())
    return out


if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"== {path}")
        print("\n".join(svg_lines(open(path, encoding="utf-8").read())))
