"""The read-only HTTP endpoint: `/metrics` for Prometheus and a short page at `/`.

Nothing here can change anything: GET and HEAD on two paths, everything else is 404 or 405. It
binds loopback unless an address is given explicitly (`--listen 0.0.0.0:9617` for every
interface). Each request is answered from the exporter's latest snapshot on the server's own
thread, so a slow client or a source that is restarting never blocks a scrape.
"""

from __future__ import annotations

import errno
import html
import ipaddress
import socket
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scxtop.errors import ScxtopError
from scxtop.export.exporter import Exporter

DEFAULT_LISTEN = "127.0.0.1:9617"
REQUEST_TIMEOUT_S = 10.0
"""A client that sends nothing for this long is dropped (it would otherwise hold a thread)."""
MAX_CONNECTIONS = 32
"""Connections served at once; more are closed at once (a thread each: bounded, as we run as root)."""


class ListenError(ScxtopError):
    """--listen is malformed, or its address cannot be bound."""


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.host).is_loopback

    def url(self, path: str = "/") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"


def parse_listen(text: str) -> ListenAddress:
    """`HOST:PORT` or `[V6]:PORT` with a numeric address; the host is never implied."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ListenError(f"--listen {text!r}: give an address and a port, e.g. --listen {DEFAULT_LISTEN} "
                          "(or 0.0.0.0:9617 to listen on every interface)")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ListenError(f"--listen {text!r}: {host!r} is not a numeric IP address; use e.g. 127.0.0.1 "
                          "or ::1") from None
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ListenError(f"--listen {text!r}: the port must be a number from 0 to 65535") from None
    return ListenAddress(host, port)


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>scxtop exporter</title></head>
<body><h1>scxtop exporter</h1>
<p>Linux CPU scheduler metrics (runqueues, migrations, wakeup latency, mutex chains, sched_ext)
from the {source} source, one interval every {interval} s.</p>
<p><a href="/metrics">/metrics</a></p>
</body></html>
"""


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer
    timeout = REQUEST_TIMEOUT_S
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "scxtop"

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _refuse(self) -> None:
        self._send(405, b"read-only: only GET and HEAD\n", "text/plain; charset=utf-8", allow=True)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse

    def _answer(self, send_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, content_type = self.server.exporter.render(self.headers.get("Accept"))
        elif path == "/":
            snap = self.server.exporter.latest()
            body = PAGE.format(source=html.escape(snap.source) if snap else "(starting)",
                               interval=f"{snap.sample.interval_s:.3g}" if snap else "?").encode()
            content_type = "text/html; charset=utf-8"
        else:
            body, content_type = b"not found: try /metrics\n", "text/plain; charset=utf-8"
            self._send(404, body, content_type, send_body=send_body)
            return
        self._send(200, body, content_type, send_body=send_body)

    def _send(self, status: int, body: bytes, content_type: str, *, send_body: bool = True,
              allow: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", "GET, HEAD")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds is not news."""


class MetricsServer(ThreadingHTTPServer):
    """The endpoint, bound at construction (so a taken port fails before any collection starts)."""

    daemon_threads = True
    request_queue_size = 64  # listen backlog: a burst of scrapes is not dropped (the default is 5)
    allow_reuse_address = True  # a restart right after a stop must not wait for TIME_WAIT

    def __init__(self, address: ListenAddress, exporter: Exporter) -> None:
        self.address_family = address.family
        self.exporter = exporter
        try:
            super().__init__((address.host, address.port), _Handler)
        except OSError as err:
            raise ListenError(_bind_error(address, err)) from None
        self.bound = ListenAddress(address.host, self.server_address[1])
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hung up mid-answer is its own business; anything else is a bug: report it."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="scxtop-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()


def _bind_error(address: ListenAddress, err: OSError) -> str:
    where = f"{address.host}:{address.port}"
    if err.errno == errno.EADDRINUSE:
        return (f"cannot listen on {where}: the port is in use (another scxtop serve?); "
                "stop it or choose another port with --listen")
    if err.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no interface has that address; use 127.0.0.1 or one of this host's"
    if err.errno == errno.EACCES:
        return f"cannot listen on {where}: ports below 1024 need root; choose a port from 1024 up"
    return f"cannot listen on {where}: {err.strerror}"
