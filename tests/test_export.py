"""scxtop.export on known samples: names, absent series, monotonic counters, histogram buckets,
formats by Accept header, and the lint of the real `promtool` (Debian's prometheus package)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import threading

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from samples import full_sample, procfs_like_sample

from scxtop.export.exporter import Exporter
from scxtop.export.metrics import LE_BOUNDS
from scxtop.export.totals import LATENCY_BOUNDS_US, Accumulator, bucket_index
from scxtop.model import (
    CpuStats,
    LatencyBucket,
    LatencyHistogram,
    Sample,
    SchedExtEvent,
    SchedExtEventKind,
    SchedExtState,
    TaskDelay,
)
from scxtop.servecmd import Collection

OPENMETRICS = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # what Prometheus sends

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def series(exporter: Exporter, accept: str = "text/plain") -> Series:
    body, content_type = exporter.render(accept)
    parse = parse_openmetrics if content_type.startswith("application/openmetrics-text") else parse_text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in parse(body.decode()) for s in family.samples}


def value(found: Series, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def names(found: Series) -> set[str]:
    return {name for name, _ in found}


def exported(*samples: Sample, **options: object) -> Exporter:
    exporter = Exporter(**options)  # type: ignore[arg-type]
    for s in samples:
        exporter.update(s)
    return exporter


def test_every_listed_metric_is_there_for_a_full_sample():
    found = series(exported(full_sample(0), full_sample(1), versions={"bpftrace": "0.17.0"},
                            count_restarts=True), OPENMETRICS)
    assert value(found, "scxtop_cpu_runqueue_length", cpu="0") == 2.5
    assert value(found, "scxtop_cpu_runqueue_length_max", cpu="0") == 4
    assert value(found, "scxtop_cpu_runqueue_sched_ext_length", cpu="1") == 0.0
    assert ("scxtop_cpu_runqueue_sched_ext_length", frozenset({("cpu", "0")})) not in found  # None: absent
    assert value(found, "scxtop_cpu_utilisation_ratio", cpu="0") == pytest.approx(0.9725)
    assert value(found, "scxtop_cpu_context_switches_total", cpu="0") == 2400
    assert value(found, "scxtop_cpu_context_switches_total", cpu="1") == 80 + 81
    assert value(found, "scxtop_cpu_migrations_in_total", cpu="0") == 6
    assert value(found, "scxtop_cpu_migrations_out_total", cpu="1") == 6
    assert value(found, "scxtop_migrations_total") == 8
    assert value(found, "scxtop_wakeup_latency_seconds_bucket", le="1e-06") == 10
    assert value(found, "scxtop_wakeup_latency_seconds_bucket", le="+Inf") == 28
    assert value(found, "scxtop_blocked_tasks") == 1  # one live waiter; the ended one is not blocked now
    assert value(found, "scxtop_blocked_chains") == 1
    assert value(found, "scxtop_blocked_chain_depth_max") == 2
    assert value(found, "scxtop_priority_inversions") == 1
    assert value(found, "scxtop_task_delay_seconds_total") == pytest.approx(12345e-9)
    assert value(found, "scxtop_sched_ext_state", scxtop_sched_ext_state="enabled") == 1
    assert value(found, "scxtop_sched_ext_state", scxtop_sched_ext_state="disabled") == 0
    assert value(found, "scxtop_sched_ext_ops_info", ops="bpfland_1.0.0") == 1
    assert value(found, "scxtop_sched_ext_enable_seq") == 3
    assert value(found, "scxtop_sched_ext_nr_rejected") == 0
    assert value(found, "scxtop_sched_ext_events_total", event="SCX_EV_SELECT_CPU_FALLBACK") == 2
    assert value(found, "scxtop_sched_ext_changes_total", kind="switched") == 2
    assert value(found, "scxtop_sched_ext_changes_total", kind="ejected") == 0
    assert value(found, "scxtop_source_info", source="bpftrace", version="0.17.0") == 1
    assert value(found, "scxtop_bpftrace_lost_events_total") == 4
    assert value(found, "scxtop_source_restarts_total") == 0
    assert value(found, "scxtop_process_cpu_seconds_total") > 0
    assert value(found, "scxtop_process_resident_memory_bytes") > 0
    assert "scxtop_cpu_pair_migrations_total" not in names(found)  # off by default


def test_what_the_source_cannot_see_is_absent_not_zero():
    found = series(exported(procfs_like_sample(0), procfs_like_sample(1)))
    assert value(found, "scxtop_cpu_runqueue_length", cpu="0") == 1.0
    assert value(found, "scxtop_cpu_runqueue_length", cpu="1") == 0.0  # seen, and zero
    assert value(found, "scxtop_source_info", source="procfs") == 1
    for absent in ("scxtop_cpu_context_switches_total", "scxtop_cpu_migrations_in_total",
                   "scxtop_migrations_total", "scxtop_wakeup_latency_seconds_bucket", "scxtop_blocked_tasks",
                   "scxtop_blocked_chains", "scxtop_priority_inversions", "scxtop_task_delay_seconds_total",
                   "scxtop_sched_ext_state", "scxtop_sched_ext_ops_info", "scxtop_sched_ext_changes_total",
                   "scxtop_bpftrace_lost_events_total", "scxtop_cpu_runqueue_length_max",
                   "scxtop_cpu_runqueue_sched_ext_length"):
        assert absent not in names(found), absent


def test_nothing_but_our_own_process_before_the_first_interval():
    found = series(Exporter(count_restarts=True), OPENMETRICS)
    assert names(found) and all(name.startswith("scxtop_process_") for name in names(found))


def _cpu(cpu: int, csw: int | None) -> CpuStats:
    seen = csw is not None
    return CpuStats(cpu=cpu, rq=1.0, csw=csw, mig_in=1 if seen else None, mig_out=2 if seen else None)


def _plain(i: int, csw: int | None, **fields: object) -> Sample:
    return Sample(time=1000.0 + i, elapsed_s=i, interval_s=1.0, source="bpftrace", cpus=(_cpu(0, csw),),
                  **fields)  # type: ignore[arg-type]


def test_counters_only_grow_and_carry_on_across_a_source_restart():
    """The first report of a (re)started bpftrace has no context-switch baseline (None): the
    counter keeps its total instead of vanishing or dropping."""
    exporter = Exporter()
    seen = []
    for i, csw in enumerate([None, 10, 20, None, 5, 0, 7]):
        exporter.update(_plain(i, csw))
        seen.append(value(series(exporter), "scxtop_cpu_context_switches_total", cpu="0"))
    assert seen == [None, 10, 30, 30, 35, 35, 42]


def test_histogram_buckets_are_cumulative_and_add_up_across_intervals():
    hist = LatencyHistogram((LatencyBucket(0, 1, 3), LatencyBucket(4, 8, 5),
                             LatencyBucket(1 << 30, 1 << 31, 2)))
    exporter = exported(*(_plain(i, 1, wakeup_latency=hist) for i in range(3)))
    found = series(exporter, OPENMETRICS)
    counts = [value(found, "scxtop_wakeup_latency_seconds_bucket", le=le) for le in LE_BOUNDS]
    assert counts == sorted(counts)  # cumulative
    assert counts[0] == 9  # [0, 1 µs) three times
    assert counts[LE_BOUNDS.index("8e-06")] == 9 + 15
    assert counts[-2] == 24 and counts[-1] == 30  # the 2^30 µs bucket is past the last bound: only +Inf
    assert "scxtop_wakeup_latency_seconds_sum" not in names(found)  # log2 buckets give no sum


def test_bucket_index_puts_a_bucket_at_the_first_bound_not_below_its_upper_edge():
    assert bucket_index(1) == 0
    assert bucket_index(2) == 1
    assert bucket_index(3) == 2  # [2, 3) <= 4 µs
    assert bucket_index(LATENCY_BOUNDS_US[-1] + 1) == len(LATENCY_BOUNDS_US)


def test_sched_ext_kernel_counters_carry_across_scheduler_loads():
    def scx(seq: int, n: int) -> SchedExtState:
        return SchedExtState(supported=True, state="enabled", ops="x", enable_seq=seq,
                             events=(("SCX_EV_A", n),))

    acc = Accumulator()
    states = [scx(1, 5), scx(1, 9), SchedExtState(supported=True, state="disabled"), scx(2, 1), scx(2, 4),
              scx(3, 10)]
    totals = [acc.add(_plain(i, 1, scx=state)).scx_kernel_events for i, state in enumerate(states)]
    assert [dict(t or ())["SCX_EV_A"] for t in totals] == [5, 9, 9, 10, 13, 23]


def test_sched_ext_changes_count_by_kind_and_start_at_zero():
    def ev(kind: SchedExtEventKind) -> SchedExtEvent:
        return SchedExtEvent(time=1.0, kind=kind, ops="x")

    supported = SchedExtState(supported=True, state="enabled", ops="x")
    exporter = exported(_plain(0, 1, scx=supported),
                        _plain(1, 1, scx=supported, scx_events=(ev(SchedExtEventKind.EJECTED),)),
                        _plain(2, 1, scx=supported, scx_events=(ev(SchedExtEventKind.LOADED),
                                                                ev(SchedExtEventKind.EJECTED))))
    found = series(exporter)
    assert value(found, "scxtop_sched_ext_changes_total", kind="ejected") == 2
    assert value(found, "scxtop_sched_ext_changes_total", kind="loaded") == 1
    assert value(found, "scxtop_sched_ext_changes_total", kind="switch_failed") == 0


def test_task_delay_counts_each_nanosecond_once_even_when_a_list_is_reused():
    """The bpftrace source refreshes its delayed-task list at most once a second and re-sends it
    at shorter intervals: the same totals must not be added twice."""
    first = (TaskDelay(10, "a", 0, "normal", 0, delay_ns=100, total_delay_ns=1000),)
    later = (TaskDelay(10, "a", 0, "normal", 0, delay_ns=300, total_delay_ns=1300),
             TaskDelay(11, "b", 0, "normal", 0, delay_ns=50, total_delay_ns=5000))
    acc = Accumulator()
    lists = [first, first, later, later]
    got = [acc.add(_plain(i, 1, delayed_tasks=d)).task_delay_ns for i, d in enumerate(lists)]
    assert got == [100, 100, 100 + 300 + 50, 450]  # a grew by 300; b is new: its interval's 50


def test_cpu_pair_series_only_with_the_flag():
    on = series(exported(full_sample(0), full_sample(1), cpu_pairs=True))
    assert value(on, "scxtop_cpu_pair_migrations_total", src_cpu="0", dst_cpu="1") == 6
    assert value(on, "scxtop_cpu_pair_migrations_total", src_cpu="1", dst_cpu="0") == 2


def test_format_follows_the_accept_header():
    exporter = exported(full_sample())
    om, om_type = exporter.render(OPENMETRICS)
    text, text_type = exporter.render("text/plain;version=0.0.4")
    _, plain_type = exporter.render(None)
    assert om_type.startswith("application/openmetrics-text") and om.endswith(b"# EOF\n")
    assert om.count(b"# EOF") == 1
    assert text_type.startswith("text/plain") and b"# EOF" not in text
    assert plain_type.startswith("text/plain")
    assert b"# TYPE scxtop_sched_ext_state stateset" in om and b"# TYPE scxtop_sched_ext_ops info" in om
    assert b"# UNIT scxtop_wakeup_latency_seconds seconds" in om


def test_fast_openmetrics_escaping_writes_the_same_bytes():
    """Our names are legacy-valid, so prometheus-client's slow per-character escaping changes nothing."""
    from prometheus_client.openmetrics import exposition

    if not hasattr(exposition, "ALLOWUTF8"):
        pytest.skip("this prometheus-client has no escaping modes: nothing to compare")
    exporter = exported(full_sample(0), full_sample(1), cpu_pairs=True)
    slow = exposition.generate_latest(exporter.sample_registry, escaping=exposition.UNDERSCORES)
    fast = exposition.generate_latest(exporter.sample_registry, escaping=exposition.ALLOWUTF8)
    assert slow == fast


