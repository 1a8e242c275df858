"""The state a scrape reads, and rendering it in the format the scraper asked for.

The collecting thread calls `update(sample)` once per interval: it adds the interval to the
totals and swaps in a new immutable `Snapshot` (a single reference assignment, so a scrape on
another thread sees the old snapshot or the new one, never half of each). Scrapes call `render()`,
which only reads. The registry is our own, not prometheus-client's global one, so nothing else in
the process (or a library) can add series to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from scxtop.export.metrics import SampleCollector, Snapshot
from scxtop.export.totals import Accumulator
from scxtop.model import Sample

OPENMETRICS = "application/openmetrics-text"
EOF_LINE = b"# EOF\n"
Encoder = Callable[[CollectorRegistry], bytes]


def _encoder(accept: str) -> tuple[Encoder, str]:
    """prometheus-client's choice for this Accept header, minus a slow path we do not need.

    With the default "underscores" escaping, prometheus-client's OpenMetrics writer re-checks
    every sample name character by character (most of a 1024-CPU scrape). Our metric and label
    names are all legacy-valid, so escaping them changes nothing: "allow-utf-8" writes the same
    bytes (a test compares them) without the loop."""
    encoder, content_type = choose_encoder(accept)
    utf8 = getattr(openmetrics, "ALLOWUTF8", None)
    if (content_type.startswith(OPENMETRICS) and utf8 is not None and isinstance(encoder, partial)
            and "escaping" in encoder.keywords):
        encoder = partial(encoder, escaping=utf8)
    return encoder, content_type


class Exporter:
    """Latest interval + running totals, exposed through a private prometheus-client registry.

    `versions` maps a source name to its engine's version (bpftrace's) for `scxtop_source_info`.
    `count_restarts` exports source restarts (serve); leave it off where nothing restarts.
    """

    def __init__(self, *, cpu_pairs: bool = False, versions: Mapping[str, str] | None = None,
                 count_restarts: bool = False) -> None:
        self._acc = Accumulator(track_pairs=cpu_pairs)
        self._versions = dict(versions or {})
        self._restarts: int | None = 0 if count_restarts else None
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()  # serialises writers only; readers take the reference as it is
        self.registry = CollectorRegistry(auto_describe=False)
        """Everything: what `render_text()` and tests read."""
        self.sample_registry = CollectorRegistry(auto_describe=False)
        """The interval's metrics alone, rendered once per interval and format (see render())."""
        self.process_registry = CollectorRegistry(auto_describe=False)
        """scxtop's own CPU and memory, read fresh at every scrape."""
        collector = SampleCollector(self.latest)
        process = ProcessCollector(namespace="scxtop", registry=None)
        for registry, members in ((self.registry, (collector, process)), (self.sample_registry, (collector,)),
                                  (self.process_registry, (process,))):
            for member in members:
                registry.register(member)
        self._rendered: dict[str, tuple[Snapshot | None, bytes]] = {}

    def latest(self) -> Snapshot | None:
        return self._snapshot

    def update(self, sample: Sample, source: str | None = None) -> Snapshot:
        """Take one completed interval; `source` names the source (default: the sample's own)."""
        name = source or sample.source
        with self._lock:
            totals = self._acc.add(sample)
            snap = Snapshot(sample, totals, name, self._versions.get(name), self._restarts)
            self._snapshot = snap
        return snap

    def restarted(self) -> None:
        """The source stopped unexpectedly and is being started again: count it."""
        with self._lock:
            if self._restarts is not None:
                self._restarts += 1
            if self._snapshot is not None and self._restarts is not None:
                old = self._snapshot
                self._snapshot = Snapshot(old.sample, old.totals, old.source, old.version, self._restarts)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """(body, content type): OpenMetrics when the Accept header asks for it, else Prometheus text.

        The interval's part is rendered once per interval and format and kept: two Prometheus
        replicas, or a scrape interval shorter than ours, re-send the same bytes. Our own CPU and
        memory are read at every scrape."""
        encoder, content_type = _encoder(accept or "")
        snap = self._snapshot
        cached = self._rendered.get(content_type)
        if cached is not None and cached[0] is snap:
            body = cached[1]
        else:
            body = encoder(self.sample_registry)
            self._rendered[content_type] = (snap, body)
        own = encoder(self.process_registry)
        if content_type.startswith(OPENMETRICS):
            body = body.removesuffix(EOF_LINE)
        return body + own, content_type

    def render_text(self) -> bytes:
        """The Prometheus text format (0.0.4), as node_exporter's textfile collector reads it."""
        return generate_latest(self.registry)
