"""The real app on a pseudo-terminal, for the kill drills: start it, type as the agent does, read its
screen, kill it with SIGKILL.

``AppOnPty`` runs ``python -m esim_tui`` on a pty of a fixed size. A thread reads everything the app
draws into ``Terminal``, a tiny model of a VT terminal (cursor moves, text, SGR colours, erases): enough
to read Textual's output as the agent sees it, QR code included.

``python -m tests.drills.app_pty STOP FD [esim-tui args]`` is the same command line with one hook on
the order store, for the two points of a sale the outside world cannot time: at STOP the worker that
saves the order writes ``parked <order id>`` on file descriptor FD and waits there to be killed (the
rest of the app keeps running, as it would while a disk write is slow):

``answered``  the provider's answer, with the activation code, is about to be saved; nothing on file yet
``saved``     the activation code is saved; nothing has shown it yet
"""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from typing import Any

from rich.cells import cell_len

from tests.drills import REPO, WATCHDOG_SECONDS

Colour = tuple[int, int, int] | None

# One escape sequence at the start of the text: CSI (params, intermediates, final), OSC, DCS/APC/PM
# strings, or a two-character escape.
_CSI = re.compile(r"\x1b\[([0-?]*)([ -/]*)([@-~])")
_STRING = re.compile(r"\x1b[\]P_^].*?(?:\x07|\x1b\\)", re.S)
_ESC = re.compile(r"\x1b[ -/]*[0-~]")
_TEXT = re.compile(r"[^\x00-\x1f\x1b\x7f]+")

