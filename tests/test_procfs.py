"""The procfs source on the real kernel: pinned busy loops show up in their CPU's rq and util."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from workloads import pinned_busy_loops

from scxtop.kernel.procfs import read_schedstat
from scxtop.kernel.threads import scan_threads
from scxtop.sources.procfs import ProcfsSource

FIXTURES = Path(__file__).parent / "fixtures"
LOOPS = 10
"""Busy loops on one CPU: enough to stand out from what else runs on a shared test machine."""


def take(source: ProcfsSource, n: int):
    try:
        return list(itertools.islice(source.samples(), n))
    finally:
        source.close()


def two_cpus() -> tuple[int, int]:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs to compare a loaded one with an idle one")
    return cpus[-1], cpus[0]


def test_pinned_busy_loops_raise_that_cpus_runqueue():
    busy, other = two_cpus()
    with pinned_busy_loops(busy, LOOPS) as pids:
        samples = take(ProcfsSource(interval_s=0.5), 4)
    for sample in samples:
        by_cpu = {c.cpu: c for c in sample.cpus}
        assert by_cpu[busy].rq >= LOOPS and by_cpu[busy].rq_max >= LOOPS, sample
        assert by_cpu[busy].rq > by_cpu[other].rq
        assert by_cpu[busy].util > 90
    # The loops share one CPU, so each waits on the runqueue: they lead the most-delayed list.
    delayed = {d.pid for d in samples[-1].delayed_tasks}
    assert delayed & set(pids)
    assert all(d.cpu == busy and d.delay_ns > 0 for d in samples[-1].delayed_tasks if d.pid in pids)


def test_unseen_values_are_none_and_said_in_limitations():
    sample = take(ProcfsSource(interval_s=0.2), 1)[0]
    assert sample.source == "procfs"
    assert sample.migrations is None and sample.top_migrators is None
    assert sample.blocked is None and sample.chains is None and sample.wakeup_latency is None
    assert any("no migrations" in note for note in sample.limitations)
    assert len(sample.cpus) == os.cpu_count()
    if not Path("/proc/schedstat").exists():
        assert all(c.csw is None for c in sample.cpus)
        assert any("context switches" in note for note in sample.limitations)


def test_a_sample_reports_the_time_its_counters_cover_not_the_interval_asked_for():
    """A stalled machine (or reader) stretches an interval: counts over 1.5 s reported as 0.2 s
    made the compare table's csw/s several times too high in a starved guest."""
    source = ProcfsSource(interval_s=0.2)
    try:
        samples = source.samples()
        first = next(samples)
        time.sleep(1.5)  # nothing reads the counters meanwhile: the next delta spans the pause
        stretched = next(samples)
        normal = next(samples)
    finally:
        source.close()
    # the others cover about the 0.2 s asked for: a little less or more, as the ticks fell
    assert 0 < first.interval_s < 1.5 and 0 < normal.interval_s < 1.5
    assert stretched.interval_s >= 1.5, stretched.interval_s
    assert source.interval_s == 0.2  # what was asked for is unchanged


def test_per_cpu_switches_from_schedstat_where_the_kernel_has_it(tmp_path: Path):
    assert read_schedstat(FIXTURES / "schedstat") == {0: 2206735, 1: 1976534}
    assert read_schedstat(tmp_path / "absent") is None


def test_scan_finds_this_thread_and_reads_its_fields():
    me = os.getpid()
    threads = {t.tid: t for t in scan_threads(runnable_only=False)}
    assert threads[me].pid == me and threads[me].state == "R"
    assert threads[me].cpu in os.sched_getaffinity(0)
    assert threads[me].policy == "SCHED_OTHER" and threads[me].nice == os.nice(0)
    assert me not in {t.tid for t in scan_threads(skip_tid=me)}


ODD_TASK = """
import os, sys, time
open("/proc/self/comm", "w").write("x (y) z")
os.nice(5)
os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
os.sched_setaffinity(0, {int(sys.argv[1])})
print("ready", flush=True)
time.sleep(60)
"""


def test_comm_with_spaces_and_parentheses_nice_and_policy_are_read():
    cpu = max(os.sched_getaffinity(0))
    child = subprocess.Popen([sys.executable, "-c", ODD_TASK, str(cpu)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        # "ready" comes just before the sleep: wait (bounded) until the child is in it, so that the
        # state read is the sleep's and not the last instructions before it or a preemption.
        deadline = time.monotonic() + 30
        while (stat := {t.tid: t for t in scan_threads(runnable_only=False)}[child.pid]).state != "S":
            assert time.monotonic() < deadline, stat
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
    seen = (stat.comm, stat.state, stat.nice, stat.cpu, stat.policy)
    assert seen == ("x (y) z", "S", 5, cpu, "SCHED_BATCH")