def test_two_scrapes_of_one_interval_send_the_same_interval_bytes():
    exporter = exported(full_sample(0))
    first = exporter.render(OPENMETRICS)[0].split(b"# HELP scxtop_process_")[0]
    second = exporter.render(OPENMETRICS)[0].split(b"# HELP scxtop_process_")[0]
    assert first == second
    exporter.update(full_sample(1))
    assert exporter.render(OPENMETRICS)[0].split(b"# HELP scxtop_process_")[0] != first


def test_hostile_names_stay_inside_their_label():
    evil = 'x"} 1\nscxtop_fake 1\n# EOF'
    sample = dataclasses.replace(full_sample(), scx=SchedExtState(supported=True, state="enabled", ops=evil,
                                                                  events=((evil, 1),)))
    found = series(exported(sample), OPENMETRICS)
    assert value(found, "scxtop_sched_ext_ops_info", ops=evil) == 1
    assert value(found, "scxtop_sched_ext_events_total", event=evil) == 1
    assert "scxtop_fake" not in names(found)


class CountingSource:
    """A source that counts how many samples were pulled from it; it blocks after `count`."""

    name = "counting"

    def __init__(self, count: int) -> None:
        self.interval_s = 1.0
        self.count = count
        self.pulled = 0
        self.produced = threading.Event()
        self._closed = threading.Event()

    def samples(self):
        for i in range(self.count):
            self.pulled += 1
            yield _plain(i, 10)
        self.produced.set()
        self._closed.wait()

    def close(self) -> None:
        self._closed.set()


