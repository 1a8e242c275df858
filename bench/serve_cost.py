"""What the Prometheus exporter costs: a scrape's render time and size at 2, 256 and 1024 CPUs,
and `scxtop serve`'s own CPU when Prometheus scrapes it every 15 s.

Render (`render` table): an in-process `Exporter` fed the dashboard tests' synthetic samples
(tests/tui/synthetic.py: every per-CPU value, a wakeup histogram, chains, delayed tasks), each
render on a new interval (so nothing comes from the per-interval cache), in the OpenMetrics format
Prometheus asks for. Rounds interleave the sizes in rotating order; "2 CPUs again (A/A)" is a
second, independent exporter of the same size, the noise floor of the ratios. One row scrapes a
1024-CPU exporter over real HTTP on loopback (`MetricsServer`), and one adds CPU-pair series.

Own CPU (`serve` table): `scxtop serve --source bpftrace` scraped every 15 s by a thread of this
process (over loopback), beside `scxtop log` with the same source and interval (the same
collection without HTTP): user+system seconds per wall second of scxtop and of its bpftrace
child, from /proc, over a window after the first sample.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator

import loads  # noqa: F401  (puts tests/ on sys.path for tui.synthetic)
from observers import LogRun, ObserverError, _gone, scxtop_command
from procstat import UsageMeter, wait_child
from table import Table, median, spread
from tui.synthetic import samples as synthetic_samples

from scxtop.export.exporter import Exporter
from scxtop.export.http import ListenAddress, MetricsServer
from scxtop.model import MigrationPair, Sample

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
SCRAPE_EVERY_S = 15.0
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
"""Generous: on a loaded 2-core machine bpftrace alone can take tens of seconds to compile or stop."""
PAIRS_PER_CPU = 16
RENDER_COLUMNS = ["ms/render", "cpu ms", "rounds min..max", "vs 2 CPUs", "KiB", "series"]
SERVE_COLUMNS = ["scxtop cpu/s", "bpftrace cpu/s", "total cpu/s", "% of a core", "scxtop peak MiB", "scrapes"]


def _with_pairs(sample: Sample, per_cpu: int) -> Sample:
    n = len(sample.cpus)
    pairs = tuple(MigrationPair(src, (src + k) % n, k) for src in range(n) for k in range(1, per_cpu + 1))
    return dataclasses.replace(sample, migrations=pairs)


class RenderCase:
    """One exporter of `ncpus` CPUs; `once()` moves it to a new interval and times one scrape."""

    def __init__(self, ncpus: int, pairs: bool = False, http: bool = False) -> None:
        self.samples = synthetic_samples(8, ncpus)
        if pairs:
            self.samples = [_with_pairs(s, PAIRS_PER_CPU) for s in self.samples]
        self.exporter = Exporter(cpu_pairs=pairs, count_restarts=True)
        self.i = 0
        self.server: MetricsServer | None = None
        if http:
            self.server = MetricsServer(ListenAddress("127.0.0.1", 0), self.exporter)
            self.server.start()
        self.size = 0
        self.series = 0
        self.once()

    def _next(self) -> None:
        self.exporter.update(self.samples[self.i % len(self.samples)])
        self.i += 1

    def once(self) -> tuple[float, float]:
        """(wall ms, CPU ms of this process) for one scrape of a fresh interval."""
        self._next()
        wall, cpu = time.perf_counter(), time.process_time()
        if self.server is not None:
            url = f"http://127.0.0.1:{self.server.bound.port}/metrics"
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": OPENMETRICS}),
                                        timeout=60) as answer:
                body = answer.read()
        else:
            body, _ = self.exporter.render(OPENMETRICS)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.size = len(body)
        self.series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        return wall * 1e3, cpu * 1e3

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def render_cases() -> dict[str, Callable[[], RenderCase]]:
    return {
        "2 CPUs": lambda: RenderCase(2),
        "2 CPUs again (A/A)": lambda: RenderCase(2),
        "256 CPUs": lambda: RenderCase(256),
        "1024 CPUs": lambda: RenderCase(1024),
        "1024 CPUs, over HTTP (loopback)": lambda: RenderCase(1024, http=True),
        f"1024 CPUs + CPU pairs ({PAIRS_PER_CPU} per CPU)": lambda: RenderCase(1024, pairs=True),
    }


def render_table(rounds: int) -> Table:
    makers = render_cases()
    cases = {name: make() for name, make in makers.items()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    names = list(cases)
    try:
        for r in range(rounds):
            for name in names[r % len(names):] + names[: r % len(names)]:
                times[name].append(cases[name].once())
        print(f"  render: {rounds} rounds done", file=sys.stderr)
        out = Table("Scrape render (scxtop.export, OpenMetrics, a new interval each time)", RENDER_COLUMNS)
        base = median([t[0] for t in times["2 CPUs"]])
        for name, case in cases.items():
            walls = [t[0] for t in times[name]]
            out.add(name, median(walls), median([t[1] for t in times[name]]), spread(walls),
                    median(walls) / base, case.size / 1024, float(case.series))
    finally:
        for case in cases.values():
            case.close()
    out.notes.append(f"{rounds} interleaved rounds, medians; ms/render = wall time of one scrape (render or "
                     "HTTP GET), cpu ms = this process's CPU time for it (steadier on a loaded machine); "
                     "synthetic samples (tests/tui/synthetic.py); goal: under 50 ms at 1024 CPUs")
    return out


_SERVING = re.compile(r"serving (http://\S+)/metrics")


class ServeRun:
    """`scxtop serve --source bpftrace --listen 127.0.0.1:0`, scraped every SCRAPE_EVERY_S by a thread."""

    def __init__(self, interval: float) -> None:
        self.label = f"scxtop serve {interval:g}s"
        self.proc = subprocess.Popen(
            scxtop_command("serve", "--source", "bpftrace", "--interval", str(interval),
                           "--listen", "127.0.0.1:0"),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        self.url = ""
        self.scrapes = 0
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._stop = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(START_TIMEOUT_S) or not self.url:
            self.stop()
            said = "".join(self._lines)[-300:]
            raise ObserverError(f"{self.label}: not serving after {START_TIMEOUT_S:g}s: {said}")
        self.bpftrace_pid = wait_child(self.pid, "bpftrace")
        self._scraper = threading.Thread(target=self._scrape, daemon=True)
        self._scraper.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._lines.append(line)
            if m := _SERVING.search(line):
                self.url = m[1] + "/metrics"
                self._ready.set()
        self._ready.set()

    def _scrape(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError), urllib.request.urlopen(
                    urllib.request.Request(self.url, headers={"Accept": OPENMETRICS}), timeout=10) as answer:
                answer.read()
                self.scrapes += 1
            self._stop.wait(SCRAPE_EVERY_S)

    def stop(self) -> None:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise ObserverError(f"{self.label}: did not stop on SIGTERM") from None
        if status != 0:
            raise ObserverError(f"{self.label}: exit status {status} after SIGTERM")
        if not _gone(getattr(self, "bpftrace_pid", None)):
            raise ObserverError(f"{self.label}: left bpftrace running")


@contextlib.contextmanager
def _observer(kind: str, interval: float) -> Iterator[ServeRun | LogRun]:
    obs: ServeRun | LogRun = ServeRun(interval) if kind == "serve" else LogRun("bpftrace", interval)
    try:
        yield obs
    finally:
        obs.stop()


def serve_table(rounds: int, window_s: float) -> Table:
    cases = [("serve", 1.0), ("serve", 15.0), ("log", 1.0)]
    results: dict[tuple[str, float], list[tuple[float, float, float, int]]] = {c: [] for c in cases}
    for r in range(rounds):
        for kind, interval in cases[r % len(cases):] + cases[: r % len(cases)]:
            with _observer(kind, interval) as obs:
                time.sleep(1.0)  # settle after the first sample
                own, bpf = UsageMeter(obs.pid), UsageMeter(obs.bpftrace_pid)
                time.sleep(window_s)
                a, b = own.read(), bpf.read()
                scrapes = getattr(obs, "scrapes", 0)
            results[(kind, interval)].append((a.cpu_per_s, b.cpu_per_s, a.peak_rss_mb, scrapes))
            print(f"  round {r + 1}/{rounds} {kind} {interval:g}s: {results[(kind, interval)][-1]}",
                  file=sys.stderr)
    title = f"scxtop serve's own cost, scraped every {SCRAPE_EVERY_S:g}s (bpftrace source)"
    out = Table(title, SERVE_COLUMNS)
    for (kind, interval), ms in results.items():
        own, bpf = median([m[0] for m in ms]), median([m[1] for m in ms])
        name = (f"scxtop serve {interval:g}s, scraped every {SCRAPE_EVERY_S:g}s" if kind == "serve"
                else f"scxtop log {interval:g}s (same collection, no HTTP)")
        out.add(name, own, bpf, own + bpf, 100 * (own + bpf), max(m[2] for m in ms),
                float(max(m[3] for m in ms)) if kind == "serve" else None)
    out.notes.append(f"{window_s:g}s window after the first sample (+1s settle), median of {rounds} rounds, "
                     "rotating order; the scraper is this benchmark's thread (OpenMetrics over loopback); "
                     "goal: serve under 0.5 % of a core")
    return out
