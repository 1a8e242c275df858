"""The Textual-free parts of the charts: braille canvas, chart series, latency histogram rows."""

from __future__ import annotations

from dataclasses import replace

from synthetic import HOT_CPU, sample, samples

from scxtop.kernel.topology import synthetic_topology
from scxtop.model import LatencyBucket, LatencyHistogram
from scxtop.tui.braille import BLANK, Canvas
from scxtop.tui.chart_data import LINES_MAX, ChartData
from scxtop.tui.latency_view import fit_rows, histogram_rows, marks_of, short_us


def test_a_rising_line_touches_bottom_left_and_top_right():
    canvas = Canvas(2, 1)  # 4 x 4 dots
    canvas.line([0, 1, 2, 3], top=3, layer=0)
    assert canvas._bits[0][0] & 0x40  # x=0, y=0: bottom-left dot
    assert canvas._bits[0][1] & 0x08  # x=3, y=3: top-right dot
    assert [layer for _, layer in canvas.runs(0)] == [0]


def test_a_band_fills_between_low_and_high_and_blank_stays_blank():
    canvas = Canvas(3, 2)
    canvas.band([0.0], [8.0], top=8.0, layer=7)
    assert canvas.runs(0)[-1] == ("⢸", 7) and canvas.runs(1)[-1] == ("⢸", 7)
    assert canvas.runs(0)[0] == ("  ", BLANK)


def test_few_cpus_get_lines_many_get_bands_computed_once_per_sample():
    few = ChartData(synthetic_topology(4))
    for s in samples(3, 4):
        few.add(s)
    assert few.per_cpu_lines and sorted(few.rq) == [0, 1, 2, 3] and len(few.rq[1]) == 3
    many = ChartData(synthetic_topology(64))
    for s in samples(3, 64):
        many.add(s)
    assert not many.per_cpu_lines and LINES_MAX < 64
    bands = many.bands()
    assert 1 <= len(bands) <= 4
    for band in bands:
        assert len(band.mean) == 3 and band.low[-1] <= band.mean[-1] <= band.high[-1]
    assert max(b.high[-1] for b in bands) == max(c.rq for c in samples(3, 64)[-1].cpus)


def test_rates_are_per_second_and_unseen_stays_unseen():
    data = ChartData(synthetic_topology(4))
    s = sample(0)
    data.add(s)
    assert data.csw_s[-1] == sum(c.csw for c in s.cpus) / s.interval_s
    assert data.migrations_s[-1] == s.total_migrations / s.interval_s
    assert data.migrations_seen and data.csw_seen
    blind = ChartData(synthetic_topology(4))
    blind.add(replace(s, migrations=None))
    assert not blind.migrations_seen


def test_short_intervals_are_averaged_into_points_of_a_second_the_first_at_once():
    """At 0.1 s the charts still span minutes and change once a second; the histogram every sample."""
    data = ChartData(synthetic_topology(4))
    tenths = [replace(sample(i), interval_s=0.1) for i in range(21)]
    versions, latency_versions = [], []
    for s in tenths:
        data.add(s)
        versions.append(data.version)
        latency_versions.append(data.latency_version)
    assert len(data.rq[0]) == 3  # the first sample at once, then samples 1-10 and 11-20
    assert len(set(versions)) == 3 and len(set(latency_versions)) == 21
    gathered = tenths[11:21]
    hot = [s.cpus[HOT_CPU].rq for s in gathered]
    assert abs(data.rq[HOT_CPU][-1] - sum(hot) / len(hot)) < 1e-9  # the time-weighted mean
    csw = sum(c.csw for s in gathered for c in s.cpus)
    assert abs(data.csw_s[-1] - csw / 1.0) < 1e-6  # per second over the time the point covers
    assert abs(data.migrations_s[-1] - sum(s.total_migrations for s in gathered)) < 1e-6
    seconds = ChartData(synthetic_topology(4))
    for s in samples(3):
        seconds.add(s)
    assert len(seconds.rq[0]) == 3  # at 1 s, a point per sample as before


def test_histogram_rows_keep_empty_buckets_between_and_mark_percentiles():
    last = LatencyHistogram((LatencyBucket(2, 4, 90), LatencyBucket(256, 512, 10)))
    rows = histogram_rows(last, last)
    assert [r.low_us for r in rows] == [2, 4, 8, 16, 32, 64, 128, 256]
    assert rows[0].marks == ("p50",) and rows[-1].marks == ("p99", "max")
    assert marks_of(None) == {} and histogram_rows(None, None) == []


def test_a_short_panel_keeps_the_marked_buckets_in_order():
    last = LatencyHistogram((LatencyBucket(2, 4, 90), LatencyBucket(256, 512, 10)))
    rows = fit_rows(histogram_rows(last, last), 3)
    assert rows[0].low_us == 2 and rows[-1].low_us == 256 and len(rows) == 3


def test_bucket_bounds_read_short():
    assert [short_us(v) for v in (4, 512, 1024, 33_000, 2_000_000)] == ["4µs", "512µs", "1ms", "33ms", "2s"]