#: The compact QR form draws every module pair as this glyph (esim_tui.ui.widgets.qr_code).
UPPER_HALF = "\u2580"
_BASIC = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229)]
_BRIGHT = [(127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]


def _xterm(index: int) -> tuple[int, int, int]:
    """An xterm 256-colour index as RGB."""
    if index < 8:
        return _BASIC[index]
    if index < 16:
        return _BRIGHT[index - 8]
    if index < 232:
        r, g, b = (index - 16) // 36, (index - 16) // 6 % 6, (index - 16) % 6
        return tuple(0 if c == 0 else 55 + 40 * c for c in (r, g, b))  # type: ignore[return-value]
    grey = 8 + 10 * (index - 232)
    return (grey, grey, grey)


class Terminal:
    """A screen of ``columns`` × ``rows`` cells, each a character with its foreground and background."""

    def __init__(self, columns: int, rows: int) -> None:
        self.columns, self.rows = columns, rows
        self.chars = [[" "] * columns for _ in range(rows)]
        self.fg: list[list[Colour]] = [[None] * columns for _ in range(rows)]
        self.bg: list[list[Colour]] = [[None] * columns for _ in range(rows)]
        self.x = self.y = 0
        self.pen: tuple[Colour, Colour] = (None, None)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self.drawing = False  # inside a synchronized frame: the screen is half drawn
        self.replies: list[bytes] = []  # answers to the app's queries, for the pty

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        self._pending = ""
        pos = 0
        while pos < len(text):
            ch = text[pos]
            if ch == "\x1b":
                kind = text[pos + 1 : pos + 2]
                pattern = _CSI if kind == "[" else _STRING if kind in ("]", "P", "_", "^") else _ESC
                match = pattern.match(text, pos)
                if match is None:
                    self._pending = text[pos:] if len(text) - pos < 4096 else ""  # cut short: wait for the rest
                    return
                if match.re is _CSI:
                    self._csi(*match.groups())
                pos = match.end()
            elif ch == "\r":
                self.x, pos = 0, pos + 1
            elif ch == "\n":
                self.y, pos = min(self.y + 1, self.rows - 1), pos + 1
            elif ch == "\b":
                self.x, pos = max(self.x - 1, 0), pos + 1
            elif (run := _TEXT.match(text, pos)) is not None:
                self._put(run.group())
                pos = run.end()
            else:
                pos += 1  # other control characters move nothing that matters here

    def _put(self, text: str) -> None:
        for ch in text:
            width = cell_len(ch)
            if width == 0:
                continue
            if self.x < self.columns:
                self._cell(self.x, ch)
                if width == 2 and self.x + 1 < self.columns:
                    self._cell(self.x + 1, "")
            self.x = min(self.x + width, self.columns)  # the app turns autowrap off (?7l)

    def _cell(self, x: int, ch: str) -> None:
        self.chars[self.y][x] = ch
        self.fg[self.y][x], self.bg[self.y][x] = self.pen

    def _blank(self, y: int, start: int, end: int) -> None:
        for x in range(start, end):
            self.chars[y][x], self.fg[y][x], self.bg[y][x] = " ", None, self.pen[1]

    def _csi(self, params: str, intermediates: str, final: str) -> None:
        if params == "?2026" and intermediates == "$" and final == "p":
            # "Do you do synchronized output?" Yes: the app then draws each frame between ?2026h and
            # ?2026l, so a frame is read whole, never half drawn.
            self.replies.append(b"\x1b[?2026;2$y")
        elif params == "?2026" and final in "hl":
            self.drawing = final == "h"
        if params[:1] in ("?", ">", "<", "="):
            return  # private modes and queries: nothing drawn
        numbers = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", params)] if params else []
        first = numbers[0] if numbers else 0
        if final in "Hf":
            row, col = (numbers + [0, 0])[:2]
            self.y, self.x = min(max(row, 1), self.rows) - 1, min(max(col, 1), self.columns) - 1
        elif final in "ABCDGd":
            step = max(first, 1)
            if final == "A":
                self.y = max(self.y - step, 0)
            elif final == "B":
                self.y = min(self.y + step, self.rows - 1)
            elif final == "C":
                self.x = min(self.x + step, self.columns)
            elif final == "D":
                self.x = max(self.x - step, 0)
            elif final == "G":
                self.x = min(step, self.columns) - 1
            else:
                self.y = min(step, self.rows) - 1
        elif final == "K":
            start, end = {0: (self.x, self.columns), 1: (0, self.x + 1)}.get(first, (0, self.columns))
            self._blank(self.y, start, min(end, self.columns))
        elif final == "J":
            rows = {0: range(self.y + 1, self.rows), 1: range(0, self.y)}.get(first, range(self.rows))
            for y in rows:
                self._blank(y, 0, self.columns)
            if first == 0:
                self._blank(self.y, self.x, self.columns)
        elif final == "m":
            self._sgr(numbers or [0])

    def _sgr(self, numbers: list[int]) -> None:
        fg, bg = self.pen
        i = 0
        while i < len(numbers):
            n = numbers[i]
            if n in (38, 48):
                colour: Colour = None
                if numbers[i + 1 : i + 2] == [2]:
                    colour, i = tuple(numbers[i + 2 : i + 5]), i + 5  # type: ignore[assignment]
                elif numbers[i + 1 : i + 2] == [5]:
                    colour, i = _xterm(numbers[i + 2]), i + 3
                else:
                    i += 1
                if n == 38:
                    fg = colour
                else:
                    bg = colour
                continue
            if n == 0:
                fg = bg = None
            elif n == 39:
                fg = None
            elif n == 49:
                bg = None
            elif 30 <= n <= 37 or 90 <= n <= 97:
                fg = (_BASIC if n < 90 else _BRIGHT)[n % 10]
            elif 40 <= n <= 47 or 100 <= n <= 107:
                bg = (_BASIC if n < 100 else _BRIGHT)[n % 10]
            i += 1
        self.pen = (fg, bg)

    # ------------------------------------------------------------ reading the screen

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.chars]

    def text(self) -> str:
        return "\n".join(self.lines())

    def qr_modules(self) -> list[tuple[bool, ...]] | None:
        """The QR code on screen, read back from its cells as module rows (True = dark), or None.

        The compact form: one run of half blocks per cell row at the same columns, the upper module as
        the foreground colour and the lower one as the background."""
        runs = [_widest_run(row) for row in self.chars]
        start = next((y for y, run in enumerate(runs) if run[1] - run[0] >= 21), None)
        if start is None:
            return None
        modules: list[tuple[bool, ...]] = []
        y = start
        while y < self.rows and runs[y] == runs[start]:
            x0, x1 = runs[y]
            modules.append(tuple(_dark(self.fg[y][x]) for x in range(x0, x1)))
            modules.append(tuple(_dark(self.bg[y][x]) for x in range(x0, x1)))
            y += 1
        return modules


def _widest_run(row: list[str]) -> tuple[int, int]:
    best, start = (0, 0), None
    for x, ch in enumerate([*row, ""]):
        if ch == UPPER_HALF and start is None:
            start = x
        elif ch != UPPER_HALF and start is not None:
            best = max(best, (start, x), key=lambda r: r[1] - r[0])
            start = None
    return best


def _dark(colour: Colour) -> bool:
    return colour is not None and sum(colour) < 3 * 128


