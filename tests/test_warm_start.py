"""The dashboard's warm start: procfs samples first, bpftrace's as soon as it reports, one stream.

Real sources on this kernel: procfs, and bpftrace where it can run (root). A bpftrace that cannot
start (a binary that does not exist) leaves the procfs samples running and says why.
"""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest
from restricted import as_nobody
from workloads import bpf_skip_reason

from scxtop.bpftrace.errors import BpftraceError
from scxtop.sources.base import Source
from scxtop.sources.bpftrace import BpftraceSource
from scxtop.sources.procfs import ProcfsSource
from scxtop.sources.warm import FIRST_INTERVAL_S, OpenedAhead, WarmStart, quick_procfs


def _bpftrace_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "bpftrace"]


@pytest.mark.bpf
@pytest.mark.skipif(bpf_skip_reason() is not None, reason=bpf_skip_reason() or "")
def test_procfs_first_then_bpftrace_without_a_gap():
    source = WarmStart(BpftraceSource, quick_procfs, 1.0)
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

    def quick(interval: float) -> Source:
        asked.append(interval)
        return quick_procfs(interval)

    source = WarmStart(BpftraceSource, quick, 1.0)
    try:
        first = next(iter(source.samples()))
    finally:
        source.close()
    assert first.source == "procfs"
    assert asked == [1.0]  # the chosen interval; the quick source shortens only its first one
    # the sample reports the time its counters cover: the short interval, not the chosen 1 s
    # (scheduling delay on a loaded machine adds to it; the pacer's grid starts a moment before
    # the first read, so it may also fall a few ms short: 0.2466 s in one CI run)
    assert first.interval_s >= FIRST_INTERVAL_S * 0.9
    assert first.interval_s < 1.0
    assert not _bpftrace_children()


def test_a_source_opened_ahead_has_its_first_sample_ready_when_asked():
    """The dashboard opens procfs before importing Textual: once its first interval is over, the
    first sample comes at once (one snapshot, no wait) and covers the time since it was opened."""
    source = ProcfsSource(5.0, first_interval_s=1.0)
    time.sleep(2.5)  # more than twice the first interval: the pacer's grid restarts here
    asked = time.monotonic()
    samples = source.samples()
    try:
        first = next(samples)
        waited = time.monotonic() - asked
    finally:
        source.close()
    assert waited < 1.0, f"waited {waited:.2f} s for an interval that was over"  # was 1 s more
    assert first.interval_s >= 2.5


def test_the_opened_ahead_source_is_handed_out_once():
    ahead = OpenedAhead(1.0)
    first = ahead(2.0)
    again = ahead(2.0)
    try:
        assert again is not first  # a collector that reopens gets a new source
        assert first.interval_s == again.interval_s == 2.0
    finally:
        for source in (first, again):
            source.close()
        ahead.close()


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


AUTO_AS_NOBODY = """
from scxtop.sources.warm import open_warm
source = open_warm("auto", 0.2, lambda line: print("said:", line))
samples = source.samples()
for _ in range(3):
    print("sample:", next(samples).source, source.attaching_s())
source.close()
"""


def test_auto_without_privileges_goes_on_with_procfs_and_says_why_once():
    """The dashboard's `--source auto` as a user without BPF: the first screen is procfs as
    always, the reason (not "bpftrace failed") is said once, and the status stops attaching."""
    done = subprocess.run(as_nobody([sys.executable, "-c", AUTO_AS_NOBODY]), capture_output=True,
                          text=True, cwd="/", timeout=60)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("said:")]
    assert len(said) == 1 and "using procfs" in said[0] and "root" in said[0], done.stdout
    assert "bpftrace failed" not in said[0]
    sources = [line.split()[1:] for line in done.stdout.splitlines() if line.startswith("sample:")]
    assert [name for name, _ in sources] == ["procfs"] * 3
    assert sources[-1][1] == "None"  # no "bpftrace attaching…" once it gave up
