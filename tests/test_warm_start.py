"""The dashboard's warm start: procfs samples first, bpftrace's as soon as it reports, one stream.

Real sources on this kernel: procfs, and bpftrace where it can run (root). A bpftrace that cannot
start (a binary that does not exist) leaves the procfs samples running and says why.
"""

from __future__ import annotations

import psutil
import pytest
from workloads import bpf_skip_reason

from scxtop.bpftrace.errors import BpftraceError
from scxtop.sources.bpftrace import BpftraceSource
from scxtop.sources.procfs import ProcfsSource
from scxtop.sources.warm import FIRST_INTERVAL_S, WarmStart


def _bpftrace_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "bpftrace"]


@pytest.mark.bpf
@pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or "")
def test_procfs_first_then_bpftrace_without_a_gap():
    source = WarmStart(BpftraceSource, ProcfsSource, 1.0)
    seen: list[tuple[str, float | None]] = []
    try:
        for sample in source.samples():
            seen.append((sample.source, source.attaching_s()))
            if sample.source == "procfs":
                assert sample.migrations is None  # procfs cannot see them: None, not 0
            if sum(1 for name, _ in seen if name == "bpftrace") >= 2:
                break
            assert len(seen) < 120, "bpftrace never reported"
    finally:
        source.close()
    names = [name for name, _ in seen]
    assert names[0] == "procfs"  # the first screen does not wait for bpftrace
    first_bpf = names.index("bpftrace")
    assert names[first_bpf:] == ["bpftrace"] * (len(names) - first_bpf)  # no procfs after the switch
    assert all(attaching is not None for _, attaching in seen[:first_bpf])
    assert all(attaching is None for _, attaching in seen[first_bpf:])
    assert source.name == "bpftrace"
    assert not _bpftrace_children()


def test_first_procfs_sample_uses_the_short_interval():
    asked: list[float] = []

    def quick(interval: float) -> ProcfsSource:
        asked.append(interval)
        return ProcfsSource(interval)

    source = WarmStart(BpftraceSource, quick, 1.0)
    try:
        first = next(iter(source.samples()))
    finally:
        source.close()
    assert first.source == "procfs"
    assert asked == [FIRST_INTERVAL_S]
    # the sample reports the time its counters cover: the short interval, not the chosen 1 s
    # (scheduling delay on a loaded machine adds to it; the pacer's grid starts a moment before
    # the first read, so it may also fall a few ms short: 0.2466 s in one CI run)
    assert first.interval_s >= FIRST_INTERVAL_S * 0.9
    assert not _bpftrace_children()


def test_a_bpftrace_that_cannot_start_leaves_procfs_running_and_says_why():
    said: list[str] = []
    source = WarmStart(lambda interval: BpftraceSource(interval, binary="/nonexistent/bpftrace"),
                       ProcfsSource, 0.2, said.append)
    try:
        samples = source.samples()
        for _ in range(6):
            assert next(samples).source == "procfs"
            if source.failure:
                break
        assert next(samples).source == "procfs"
    finally:
        source.close()
    assert source.failure is not None
    assert said and said[0].startswith("using procfs")
    assert source.attaching_s() is None


def test_explicit_bpftrace_that_cannot_start_is_an_error():
    source = WarmStart(lambda interval: BpftraceSource(interval, binary="/nonexistent/bpftrace"),
                       ProcfsSource, 0.2, fall_back=False)
    try:
        with pytest.raises(BpftraceError):
            for _ in source.samples():
                pass
    finally:
        source.close()
