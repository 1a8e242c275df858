"""Metrics for Prometheus: `scxtop serve`'s /metrics and `scxtop log --textfile` for node_exporter.

- `totals`: per-interval deltas added up into monotonic counters (they survive a source restart);
- `metrics`: a prometheus-client collector over the latest `Sample` and those totals: a scrape
  only reads what the last completed interval left, it never triggers collection;
- `exporter`: the latest state behind a lock-free swap, and rendering by the scrape's Accept header;
- `http`: the read-only HTTP server (loopback unless asked otherwise);
- `textfile`: node_exporter's textfile collector format, written atomically.

Imports only `scxtop.model` and prometheus-client: `scxtop serve` runs on servers without Textual.
"""
