"""The before/after report: window statistics, change detection and JSONL records, on synthetic
samples (and on a recording of a real switch, in test_switch_report_recording.py)."""

from __future__ import annotations

import json

import pytest

from scxtop.model import (
    CpuStats,
    LatencyBucket,
    LatencyHistogram,
    MigrationPair,
    Sample,
    SchedExtEvent,
    SchedExtEventKind,
    SchedExtState,
    TaskDelay,
)
from scxtop.recording import read_jsonl
from scxtop.recording.jsonl import JsonlWriter, RecordKind, read_records
from scxtop.sched_ext.report import (
    Metric,
    SwitchReport,
    SwitchReporter,
    Verdict,
    bypassing,
    compare,
    event_deltas,
    reports_from,
    window_stats,
)


def sample(n: int, *, rq: tuple[float, float] = (1.0, 1.0), lat: tuple[int, int] = (10, 0), mig: int = 4,
           csw: int = 100, ops: str | None = None, seq: int = 1, counter: int = 0,
           events: tuple[SchedExtEvent, ...] = ()) -> Sample:
    """Sample n of a 1 s run: `lat` = (wakeups in the 8-16 us bucket, wakeups in 1024-2048 us)."""
    scx = SchedExtState(supported=True, state="enabled" if ops else "disabled", ops=ops, enable_seq=seq,
                        events=(("SCX_EV_SELECT_CPU_FALLBACK", counter), ("SCX_EV_BYPASS_ACTIVATE", 0))
                        if ops else ())
    return Sample(
        time=1000.0 + n, elapsed_s=float(n), interval_s=1.0, source="test",
        cpus=(CpuStats(0, rq=rq[0], csw=csw // 2), CpuStats(1, rq=rq[1], csw=csw - csw // 2)),
        migrations=(MigrationPair(0, 1, mig),),
        wakeup_latency=LatencyHistogram((LatencyBucket(8, 16, lat[0]), LatencyBucket(1024, 2048, lat[1]))),
        delayed_tasks=(TaskDelay(1, "t", 0, "SCHED_OTHER", 0, 2_000_000),),
        blocked=(), scx=scx, scx_events=events,
    )  # fmt: skip


def switched(n: int, to: str, previous: str | None, seq: int, by_us: bool = True, **kw) -> Sample:
    kind = SchedExtEventKind.SWITCHED if previous else SchedExtEventKind.LOADED
    return sample(n, ops=to, seq=seq, events=(SchedExtEvent(1000.0 + n, kind, to, previous, by_us),), **kw)


def test_window_stats_over_samples():
    samples = [sample(i, rq=(3.0, 1.0), lat=(99, 1), mig=5, csw=200) for i in range(4)]
    stats = window_stats(samples)
    assert stats.samples == 4 and stats.seconds == 4.0
    assert stats.lat_p50_us == 16 and stats.lat_p99_us == 16 and stats.lat_max_us == 2048
    assert stats.rq_mean == 2.0 and stats.rq_imbalance == 2.0
    assert stats.migrations_per_s == 5.0 and stats.csw_per_s == 200.0
    assert stats.task_delay_ms_per_s == 2.0 and stats.blocked_tasks == 0.0


def test_window_stats_none_where_nothing_could_see():
    bare = Sample(time=1.0, elapsed_s=1.0, interval_s=1.0, source="procfs", cpus=(CpuStats(0),))
    stats = window_stats([bare, bare])
    assert stats.lat_p50_us is None and stats.lat_max_us is None and stats.migrations_per_s is None
    assert stats.csw_per_s is None and stats.task_delay_ms_per_s is None and stats.blocked_tasks is None
    assert stats.rq_mean is None and stats.scx_events == ()


def test_event_deltas_only_within_one_scheduler():
    a, b = sample(0, ops="simple", counter=10).scx, sample(1, ops="simple", counter=25).scx
    assert event_deltas(a, b) == {"SCX_EV_SELECT_CPU_FALLBACK": 15, "SCX_EV_BYPASS_ACTIVATE": 0}
    assert event_deltas(a, sample(1, ops="simple", seq=2, counter=3).scx) is None  # restarted: reset
    assert event_deltas(sample(0).scx, b) is None  # default has no counters
    assert bypassing(a, b) is False
    moving = SchedExtState(supported=True, state="enabled", ops="simple", enable_seq=1,
                           events=(("SCX_EV_BYPASS_ACTIVATE", 2),))
    assert bypassing(a, moving) is True
    assert bypassing(a, SchedExtState(supported=True, state="disabling")) is True


def test_compare_marks_lower_as_better():
    assert compare("x", 100.0, 50.0).verdict is Verdict.BETTER
    assert compare("x", 100.0, 50.0).change_pct == -50.0
    assert compare("x", 100.0, 150.0).verdict is Verdict.WORSE
    assert compare("x", 100.0, 101.0).verdict is Verdict.SAME
    assert compare("x", None, 3.0).verdict is Verdict.UNKNOWN
    assert compare("x", 0.0, 0.0).verdict is Verdict.SAME
    row = compare("x", 0.0, 5.0)
    assert row.change_pct is None and row.verdict is Verdict.WORSE


def test_report_compares_equal_windows_around_a_switch():
    before = [sample(i, lat=(90, 10), mig=10) for i in range(12)]
    change = switched(12, "simple", None, seq=2, counter=0)
    after = [sample(13 + i, lat=(100, 0), mig=2, ops="simple", seq=2, counter=5 * (i + 1)) for i in range(12)]
    reporter = SwitchReporter(window_s=10.0)
    done = [r for s in [*before, change] for r in reporter.feed(s)]
    assert done == [] and reporter.progress is not None and reporter.progress.collected_s == 0
    for s in after:
        done += reporter.feed(s)
    assert len(done) == 1
    report = done[0]
    assert (report.before_scheduler, report.after_scheduler) == ("default", "simple")
    assert report.kind is SchedExtEventKind.LOADED and report.by_us and not report.cut_short
    assert report.before.seconds == 10.0 and report.after.seconds == 10.0  # same length both sides
    rows = {r.name: r for r in report.rows}
    assert rows[Metric.LAT_MAX].before == 2048 and rows[Metric.LAT_MAX].after == 16
    assert rows[Metric.LAT_MAX].verdict is Verdict.BETTER
    assert rows[Metric.MIGRATIONS].change_pct == -80.0
    # counters: default had none; the new scheduler's move 5 per second, the straddling read included
    assert rows["SCX_EV_SELECT_CPU_FALLBACK/s"].before is None
    assert rows["SCX_EV_SELECT_CPU_FALLBACK/s"].after == 5.0
    assert "migrations/s -80% (better)" in report.summary()
    assert reporter.progress is None


def test_a_metric_that_rises_from_zero_is_summed_up_without_a_percentage():
    """Seen in the guest: before 0, after 5 has no percentage; the dashboard's notification
    crashed formatting None."""
    reporter = SwitchReporter(window_s=3.0)
    feed = [sample(i, mig=0) for i in range(4)] + [switched(4, "simple", None, seq=2, mig=0)]
    feed += [sample(5 + i, mig=5, ops="simple", seq=2) for i in range(4)]
    (report,) = [r for s in feed for r in reporter.feed(s)]
    row = {r.name: r for r in report.rows}[Metric.MIGRATIONS]
    assert (row.before, row.after, row.change_pct, row.change_text) == (0.0, 5.0, None, "from 0")
    assert "migrations/s from 0 (worse)" in report.summary()


def test_unload_then_load_is_one_switch():
    unloaded = sample(5, events=(SchedExtEvent(1005.0, SchedExtEventKind.UNLOADED, "tfifo", by_us=True),))
    samples = [*(sample(i, ops="tfifo") for i in range(5)), unloaded,
               switched(6, "tdsq", None, seq=2), *(sample(7 + i, ops="tdsq", seq=2) for i in range(5))]
    reports = reports_from(samples, window_s=4.0)
    assert len(reports) == 1
    r = reports[0]
    assert (r.before_scheduler, r.after_scheduler, r.kind) == ("tfifo", "tdsq", SchedExtEventKind.SWITCHED)
    assert r.after.samples == 4 and r.before.samples == 4


def test_ejection_and_a_change_that_cuts_the_after_window_short():
    eject = sample(4, events=(SchedExtEvent(1004.0, SchedExtEventKind.EJECTED, "tstall",
                                            detail="runnable task stall"),))
    samples = [*(sample(i, ops="tstall") for i in range(4)), eject, sample(5), sample(6),
               switched(7, "tfifo", None, seq=3, by_us=False), sample(8, ops="tfifo", seq=3)]
    reports = reports_from(samples, window_s=10.0)
    assert [(r.kind, r.before_scheduler, r.after_scheduler, r.cut_short) for r in reports] == [
        (SchedExtEventKind.EJECTED, "tstall", "default", True),
        (SchedExtEventKind.LOADED, "default", "tfifo", True),
    ]
    assert reports[0].detail == "runnable task stall" and not reports[0].by_us
    assert reports[1].before.samples == 2  # only what ran under default


def test_no_change_no_report_and_failed_switch_ignored():
    failed = sample(3, events=(SchedExtEvent(1003.0, SchedExtEventKind.SWITCH_FAILED, "tbad"),))
    assert reports_from([sample(0), sample(1), failed, sample(4)]) == []


def test_reports_are_jsonl_records_that_sample_readers_skip(tmp_path):
    samples = [*(sample(i) for i in range(3)), switched(3, "simple", None, seq=2),
               *(sample(4 + i, ops="simple", seq=2, counter=i) for i in range(3))]
    path = tmp_path / "rec.jsonl"
    writer = JsonlWriter(path)
    reporter = SwitchReporter(window_s=2.0)
    written = []
    for s in samples:
        writer.write(s)
        for report in reporter.feed(s):
            writer.write_record(RecordKind.SWITCH_REPORT, report)
            written.append(report)
    writer.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [obj.get("record") for obj in lines].count("switch_report") == 1
    assert lines[6]["record"] == "switch_report" and lines[6]["after_scheduler"] == "simple"
    assert read_jsonl(path) == samples  # old readers' view: samples only
    assert read_records(path, RecordKind.SWITCH_REPORT, SwitchReport) == written


@pytest.mark.parametrize("window", [1.0, 3.0])
def test_history_keeps_only_the_window(window):
    samples = [*(sample(i) for i in range(20)), switched(20, "simple", None, seq=2),
               *(sample(21 + i, ops="simple", seq=2) for i in range(5))]
    (report,) = reports_from(samples, window_s=window)
    assert report.before.seconds == window


def test_root_events_parsed_generically_from_sysfs(tmp_path):
    """Names differ between kernels (6.15 has fewer than 7.3): every `NAME value` line is kept,
    junk lines are skipped, and the counters become rates between two reads."""
    from scxtop.kernel.scx_state import read_state

    (tmp_path / "root").mkdir()
    (tmp_path / "state").write_text("enabled\n")
    (tmp_path / "enable_seq").write_text("7\n")
    (tmp_path / "root" / "ops").write_text("simple\n")
    events = tmp_path / "root" / "events"
    events.write_text("SCX_EV_SELECT_CPU_FALLBACK 10\nSCX_EV_NEW_IN_SOME_KERNEL 0\nnot a counter\n")
    first = read_state(tmp_path)
    assert first.events == (("SCX_EV_SELECT_CPU_FALLBACK", 10), ("SCX_EV_NEW_IN_SOME_KERNEL", 0))
    events.write_text("SCX_EV_SELECT_CPU_FALLBACK 40\nSCX_EV_NEW_IN_SOME_KERNEL 2\n")
    from scxtop.sched_ext.report import EventRate, event_rates

    assert event_rates(first, read_state(tmp_path), 2.0) == (
        EventRate("SCX_EV_SELECT_CPU_FALLBACK", 15.0), EventRate("SCX_EV_NEW_IN_SOME_KERNEL", 1.0))


def test_scxtop_log_writes_reports_to_jsonl_only(tmp_path):
    import subprocess
    import sys

    samples = [*(sample(i) for i in range(12)), switched(12, "simple", None, seq=2),
               *(sample(13 + i, ops="simple", seq=2, counter=3 * i) for i in range(12))]
    recording = tmp_path / "in.jsonl"
    writer = JsonlWriter(recording)
    for s in samples:
        writer.write(s)
    writer.close()
    out, table = tmp_path / "out.jsonl", tmp_path / "out.csv"
    done = subprocess.run([sys.executable, "-m", "scxtop", "log", "--source", f"replay:{recording}",
                           "--jsonl", str(out), "--csv", str(table)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (report,) = read_records(out, RecordKind.SWITCH_REPORT, SwitchReport)
    assert (report.before_scheduler, report.after_scheduler) == ("default", "simple")
    assert report.before.seconds == 10.0 and report.after.seconds == 10.0
    assert read_jsonl(out) == samples
    assert len(table.read_text().splitlines()) == 1 + len(samples)  # no report row in the CSV