def test_scrapes_never_trigger_collection():
    source = CountingSource(3)
    exporter = Exporter(count_restarts=True)
    collection = Collection("counting", 1.0, exporter, opener=lambda spec, interval: source)
    collection.start()
    try:
        assert source.produced.wait(10)
        for _ in range(50):
            found = series(exporter, OPENMETRICS)
        assert source.pulled == 3
        assert value(found, "scxtop_cpu_context_switches_total", cpu="0") == 30
    finally:
        collection.stop()


class FailingSource(CountingSource):
    """Yields its samples, then fails as a killed bpftrace does."""

    def samples(self):
        for i in range(self.count):
            self.pulled += 1
            yield _plain(i, 10)
        from scxtop.bpftrace.errors import BpftraceError

        raise BpftraceError("bpftrace exited with status -9")


def test_a_failing_source_is_restarted_and_the_counters_carry_on(monkeypatch: pytest.MonkeyPatch):
    import scxtop.servecmd as servecmd

    monkeypatch.setattr(servecmd, "RESTART_FIRST_S", 0.01)
    opened: list[CountingSource] = []

    def opener(spec: str, interval: float) -> CountingSource:
        opened.append(FailingSource(2) if len(opened) < 2 else CountingSource(2))
        return opened[-1]

    exporter = Exporter(count_restarts=True)
    collection = Collection("bpftrace", 1.0, exporter, opener=opener)
    collection.start()
    try:
        assert collection.first.wait(10)
        deadline = threading.Event()
        for _ in range(200):
            if len(opened) == 3 and opened[-1].produced.is_set():
                break
            deadline.wait(0.05)
        found = series(exporter)
        assert value(found, "scxtop_source_restarts_total") == 2
        assert value(found, "scxtop_cpu_context_switches_total", cpu="0") == 60
    finally:
        collection.stop()


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool is not installed (apt-get install prometheus; ./bootstrap.sh test does)")
@pytest.mark.parametrize("pairs", [False, True])
def test_promtool_check_metrics_is_clean(pairs: bool):
    body, _ = exported(procfs_like_sample(0), full_sample(1), full_sample(2), cpu_pairs=pairs,
                       versions={"bpftrace": "0.17.0"}, count_restarts=True).render("text/plain")
    done = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not done.stdout.strip() and not done.stderr.strip(), (done.stdout, done.stderr)


def test_idle_connections_beyond_the_bound_are_closed_and_scrapes_resume():
    """A client that opens many connections and sends nothing holds at most MAX_CONNECTIONS threads."""
    import socket
    import urllib.request

    from scxtop.export.http import MAX_CONNECTIONS, ListenAddress, MetricsServer

    server = MetricsServer(ListenAddress("127.0.0.1", 0), exported(full_sample()))
    server.start()
    idle: list[socket.socket] = []
    try:
        for _ in range(MAX_CONNECTIONS + 8):
            idle.append(socket.create_connection(("127.0.0.1", server.bound.port), timeout=10))
        closed = 0
        for conn in idle[MAX_CONNECTIONS:]:
            closed += conn.recv(1) == b""  # refused ones are closed by the server at once
        assert closed == 8
        for conn in idle:
            conn.close()
        url = f"http://127.0.0.1:{server.bound.port}/metrics"
        for _ in range(100):  # bounded: the freed threads notice their closed clients at once
            try:
                with urllib.request.urlopen(url, timeout=10) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                threading.Event().wait(0.05)
        else:
            raise AssertionError("no scrape answered after the idle connections closed")
    finally:
        for conn in idle:
            conn.close()
        server.stop()
