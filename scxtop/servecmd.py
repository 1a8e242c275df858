"""`scxtop serve`: a Prometheus/OpenMetrics endpoint fed by one source, for fleets.

The port is bound first (a taken port is a one-line error before anything starts). One thread
collects: it opens the source, hands each completed interval to the exporter and, when the
source fails after its first sample (bpftrace killed, a probe error), says so on stderr and
starts it again with a growing pause; the counters carry on from where they were, and scrapes
meanwhile get the last good interval. A failure before the first sample is the user's to fix:
one line and exit 2. SIGTERM, SIGHUP and Ctrl-C stop the source (bpftrace included) and exit 0,
also when they come while scxtop is still starting (noted from its first line by `stopsignals`).
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from scxtop import stopsignals
from scxtop.errors import ScxtopError
from scxtop.export.exporter import Exporter
from scxtop.export.http import MetricsServer, parse_listen
from scxtop.sources import open_source
from scxtop.sources.base import Source

if TYPE_CHECKING:
    from scxtop.export.textfile import TextfileWriter

RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
STOP_TIMEOUT_S = 15.0


def say(message: str) -> None:
    print(f"scxtop: {message}", file=sys.stderr, flush=True)


def source_versions(spec: str) -> dict[str, str]:
    """The bpftrace version for `scxtop_source_info`, where bpftrace may be the source."""
    if spec not in ("auto", "bpftrace"):
        return {}
    from scxtop.bpftrace.process import bpftrace_version

    try:
        return {"bpftrace": str(bpftrace_version())}
    except ScxtopError:
        return {}


def open_textfile(path: str, spec: str) -> TextfileWriter:
    """`scxtop log --textfile`'s writer (lazily imported: prometheus-client loads only when asked)."""
    from scxtop.export.textfile import TextfileWriter

    return TextfileWriter(path, Exporter(versions=source_versions(spec)))


class Collection:
    """The collecting thread: source -> exporter, restarting the source when it fails."""

    def __init__(self, spec: str, interval_s: float, exporter: Exporter,
                 opener: Callable[[str, float], Source] | None = None) -> None:
        self.spec = spec
        self.interval_s = interval_s
        self.exporter = exporter
        self._open = opener or (lambda s, i: open_source(s, i))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._source: Source | None = None
        self.first = threading.Event()
        """Set at the first sample, or when the first start failed (then `error` says why)."""
        self.error: ScxtopError | None = None
        self.source_name = ""
        self._yielded = 0
        self._thread = threading.Thread(target=self._run, name="scxtop-collect", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        pause = RESTART_FIRST_S
        while not self._stop.is_set():
            try:
                ended = self._stream()
            except Exception as err:  # a live exporter outlives any one failure of its source
                if not self.first.is_set():
                    self.error = err if isinstance(err, ScxtopError) else ScxtopError(
                        f"the source failed at start: {type(err).__name__}: {err}")
                    self.first.set()
                    return
                if self._stop.is_set():
                    return
                if self._yielded:  # it worked for a while: start again soon, not after the last pause
                    pause = RESTART_FIRST_S
                say(f"the {self.source_name or self.spec} source stopped ({err}); "
                    f"starting it again in {pause:g}s, serving the last interval meanwhile")
                self.exporter.restarted()
                self._stop.wait(pause)
                pause = min(pause * 2, RESTART_MAX_S)
                continue
            if not ended:
                return
            if self.spec.startswith("replay:"):
                if not self.first.is_set():
                    path = self.spec.removeprefix("replay:")
                    self.error = ScxtopError(f"{path}: the recording has no samples")
                    self.first.set()
                else:
                    say("the recording ended; serving its last interval until stopped")
                return
            if not self.first.is_set():
                self.error = ScxtopError(f"the {self.spec} source ended before its first sample")
                self.first.set()
                return
            if self._yielded:
                pause = RESTART_FIRST_S
            say(f"the {self.source_name} source ended; starting it again in {pause:g}s")
            self.exporter.restarted()
            self._stop.wait(pause)
            pause = min(pause * 2, RESTART_MAX_S)

    def _stream(self) -> bool:
        """Run one source until it ends (True) or we are stopped (False)."""
        self._yielded = 0
        source = self._open(self.spec, self.interval_s)
        with self._lock:
            self._source = source
        try:
            if self._stop.is_set():
                return False
            self.source_name = source.name
            for sample in source.samples():
                self.exporter.update(sample, source.name)
                self._yielded += 1
                self.first.set()
                if self._stop.is_set():
                    return False
            return not self._stop.is_set()
        finally:
            with self._lock:
                self._source = None
            source.close()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._source is not None:
                self._source.close()
        self._thread.join(timeout=STOP_TIMEOUT_S)


class _Signals:
    """SIGINT, SIGTERM and SIGHUP only set `stop`; the main thread does the stopping. One that came
    while scxtop was importing (noted by `stopsignals.catch_early()`) counts as already here."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._handlers = stopsignals.handled_by(self._handler).install()
        if stopsignals.pending() is not None:
            self.stop.set()

    def _handler(self, _signum: int, _frame: object) -> None:
        self.stop.set()

    def restore(self) -> None:
        self._handlers.restore()


def _wait(signals: _Signals, until: threading.Event) -> None:
    while not signals.stop.is_set() and not until.wait(0.5):
        pass


def run(args: argparse.Namespace) -> int:
    address = parse_listen(args.listen)
    signals = _Signals()
    server: MetricsServer | None = None
    collection: Collection | None = None
    try:
        exporter = Exporter(cpu_pairs=args.cpu_pair_migrations, versions=source_versions(args.source),
                            count_restarts=True)
        server = MetricsServer(address, exporter)
        server.start()
        if signals.stop.is_set():  # stopped while starting: nothing to collect
            return 0
        collection = Collection(args.source, args.interval, exporter)
        collection.start()
        _wait(signals, collection.first)
        if collection.error is not None:
            raise collection.error
        snap = exporter.latest()
        if not signals.stop.is_set() and snap is not None:
            where = "" if server.bound.loopback else " (reachable from other machines)"
            say(f"serving {server.bound.url('/metrics')}{where} from {collection.source_name}, "
                f"one interval every {snap.sample.interval_s:.3g}s")
            _wait(signals, threading.Event())
    finally:
        if collection is not None:
            collection.stop()
        if server is not None:
            server.stop()
        signals.restore()
    return 0
