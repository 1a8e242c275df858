"""The wakeup-latency histogram as rows, without Textual: log2 buckets like runqlat, the last
interval next to everything since start, and which rows hold p50, p99 and the maximum."""

from __future__ import annotations

from dataclasses import dataclass

from scxtop.model import LatencyHistogram


@dataclass(frozen=True, slots=True)
class HistRow:
    low_us: int
    high_us: int
    last: int
    """Wakeups in this bucket during the last interval."""
    total: int
    """Since start."""
    marks: tuple[str, ...]
    """'p50', 'p99', 'max' of the last interval where they fall in this bucket."""

    @property
    def label(self) -> str:
        return f"{short_us(self.low_us)}-{short_us(self.high_us)}"


def short_us(value: int) -> str:
    """4µs, 512µs, 1ms, 33ms, 2s: log2 bucket bounds in at most five characters."""
    if value >= 1_000_000:
        return f"{value // 1_000_000}s"
    if value >= 1000:
        return f"{value // 1000}ms"
    return f"{value}µs"


def _percentile_low(histogram: LatencyHistogram, p: float) -> int | None:
    """Lower bound of the bucket that holds the p-th percentile (rows are keyed by it)."""
    total = histogram.total
    if not total:
        return None
    seen = 0
    for bucket in histogram.buckets:
        seen += bucket.count
        if seen >= total * p / 100.0:
            return bucket.low_us
    return histogram.buckets[-1].low_us


def marks_of(histogram: LatencyHistogram | None) -> dict[int, tuple[str, ...]]:
    """Bucket lower bound -> the marks that fall there."""
    if histogram is None or not histogram.total:
        return {}
    where = {
        "p50": _percentile_low(histogram, 50),
        "p99": _percentile_low(histogram, 99),
        "max": max(b.low_us for b in histogram.buckets if b.count),
    }
    out: dict[int, tuple[str, ...]] = {}
    for name, low in where.items():
        if low is not None:
            out[low] = (*out.get(low, ()), name)
    return out


def histogram_rows(last: LatencyHistogram | None, total: LatencyHistogram | None) -> list[HistRow]:
    """Every bucket from the lowest to the highest seen (empty ones between kept, as runqlat does)."""
    counts_last = {b.low_us: b.count for b in (last.buckets if last else ()) if b.count}
    counts_total = {b.low_us: b.count for b in (total.buckets if total else ()) if b.count}
    highs = {b.low_us: b.high_us for h in (last, total) if h for b in h.buckets}
    lows = sorted(set(counts_last) | set(counts_total))
    if not lows:
        return []
    marks = marks_of(last)
    rows = []
    low = lows[0]
    while low <= lows[-1]:
        high = highs.get(low, max(1, low * 2))
        rows.append(HistRow(low, high, counts_last.get(low, 0), counts_total.get(low, 0), marks.get(low, ())))
        low = high if high > low else low + 1
    return rows


def fit_rows(rows: list[HistRow], height: int) -> list[HistRow]:
    """At most `height` rows, in order: the marked ones (p50, p99, max) first, then the buckets
    holding the most wakeups since start and in the interval; the labels show where rows are left out."""
    if len(rows) <= height:
        return rows
    if height <= 0:
        return []
    grand = sum(r.total for r in rows) or 1
    grand_last = sum(r.last for r in rows) or 1
    ranked = sorted(range(len(rows)), key=lambda i: (-len(rows[i].marks),
                                                     -(rows[i].total / grand + rows[i].last / grand_last)))
    return [rows[i] for i in sorted(ranked[:height])]
