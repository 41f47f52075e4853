"""Misbehaving HTTP servers on loopback, on real sockets, for the network drills.

``DripServer`` answers every request with headers and then one byte at a time, forever.
``ResetProxy`` passes requests through to a real server (the sandbox) and answers them, except the
first ``resets`` order creates: it resets those connections (RST) after reading the request, having
forwarded it first when ``after_commit`` (the provider charged) or not at all.
"""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress

import httpx

HEAD_END = b"\r\n\r\n"


def read_request(conn: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
    """One HTTP/1.1 request from ``conn``: (method, target, headers, body); None if the peer closed."""
    data = b""
    while HEAD_END not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(HEAD_END)
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        body += chunk
    return method, target, headers, body


def reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN: the client sees 'connection reset by peer'."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class LoopbackServer:
    """Accepts on 127.0.0.1 in a thread; each connection is handled by ``handle`` in a thread of its own."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request read
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        self.listener.settimeout(0.05)  # closing a socket does not wake a blocked accept(): poll instead
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed: stopping
            conn.settimeout(None)
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with suppress(OSError), conn:
            self.handle(conn)

    def read(self, conn: socket.socket) -> tuple[str, str, dict[str, str], bytes] | None:
        request = read_request(conn)
        if request is not None:
            self.requests.append((request[0], request[1].split("?", 1)[0]))
        return request

    def __enter__(self) -> LoopbackServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._accepter.join(timeout=5)
        self.listener.close()
        for conn in self._conns:  # wake handlers blocked on an idle keep-alive connection
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)


class DripServer(LoopbackServer):
    """Sends a 200 with a long Content-Length, then one byte every ``interval`` seconds until the
    client goes away: each byte resets httpx's per-read timeout, so only an overall deadline ends it."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval

    def handle(self, conn: socket.socket) -> None:
        if self.read(conn) is None:
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n[")
        while not self.stopping.wait(self.interval):
            conn.sendall(b" ")  # raises once the client has closed: the thread ends


class ResetProxy(LoopbackServer):
    """A pass-through to ``upstream`` that resets the first ``resets`` order creates (POST .../orders)."""

    def __init__(self, upstream: str, *, resets: int, after_commit: bool) -> None:
        super().__init__()
        self.upstream = httpx.Client(base_url=upstream, timeout=10)
        self.resets_left = resets
        self.after_commit = after_commit
        self._lock = threading.Lock()

    def handle(self, conn: socket.socket) -> None:
        while (request := self.read(conn)) is not None:
            method, target, headers, body = request
            with self._lock:
                resetting = method == "POST" and target.split("?")[0].endswith("/orders") and self.resets_left > 0
                self.resets_left -= resetting
            forward = {k: v for k, v in headers.items() if k not in ("host", "content-length", "connection")}
            if resetting and not self.after_commit:
                reset(conn)
                return
            answer = self.upstream.request(method, target, headers=forward, content=body)
            if resetting:
                reset(conn)  # the provider has charged; the client never hears of it
                return
            head = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}"]
            head += [f"{k}: {v}" for k, v in answer.headers.items() if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")]
            head += [f"Content-Length: {len(answer.content)}", "", ""]
            conn.sendall("\r\n".join(head).encode("latin-1") + answer.content)

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.upstream.close()
