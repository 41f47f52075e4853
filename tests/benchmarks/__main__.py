"""``python -m tests.benchmarks [store] [support] [counter]``: the speed figures, each with its target.

Prints every figure with its target and verdict (PASS or OK when met, FAIL or TOO SLOW when not) and
always exits 0: it reports, it does not fail CI. With no name it runs them all (a few minutes):

- store:   the order store with 100,000 orders on disk (bench_store)
- support: the support desk's order search over 100,000 orders (bench_support)
- counter: the sale screens with a catalogue of 10,000 plans, and start-up (bench_counter)
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import traceback

BENCHMARKS = {
    "store": "tests.benchmarks.bench_store",
    "support": "tests.benchmarks.bench_support",
    "counter": "tests.benchmarks.bench_counter",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    from textual import __version__ as textual_version

    print(f"esim-tui benchmarks · Python {platform.python_version()} · Textual {textual_version} · {os.cpu_count()} CPUs", flush=True)
    for name in names:
        start = time.perf_counter()
        print(f"\n[{name}]", flush=True)
        try:
            for line in importlib.import_module(BENCHMARKS[name]).run():
                print(line, flush=True)
        except Exception:  # one benchmark failing to run must not hide the others' figures
            print(f"{name}: FAILED TO RUN\n{traceback.format_exc()}", flush=True)
        print(f"({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
