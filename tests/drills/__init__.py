"""Fault drills with real processes and real sockets (issue 4): what a counter relies on after a crash.

Helpers shared by the drills: a child process that says what it did on stdout, is told nothing, and is
killed with SIGKILL at the point the test picks; and the sandbox ledger read over HTTP.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
TOKEN = "sandbox"  # the served sandbox's Octopus Cards token
#: A drill's child never takes this long; past it the watchdog kills it and the test fails.
WATCHDOG_SECONDS = 30.0


class Child:
    """``python -m <module> <args>`` with piped stdin/stdout; every read is bounded by a watchdog."""

    def __init__(self, module: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: list[str] = []
        self._watchdog = threading.Timer(WATCHDOG_SECONDS, self.proc.kill)
        self._watchdog.start()

    def read_line(self) -> str:
        assert self.proc.stdout is not None
        raw = self.proc.stdout.readline()
        if not raw:
            self.proc.wait()
            raise AssertionError(f"the child ended (exit {self.proc.returncode}) before saying what the drill waits for:\n{self.stderr()}")
        line = raw.decode().strip()
        self.lines.append(line)
        return line

    def wait_for(self, first_word: str) -> list[str]:
        """Read until a line starting with ``first_word``; returns that line's words."""
        while True:
            words = self.read_line().split()
            if words and words[0] == first_word:
                return words

    def kill(self) -> list[str]:
        """SIGKILL: no handler, no cleanup, no flush. Returns the lines it had printed before dying."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._watchdog.cancel()
        assert self.proc.returncode == -signal.SIGKILL, f"the child was not killed by the drill:\n{self.stderr()}"
        assert self.proc.stdout is not None
        rest = self.proc.stdout.read().decode().split("\n")
        self.lines.extend(line.strip() for line in rest if line.strip())
        self.close()
        return self.lines

    def finish(self) -> list[str]:
        """Let it run to its end (it must succeed). Returns everything it printed."""
        out, err = self.proc.communicate(timeout=WATCHDOG_SECONDS)
        self._watchdog.cancel()
        assert self.proc.returncode == 0, err.decode()
        self.lines.extend(line.strip() for line in out.decode().splitlines() if line.strip())
        return self.lines

    def stderr(self) -> str:
        try:
            return self.proc.stderr.read().decode() if self.proc.stderr else ""
        except ValueError:
            return ""

    def close(self) -> None:
        self._watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def say(*words: object) -> None:
    """A child tells the test where it is (one line on stdout)."""
    print(*words, flush=True)


def park() -> None:
    """A child waits here for SIGKILL, the whole process blocked, as a frozen machine would be.

    Returns only if the test closes the child's stdin (or dies) first; then the child just exits.
    """
    sys.stdin.buffer.read()
    os._exit(3)


def charges(url: str, reference: str | None = None, provider: str = "octopus") -> list[dict]:
    """The sandbox ledger's charges (GET /_sandbox/ledger): all of them, or one client reference's."""
    ledger = httpx.get(f"{url}/_sandbox/ledger", timeout=5).json()[provider]
    return [c for c in ledger["charges"] if reference is None or c["client_reference"] == reference]


def provider_code(url: str, provider_order_id: str) -> str:
    """The activation code the provider shows for the order now (it is not installed in any drill)."""
    answer = httpx.get(f"{url}/api/v1/esim/orders/{provider_order_id}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    code = answer.json()["data"]["activation_code"]
    assert code
    return code