class AppOnPty:
    """``python -m esim_tui`` on a ``columns`` × ``rows`` pty, in a session (process group) of its own,
    its screen kept in ``terminal``. With ``stop`` (one of STOPS), the same app hooked to park there.

    Use it in a ``with``: leaving kills it whatever happened. Every wait is bounded, and a watchdog
    kills it past WATCHDOG_SECONDS whatever the test does."""

    def __init__(self, env: dict[str, str], *, stop: str | None = None, columns: int = 120, rows: int = 40) -> None:
        command = [sys.executable, "-m", "esim_tui"]
        self._parked: int | None = None
        report = None
        if stop is not None:
            assert stop in STOPS, stop
            self._parked, report = os.pipe()
            command = [sys.executable, "-m", "tests.drills.app_pty", stop, str(report)]
        master, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.terminal = Terminal(columns, rows)
        self.transcript = bytearray()  # everything drawn, for a failure's message
        self._master = master
        self._changed = threading.Condition()
        self._closed = False
        try:
            self.proc = subprocess.Popen(
                command,
                stdin=follower,
                stdout=follower,
                stderr=follower,  # Textual draws on stderr
                env={**env, "PYTHONPATH": str(REPO)},
                cwd=REPO,
                start_new_session=True,
                pass_fds=(report,) if report is not None else (),
            )
        finally:
            os.close(follower)
            if report is not None:
                os.close(report)
        self._watchdog = threading.Timer(WATCHDOG_SECONDS, self._kill_group)
        self._watchdog.start()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> AppOnPty:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:  # EIO: every process holding the pty has gone
                data = b""
            with self._changed:
                if not data:
                    self._closed = True
                    self._changed.notify_all()
                    return
                self.transcript += data
                self.terminal.feed(data)
                for reply in self.terminal.replies:
                    os.write(self._master, reply)
                self.terminal.replies.clear()
                self._changed.notify_all()

    def press(self, *keys: str) -> None:
        """Type as the agent does: each key is text, or "enter" / "escape" / "down"."""
        for key in keys:
            os.write(self._master, {"enter": b"\r", "escape": b"\x1b", "down": b"\x1b[B"}.get(key, key.encode()))

    def screen(self) -> str:
        """The screen now (the last whole frame)."""
        return self.wait_for(lambda t: t.text())

    def qr_modules(self) -> list[tuple[bool, ...]] | None:
        return self.wait_for(lambda t: (t.qr_modules(),))[0]

    def wait_for(self, what: str | Callable[[Terminal], Any], timeout: float = 10.0) -> Any:
        """Wait until ``what`` (a text, or a test on the terminal) is on screen. Returns the screen's
        text for a text, the test's value for a test."""
        check = (lambda t: what in (s := t.text()) and s) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.terminal.drawing or not (found := check(self.terminal)):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    ended = "the app ended" if self._closed else f"not on screen after {timeout} s"
                    label = what if isinstance(what, str) else (what.__doc__ or what.__name__).strip()
                    raise AssertionError(f"{label!r}: {ended}. The screen:\n{self.terminal.text()}\n{self.tail()}")
                self._changed.wait(left)
            return found

    def tail(self) -> str:
        """The last of the raw output, escape sequences removed (a traceback ends up here)."""
        plain = re.sub(r"\x1b(\[[0-?]*[ -/]*[@-~]|[\]P_^].*?(\x07|\x1b\\)|[ -/]*[0-~])", "", self.transcript[-4000:].decode(errors="replace"))
        return plain.strip()[-1500:]

    def wait_parked(self, timeout: float = 10.0) -> str:
        """For a hooked app: wait until it parks at its stop; returns the order id it parked with."""
        assert self._parked is not None, "not started with a stop"
        ready, _, _ = select.select([self._parked], [], [], timeout)
        assert ready, f"the app did not reach its stop within {timeout} s. The screen:\n{self.screen()}\n{self.tail()}"
        words = os.read(self._parked, 256).decode().split()
        assert words[:1] == ["parked"], f"{words}\n{self.tail()}"
        return words[1]

    def kill(self) -> None:
        """SIGKILL to the whole process group: no handler runs, nothing is flushed or closed."""
        self._kill_group()
        assert self.proc.returncode == -signal.SIGKILL, f"the app was not killed by the drill (exit {self.proc.returncode}):\n{self.tail()}"
        self.close()

    def _kill_group(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def close(self) -> None:
        self._watchdog.cancel()
        self._kill_group()
        self._reader.join(timeout=5)
        for fd in (self._master, self._parked):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass  # closed already
        self._master = self._parked = None


# ---------------------------------------------------------------- the app with a parking hook (see module doc)

STOPS = ("answered", "saved")


def _install_stop(stop: str, fd: int) -> None:
    from esim_tui.store.orders import OrderStore

    save = OrderStore.save

    def park(order_id: str) -> None:
        os.write(fd, f"parked {order_id}\n".encode())
        threading.Event().wait(WATCHDOG_SECONDS)  # the test kills the process long before
        os._exit(3)

    def saving(self: OrderStore, order) -> None:  # noqa: ANN001
        if stop == "answered" and order.activation_code:
            park(order.id)
        save(self, order)
        if stop == "saved" and order.activation_code and order.shown_at is None:
            park(order.id)

    OrderStore.save = saving  # type: ignore[method-assign]


if __name__ == "__main__":
    stop, fd = sys.argv[1], int(sys.argv[2])
    if stop not in STOPS:
        raise SystemExit(f"STOP must be one of {', '.join(STOPS)}")
    _install_stop(stop, fd)
    from esim_tui.cli import main

    raise SystemExit(main(sys.argv[3:]))
