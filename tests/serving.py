"""`scxtop serve` as a user runs it, for the tests: a subprocess on a free loopback port, its
stderr read as it comes, scraped over real HTTP (loopback only), stopped with a signal."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

ROOT = Path(__file__).resolve().parent.parent
OPENMETRICS = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
START_TIMEOUT_S = 60.0
_SERVING = re.compile(r"serving (http://\S+)/metrics")

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def series(self) -> Series:
        parse = parse_openmetrics if self.content_type.startswith("application/openmetrics") else parse_text
        return {(s.name, frozenset(s.labels.items())): s.value
                for family in parse(self.body.decode()) for s in family.samples}


def get(url: str, accept: str | None = None, method: str = "GET", timeout: float = 10.0) -> Reply:
    request = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Reply(answer.status, answer.headers.get("Content-Type", ""), answer.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.headers.get("Content-Type", ""), err.read())


class Serve:
    """`python -m scxtop serve ARGS --listen 127.0.0.1:0`; `url` once it says where it serves."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, listen: str = "127.0.0.1:0") -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "scxtop", "serve", "--listen", listen, *args],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.stderr: list[str] = []
        self._serving = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            m = _SERVING.search(line)
            if m and not self.url:
                self.url = m[1]
                self._serving.set()

    def wait_serving(self, timeout: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout
        while not self._serving.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"scxtop serve did not start (status {self.proc.poll()}): "
                                     f"{''.join(self.stderr)[-2000:]}")
        return self.url

    def metrics(self, accept: str | None = OPENMETRICS) -> Reply:
        return get(self.url + "/metrics", accept)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"scxtop serve did not stop on {sig.name}") from None


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[Serve]:
    server = Serve(*args, env=env)
    try:
        server.wait_serving()
        yield server
    finally:
        server.stop()


def wait_for(condition, what: str, timeout: float = 60.0, every: float = 0.2):
    """Poll `condition()` until it returns something truthy (returned), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)
