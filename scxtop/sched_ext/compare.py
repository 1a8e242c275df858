"""`scxtop compare`'s logic without any I/O: the run order, what one run measured, the table.

Schedulers run interleaved, the order rotated between runs (run 2 starts with the second one), so
that a machine warming up or a neighbour getting busy does not favour whichever runs first. Each
scheduler's runs are summarised as the median and the min..max, and compared with the first
scheduler named (a ratio of medians). Imports only the model and the report's metrics.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from scxtop.model import Sample
from scxtop.sched_ext.report import Metric, WindowStats, window_stats

WALL = "wall time (s)"


def run_order(names: Sequence[str], runs: int) -> list[tuple[int, str]]:
    """(run number from 1, scheduler) in the order they run: each run rotated by one more."""
    order: list[tuple[int, str]] = []
    for run in range(runs):
        shift = run % len(names)
        order.extend((run + 1, name) for name in [*names[shift:], *names[:shift]])
    return order


@dataclass(frozen=True, slots=True)
class RunResult:
    """One scheduler, one run; a `compare_run` record in JSONL."""

    time: float
    """When the measured part started (seconds since the epoch)."""
    run: int
    scheduler: str
    switched: bool
    switch_message: str
    exit_status: int | None = None
    """CMD's exit status (negative: killed by that signal); None when it did not run or in
    observe-only mode."""
    wall_s: float | None = None
    """CMD's wall time, or the observed duration."""
    stats: WindowStats | None = None
    """The report's metrics over the samples that overlap the measured part."""
    error: str = ""
    """Why this run failed ('' when it did not)."""

    @property
    def ok(self) -> bool:
        return not self.error


def window(samples: Sequence[Sample], start: float, end: float) -> WindowStats:
    """Metrics over the samples whose interval overlaps [start, end] (wall-clock seconds)."""
    inside = [s for s in samples if s.time > start and s.time - s.interval_s < end]
    return window_stats(inside)


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _values(results: Sequence[RunResult], name: str, metric: str) -> list[float]:
    out = []
    for r in results:
        if r.scheduler != name or not r.switched:
            continue
        value = r.wall_s if metric == WALL else (r.stats.value(Metric(metric)) if r.stats else None)
        if value is not None:
            out.append(float(value))
    return out


@dataclass(frozen=True, slots=True)
class Cell:
    median: float | None
    low: float | None
    high: float | None
    ratio: float | None
    """Median over the first scheduler's median."""

    def text(self, with_ratio: bool) -> str:
        if self.median is None or self.low is None or self.high is None:
            return "n/a"
        text = f"{_fmt(self.median)} ({_fmt(self.low)}..{_fmt(self.high)})"
        if with_ratio and self.ratio is not None:
            text += f" x{self.ratio:.2f}"
        return text


def summary(results: Sequence[RunResult], names: Sequence[str]) -> dict[str, list[Cell]]:
    """Metric -> one cell per scheduler, in the order named."""
    table: dict[str, list[Cell]] = {}
    for metric in [WALL, *(m.value for m in Metric)]:
        cells = []
        base: float | None = None
        for i, name in enumerate(names):
            values = _values(results, name, metric)
            median = statistics.median(values) if values else None
            if i == 0:
                base = median
            ratio = median / base if median is not None and base else None
            cells.append(Cell(median, min(values, default=None), max(values, default=None), ratio))
        table[metric] = cells
    return table


def format_table(results: Sequence[RunResult], names: Sequence[str]) -> list[str]:
    """The comparison as text: a row per metric, a column per scheduler."""
    rows: list[list[str]] = [["", *names]]
    for metric, cells in summary(results, names).items():
        if all(c.median is None for c in cells):
            continue
        rows.append([metric, *(c.text(with_ratio=i > 0) for i, c in enumerate(cells))])
    ok_row = ["runs ok"]
    for name in names:
        mine = [r for r in results if r.scheduler == name]
        ok_row.append(f"{sum(r.ok for r in mine)}/{len(mine)}")
    rows.append(ok_row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


CSV_HEADER = ("run", "scheduler", "switched", "exit_status", "wall_s", *(m.name.lower() for m in Metric),
              "error")


def csv_row(r: RunResult) -> list[str]:
    def cell(value: float | int | None) -> str:
        return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)

    metrics = [cell(r.stats.value(m) if r.stats else None) for m in Metric]
    return [str(r.run), r.scheduler, str(int(r.switched)), cell(r.exit_status), cell(r.wall_s), *metrics,
            r.error]


def failures(results: Sequence[RunResult]) -> list[str]:
    return [f"run {r.run} {r.scheduler}: {r.error}" for r in results if r.error]
