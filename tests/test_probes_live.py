"""The probes on the real kernel, under real workloads (root, bpftrace and tracefs needed).

Each test starts the bpftrace source first, waits for its first report (probes attached), then
starts a workload from tests/workloads.py and checks what the next reports show.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from workloads import (
    F_SETPIPE_SZ,
    alive,
    bpf_skip_reason,
    flipping_task,
    loops_stand_out,
    pinned_busy_loops,
    pipe_writers,
    wait_gone,
)

from scxtop.bpftrace import (
    END,
    AttachedProbes,
    BpftraceProcess,
    build,
    find_bpftrace,
    kernel_types,
    parse_record,
    ticks,
)
from scxtop.bpftrace.programs import probe_dir, render
from scxtop.model import Sample
from scxtop.sources.bpftrace import PROFILE_HZ, BpftraceSource, bpf_unavailable_reason

pytestmark = pytest.mark.bpf

PROBE_FILES = sorted(p.name for p in probe_dir().glob("*.bt"))


@pytest.fixture(autouse=True)
def bpf_ready() -> None:
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)


def bpftrace_children() -> list[int]:
    """bpftrace processes whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if comm == "bpftrace" and int(rest[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def samples_under(workload: Callable[[], AbstractContextManager], count: int = 3, interval_s: float = 1.0):
    """(what the workload yielded, `count` samples taken while it ran)."""
    source = BpftraceSource(interval_s)
    stream = source.samples()
    try:
        next(stream)  # the probes are attached and reporting
        with workload() as ids:
            next(stream)  # the report that straddles the workload's start
            # A report read late on a loaded machine is a gap row with no values: skip those.
            got: list[Sample] = []
            for _ in range(count * 5):
                if len(got) == count:
                    break
                if not (sample := next(stream)).gap:
                    got.append(sample)
            assert len(got) == count, "bpftrace's reports were gaps again and again"
        return ids, got
    finally:
        pid = source.pid
        source.close()
        stream.close()
        assert pid is not None and not alive(pid)
        assert bpftrace_children() == []


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


@pytest.mark.parametrize("name", PROBE_FILES)
def test_each_probe_file_runs_alone_and_reports(name):
    """`bpftrace FILE`, as a user would run it: it attaches and prints its first report."""
    proc = subprocess.Popen([find_bpftrace(), "-f", "json", str(probe_dir() / name)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = parse_record(proc.stdout.readline())
        assert type(first).__name__ == "AttachedProbes", proc.stderr.read()
        assert first.count >= 2
        # bpftrace 0.23 exits 255 on a SIGINT that comes right after "attached": let the probes
        # run until their first report (or 3 s, for a file whose maps are still empty) first.
        select.select([proc.stdout], [], [], 3.0)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize("name", PROBE_FILES)
def test_each_probe_file_loads_without_the_optional_kernel_features(name):
    """The variant for kernels without sched_ext or blocked_on loads too."""
    program = render((probe_dir() / name).read_text(), lambda feature: False)
    with BpftraceProcess(program) as proc:
        assert proc.wait_attached().count >= 2


def test_bpf_is_available_here():
    assert bpf_unavailable_reason() is None


def test_pinned_busy_loops_raise_that_cpus_runqueue():
    ncpu = os.cpu_count() or 1
    if ncpu < 2:
        pytest.skip("needs two CPUs to compare runqueues")
    busy = ncpu - 1
    _, samples = samples_under(lambda: pinned_busy_loops(busy, 4))
    busy_rq = mean(s.cpus[busy].rq for s in samples)
    others = [mean(s.cpus[c].rq for s in samples) for c in range(ncpu) if c != busy]
    assert busy_rq >= 3.5  # four tasks always runnable there
    assert loops_stand_out(busy_rq, others, 4), (busy_rq, others)
    assert all(s.cpus[busy].rq_max >= 4 for s in samples)
    assert all(s.cpus[busy].util > 90 for s in samples)


LINE_PAUSE_S, REPORT_PAUSE_S = 0.25, 1.0


def paced_lines(fd: int, deadline: float) -> Iterator[str]:
    """Lines from a packet-mode pipe one write deep (bpftrace waits for the reader at every line):
    the next one read LINE_PAUSE_S after a line, REPORT_PAUSE_S after a report's last line."""
    pending = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return
        packet = os.read(fd, 1 << 16)
        if not packet:
            return
        *lines, pending = (pending + packet).split(b"\n")
        yield from (line.decode() for line in lines)
        time.sleep(REPORT_PAUSE_S if END.encode() in packet else LINE_PAUSE_S)


def test_a_slow_reader_does_not_skew_the_runqueue_mean():
    """bpftrace runs each print() and clear() in user space when it gets to that event; while it
    waits on a slow reader (a starved scxtop, a loaded guest) those events spread out, and a map
    printed later keeps counting meanwhile. A mean's sum and its sample count must come from one
    window all the same.

    bpftrace's stdout is a packet-mode pipe one write deep, so bpftrace reads a map when the
    reader has taken its previous line, deterministically: lines are taken LINE_PAUSE_S apart,
    REPORT_PAUSE_S after a report's end (as a reader busy with the report it just got). With `k`
    loops pinned on a CPU every 99 Hz sample there sees at least `k` tasks, so every window's
    mean is at least `k`, within 3 samples of the window (a sample between two key reads; the
    divisor is the busiest CPU's count, a timer phase away); a window spans at least two line
    pauses. Sum and count in two maps would be read a report pause apart (one as the tick line
    goes out, the other once the reader took it): about a third of that."""
    ncpu = os.cpu_count() or 1
    if ncpu < 2:
        pytest.skip("needs a CPU for the loops and one for bpftrace")
    busy, k = ncpu - 1, 2
    types = kernel_types()
    program = build(("runqueue",), 1.0, types.has if types else (lambda feature: False))
    read_fd, write_fd = os.pipe2(os.O_DIRECT)
    fcntl.fcntl(write_fd, F_SETPIPE_SZ, 4096)  # one page: one write at a time
    proc = BpftraceProcess(program, stdout=write_fd)
    os.close(write_fd)
    source = BpftraceSource(1.0)
    try:
        records = (r for line in paced_lines(read_fd, time.monotonic() + 60)
                   if (r := parse_record(line)) is not None)
        assert isinstance(next(records, None), AttachedProbes), proc.stderr_text()
        reports = ticks(records)
        with pinned_busy_loops(busy, k):
            time.sleep(0.5)  # pinned: a window that starts from now on sees them all the time
            next(reports)  # the one that straddles the start
            got = [source.sample(t, read_ns=t.nsecs) for t in itertools.islice(reports, 4)]
    finally:
        proc.stop(grace_s=0)
        os.close(read_fd)
        source.close()
    assert len(got) == 4 and all(s is not None and not s.gap for s in got)
    window = PROFILE_HZ * 2 * LINE_PAUSE_S  # samples, at least
    rqs = [s.cpus[busy].rq for s in got]
    assert all(rq >= k * (1 - 3 / window) for rq in rqs), rqs


def test_pinned_busy_loops_lead_the_most_delayed_tasks():
    """Four spinners sharing one CPU each wait about 3/4 of the time on its runqueue (taskstats).

    At nice 19 they wait nearly all the time even beside other load, so they lead the list on a
    busy machine too. The kernel credits a wait when the task next runs, and beside heavy load a
    nice-19 spinner can go a whole interval without running: its wait then shows in a later
    sample, so the spinners are looked for across the samples, not in one."""
    busy = (os.cpu_count() or 1) - 1
    pids, samples = samples_under(lambda: pinned_busy_loops(busy, 4, nice=19), count=5)
    mine = {t.pid: t for s in samples for t in s.delayed_tasks or () if t.pid in pids}
    assert len(mine) >= 3, [s.delayed_tasks for s in samples]
    assert all(t.delay_ns > 100_000_000 and t.cpu == busy for t in mine.values()), mine
    assert any(s.delayed_tasks and s.delayed_tasks[0].pid in pids for s in samples), samples


def test_flipping_task_migrates_both_ways_and_leads_the_migrators():
    if (os.cpu_count() or 1) < 2:
        pytest.skip("needs two CPUs to migrate between")
    pid, samples = samples_under(lambda: flipping_task((0, 1), 0.002))
    pairs: dict[tuple[int, int], int] = {}
    for s in samples:
        for p in s.migrations:
            pairs[(p.src, p.dst)] = pairs.get((p.src, p.dst), 0) + p.count
    assert pairs.get((0, 1), 0) >= 10 and pairs.get((1, 0), 0) >= 10
    for s in samples:
        mine = [m for m in s.top_migrators if m.pid == pid]
        assert mine and mine[0].count >= 10, s.top_migrators
        assert mine[0].comm.startswith("python")
        assert s.cpus[0].mig_in and s.cpus[0].mig_out and s.cpus[1].mig_in and s.cpus[1].mig_out


def samples_until(workload: Callable[[], AbstractContextManager], seen: Callable[[object, Sample], bool],
                  limit: int = 20, interval_s: float = 1.0):
    """(what the workload yielded, the samples taken while it ran, up to the first where `seen`
    holds); fails, naming what it saw, when `limit` samples pass without it."""
    source = BpftraceSource(interval_s)
    stream = source.samples()
    try:
        next(stream)
        with workload() as ids:
            got = [next(stream)]
            while not seen(ids, got[-1]):
                assert len(got) < limit, f"not seen in {limit} samples: {[s.blocked for s in got]}"
                got.append(next(stream))
            got = [s for s in got if not s.gap]
        return ids, got
    finally:
        pid = source.pid
        source.close()
        stream.close()
        assert pid is not None and not alive(pid)
        assert bpftrace_children() == []


def test_pipe_writers_show_blocked_edges_between_their_own_threads():
    """The writers contend on the pipe's mutex often, but not in every second on a loaded
    machine: sample until they do (bounded), then check the edges."""
    def ours(pids, e) -> bool:
        return e.waiter.tid in set(pids) and e.owner is not None and e.owner.tid in set(pids)

    pids, samples = samples_until(lambda: pipe_writers(4),
                                  lambda pids, s: any(ours(pids, e) for e in s.blocked or ()))
    edges = [e for s in samples for e in s.blocked or () if ours(pids, e)]
    # a wait that began after the tick's clock was read, or ended between the prints of two maps,
    # shows 0 ns (never negative): seen once the writers contended in every interval
    assert all(e.wait_ns >= 0 and e.lock > 0 for e in edges), edges
    assert any(e.wait_ns > 0 for e in edges), edges
    assert len({e.lock for e in edges}) == 1  # one pipe, one mutex
    assert all(e.waiter.comm.startswith("python") and e.owner.comm.startswith("python") for e in edges)
    assert all(s.chains is not None for s in samples)


def test_context_switches_and_wakeup_latency_are_counted():
    _, samples = samples_under(lambda: pipe_writers(2), count=2)
    for s in samples:
        assert all(c.csw and c.csw > 0 for c in s.cpus)
        assert s.wakeup_latency is not None and s.wakeup_latency.total > 0
        assert s.scx is not None and s.lost_events == 0


def test_changing_the_interval_restarts_bpftrace_with_the_new_one():
    source = BpftraceSource(1.0)
    stream = source.samples()
    try:
        next(stream)
        first_pid = source.pid
        source.interval_s = 0.5
        sample: Sample = next(stream)  # still the old program's report: the change lands after it
        sample = next(stream)
        assert source.pid != first_pid and not alive(first_pid)
        assert "interval:ms:500" in source.program()
        assert sample.cpus and sample.source == "bpftrace"
    finally:
        source.close()
        stream.close()
    assert bpftrace_children() == []


KILLED = """
import sys
from scxtop.sources.bpftrace import BpftraceSource
source = BpftraceSource(1.0)
for sample in source.samples():
    print(source.pid, flush=True)
"""


def test_bpftrace_dies_when_the_source_process_is_sigkilled():
    parent = subprocess.Popen([sys.executable, "-c", KILLED], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert alive(child)
    finally:
        parent.kill()
        parent.wait()
    assert wait_gone(child)


def test_close_while_bpftrace_is_starting_ends_the_stream_quietly():
    """A dashboard quitting during the slow start: no error, nothing left behind."""
    import threading

    source = BpftraceSource(1.0)
    closer = threading.Timer(0.05, source.close)
    closer.start()
    assert list(source.samples()) == []
    closer.join()
    assert bpftrace_children() == []
