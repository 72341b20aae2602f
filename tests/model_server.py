"""A real HTTP server on 127.0.0.1 that serves model files the way a hub does, with switches for failures.

Each served file can drop the connection part-way, answer 503 a few times, send corrupt bytes, trickle
slowly, ignore `Range`, or sit behind a redirect that carries the hub's `X-Linked-Etag`. Every request's
path and `Range` header is recorded so tests can prove a download resumed. `block_internet` refuses any
socket that is not on this machine, so a test that passes cannot have downloaded anything real.
"""

from __future__ import annotations

import hashlib
import http.server
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}


@dataclass
class Served:
    """One file on the server and how it misbehaves."""

    body: bytes
    etag: str | None = None  # sent as the ETag header (quoted), e.g. the SHA-256 of `body`
    drop_after: int | None = None  # close the connection after this many body bytes ...
    drops: int = 0  # ... this many times
    fail_503: int = 0  # answer 503 Service Unavailable this many times first
    corrupt: bool = False  # send other bytes of the same length
    delay_s: float = 0.0  # sleep after each 4 KB chunk
    ignore_range: bool = False  # answer 200 with the whole file even when asked for a range
    redirect_to: str | None = None  # answer 302 to this path instead (a hub's resolve URL)
    linked_etag: str | None = None  # X-Linked-Etag sent with that redirect


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ModelServer:
    """The running server: `files` maps URL paths to what they serve; `requests` holds (path, Range)."""

    port: int = 0
    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ranges(self, path: str) -> list[str | None]:
        """The Range header of every GET of `path`, in order (None for a request without one)."""
        return [range_ for seen, range_ in self.requests if seen == path]


def _handler(server: ModelServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            range_header = self.headers.get("Range")
            server.requests.append((self.path, range_header))
            served = server.files.get(self.path)
            if served is None:
                self.send_error(404)
                return
            if served.fail_503 > 0:
                served.fail_503 -= 1
                self.send_error(503)
                return
            if served.redirect_to:
                self.send_response(302)
                self.send_header("Location", served.redirect_to)
                if served.linked_etag:
                    self.send_header("X-Linked-Etag", f'"{served.linked_etag}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = bytes(b ^ 0xFF for b in served.body) if served.corrupt else served.body
            start = 0
            if range_header and not served.ignore_range:
                start = int(range_header.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Accept-Ranges", "bytes")
            if served.etag:
                self.send_header("ETag", f'"{served.etag}"')
            self.end_headers()
            self._send_body(served, body, start)

        def _send_body(self, served: Served, body: bytes, start: int) -> None:
            position = start
            stop = len(body)
            dropping = served.drops > 0 and served.drop_after is not None and served.drop_after > start
            if dropping:
                served.drops -= 1
                stop = served.drop_after or 0
            try:
                while position < stop:
                    end = min(stop, position + 4096)
                    self.wfile.write(body[position:end])
                    self.wfile.flush()
                    position = end
                    if served.delay_s:
                        time.sleep(served.delay_s)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return
            if dropping:  # hang up with the body half sent, as a flaky network does
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


@contextmanager
def model_server() -> Iterator[ModelServer]:
    """A server on a free port of 127.0.0.1, stopped when the block ends."""
    state = ModelServer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _is_local(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def block_internet(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse every connection and name lookup that leaves this machine; returns the refused addresses."""
    refused: list[object] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):  # type: ignore[index]
            refused.append(address)
            raise ConnectionRefusedError(f"tests may not reach {address}")
        real_connect(self, address)  # type: ignore[arg-type]

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host is not None and not _is_local(host if not isinstance(host, bytes) else host.decode()):
            refused.append(host)
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not look up {host}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return refused
