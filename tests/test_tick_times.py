"""Rows carry the time of their tick, a stalled bpftrace is recorded as a gap (not as values), and
a bpftrace killed by a signal is named as such."""

from __future__ import annotations

import itertools
import os
import signal
import time

import pytest
from workloads import bpf_skip_reason

from scxtop.bpftrace.errors import BpftraceError, classify_stderr
from scxtop.bpftrace.ticks import TickClock
from scxtop.sources.bpftrace import BpftraceSource

S = 1_000_000_000


def test_on_time_reports_keep_their_tick_times():
    clock = TickClock(1.0, start_ns=100 * S)
    got = [clock.time(tick, tick + 3_000_000, wall_now=1000.0 + i) for i, tick in
           enumerate(range(101 * S, 105 * S, S))]
    assert [t.gap for t in got] == [False] * 4
    assert [t.elapsed_s for t in got] == [1.0, 2.0, 3.0, 4.0]
    assert [t.interval_s for t in got] == [1.0] * 4
    assert got[0].time == pytest.approx(1000.0 - 0.003)


def test_a_burst_after_a_stall_is_a_gap_at_the_tick_times():
    """Ticks at 1..8 s; the reader stalls from 2.5 s to 7.2 s, then reads the queued ones at once."""
    clock = TickClock(1.0, start_ns=0)
    reads = [1.001, 2.001, 7.200, 7.201, 7.202, 7.203, 7.204, 8.002]
    got = [clock.time((i + 1) * S, int(r * S), wall_now=r) for i, r in enumerate(reads)]
    assert [t.gap for t in got] == [False, False, True, True, True, True, True, False]
    assert [round(t.time, 3) for t in got] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]


def test_restart_forgets_the_previous_bpftrace():
    clock = TickClock(1.0, start_ns=0)
    clock.time(S, S, 1.0)
    clock.restart(0.5)
    assert not clock.time(10 * S, 10 * S + 1000, 10.0).gap


@pytest.mark.bpf
def test_sigstopped_bpftrace_gives_gap_rows_not_made_up_values():
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)
    source = BpftraceSource(0.5)
    stream = source.samples()
    try:
        before = next(stream)  # attached and reporting
        assert not before.gap
        os.kill(source.pid, signal.SIGSTOP)
        try:
            time.sleep(3.0)  # the stall under test, not a wait for a state
        finally:
            os.kill(source.pid, signal.SIGCONT)
        rows = [before]
        while not (len(rows) > 2 and rows[-1].gap is False and rows[-2].gap is True):
            rows.append(next(stream))
            assert len(rows) < 40, [r.gap for r in rows]
        after = next(stream)
    finally:
        source.close()
        stream.close()
    gaps = [r for r in rows if r.gap]
    assert len(gaps) >= 4  # about six ticks queued during 3 s at 0.5 s
    assert all(c.rq is None and c.util is None and c.csw is None for r in gaps for c in r.cpus)
    assert all(r.migrations is None and r.blocked is None and r.wakeup_latency is None for r in gaps)
    assert all(any("bpftrace stalled" in note for note in r.limitations) for r in [*gaps, after])
    # Each row keeps its tick's time: half a second apart by the kernel's timer, never a burst.
    # (On a loaded CI machine one pair was not 0.5 s apart once: a tick's report can be lost when
    # bpftrace's buffer fills while it is stopped. A lost tick leaves a whole tick's hole; a burst
    # of made-up times would be far less than one tick apart.)
    times = [r.time for r in [*rows, after]]
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert all(step == pytest.approx(0.5 * max(1, round(step / 0.5)), abs=0.1) for step in steps), steps
    assert sum(step > 0.75 for step in steps) <= 1, steps
    assert all(b.elapsed_s > a.elapsed_s for a, b in itertools.pairwise(rows))


def test_a_signal_is_named_whatever_was_printed_before():
    assert str(classify_stderr("", -9)) == "bpftrace was killed (SIGKILL)"
    assert str(classify_stderr("Attaching 5 probes...\n", -15)) == "bpftrace was killed (SIGTERM)"
    assert str(classify_stderr("ERROR: something\n", 1)) == "bpftrace failed (exit status 1): something"


@pytest.mark.bpf
def test_bpftrace_killed_by_a_signal_says_so():
    reason = bpf_skip_reason()
    if reason:
        pytest.skip(reason)
    source = BpftraceSource(0.5)
    stream = source.samples()
    try:
        next(stream)
        os.kill(source.pid, signal.SIGKILL)
        with pytest.raises(BpftraceError, match=r"^bpftrace was killed \(SIGKILL\)$"):
            for _ in range(20):
                next(stream)
    finally:
        source.close()
        stream.close()
