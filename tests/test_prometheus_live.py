"""The real thing: Debian's Prometheus scrapes `scxtop serve` (bpftrace source) every second while
busy loops are pinned to CPU 1, and its query API must show that CPU's runqueue.

Prometheus runs with our own configuration: loopback only, a temporary storage directory, free
ports, a 1 s scrape interval. Everything it and scxtop start is stopped at the end and checked
gone. All traffic is on 127.0.0.1; every wait has a deadline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import Serve, wait_for
from workloads import bpf_skip_reason, marked_env, pinned_busy_loops, processes_with

BUSY_CPU, QUIET_CPU = 1, 0
LOOPS = 10
"""Busy loops on CPU 1: enough to stand out from what else runs on a shared test machine."""

CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: scxtop
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


def skip_reason() -> str | None:
    if shutil.which("prometheus") is None:
        return "Prometheus is not installed (apt-get install prometheus; ./bootstrap.sh test does)"
    if len(os.sched_getaffinity(0)) < 2 or BUSY_CPU not in os.sched_getaffinity(0):
        return "needs CPUs 0 and 1 to compare a loaded CPU with another"
    return bpf_skip_reason()


def readme_queries() -> list[str]:
    """The README's ```promql blocks."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    queries = re.findall(r"```promql\n(.*?)```", text, flags=re.DOTALL)
    assert len(queries) >= 3
    return queries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A private Prometheus on a free loopback port; `query()` is its HTTP API."""

    def __init__(self, target_port: int, workdir: Path, env: dict[str, str]) -> None:
        config = workdir / "prometheus.yml"
        config.write_text(CONFIG.format(port=target_port))
        self.proc: subprocess.Popen | None = None
        self.log = workdir / "prometheus.log"
        for _ in range(3):  # a free port can be taken between our check and its bind: try another
            self.port = free_port()
            with self.log.open("w") as log:
                self.proc = subprocess.Popen(
                    ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
                     f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
            try:
                wait_for(self._ready, "Prometheus to be ready", timeout=60)
                return
            except AssertionError:
                if "address already in use" not in self.log.read_text():
                    self.stop()
                    why = self.log.read_text()[-2000:]
                    raise AssertionError(f"Prometheus did not start: {why}") from None
                self.stop()
        raise AssertionError("no free port for Prometheus after 3 tries")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"Prometheus exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def query(self, promql: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as answer:
            reply = json.load(answer)
        assert reply["status"] == "success", reply
        return reply["data"]["result"]

    def metadata(self, metric: str) -> str | None:
        """The type Prometheus recorded for `metric` from the scrapes."""
        url = f"http://127.0.0.1:{self.port}/api/v1/metadata?" + urllib.parse.urlencode({"metric": metric})
        with urllib.request.urlopen(url, timeout=10) as answer:
            found = json.load(answer)["data"].get(metric)
        return found[0]["type"] if found else None

    def by_cpu(self, promql: str) -> dict[int, float]:
        return {int(r["metric"]["cpu"]): float(r["value"][1]) for r in self.query(promql)}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextlib.contextmanager
def prometheus(target_port: int, workdir: Path, env: dict[str, str]) -> Iterator[Prometheus]:
    server = Prometheus(target_port, workdir, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.bpf
def test_prometheus_scrapes_the_runqueue_of_a_pinned_load_and_the_latency_histogram(tmp_path: Path):
    if reason := skip_reason():
        pytest.skip(reason)
    env, mark = marked_env()
    scxtop = Serve("--source", "bpftrace", env=env)
    try:
        port = int(scxtop.wait_serving(timeout=120).rsplit(":", 1)[1])  # bpftrace compiles before the load
        with pinned_busy_loops(BUSY_CPU, LOOPS), prometheus(port, tmp_path, env) as prom:
            wait_for(lambda: any(r["value"][1] == "1" for r in prom.query('up{job="scxtop"}')),
                     "Prometheus to scrape scxtop successfully (up == 1)", timeout=60)

            def loaded() -> dict[int, float] | None:
                rq = prom.by_cpu("scxtop_cpu_runqueue_length")
                busy, quiet = rq.get(BUSY_CPU), rq.get(QUIET_CPU)
                ok = busy is not None and quiet is not None and busy >= 2.5 and quiet < busy
                return rq if ok else None

            rq = wait_for(loaded, f"CPU {BUSY_CPU}'s runqueue >= 2.5 and above CPU {QUIET_CPU}'s",
                          timeout=90, every=1.0)
            assert rq[BUSY_CPU] >= 2.5 and rq[QUIET_CPU] < rq[BUSY_CPU]

            counts = wait_for(lambda: [float(r["value"][1]) for r in prom.query(
                'scxtop_wakeup_latency_seconds_bucket{le="+Inf"} > 0')], "wakeup latency counts", timeout=60)
            assert counts[0] > 0

            def p99() -> float | None:
                found = prom.query("histogram_quantile(0.99, "
                                   "rate(scxtop_wakeup_latency_seconds_bucket[10s]))")
                value = float(found[0]["value"][1]) if found else math.nan
                return value if math.isfinite(value) else None

            assert 0 < wait_for(p99, "a p99 wakeup latency from the histogram", timeout=60) < 100
            assert prom.query('scxtop_source_info{source="bpftrace"}')
            # Prometheus asked for OpenMetrics and got it: only that format has the info type.
            assert prom.metadata("scxtop_source") == "info"
            assert prom.metadata("scxtop_wakeup_latency_seconds") == "histogram"
            for promql in readme_queries():  # the README's queries run on real data (result may be empty)
                prom.query(promql)
    finally:
        status = scxtop.stop(signal.SIGTERM)
    assert status == 0, "".join(scxtop.stderr)
    deadline = time.monotonic() + 20
    while processes_with(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(mark) == []
