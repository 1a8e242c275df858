"""The collection loop: a failing source is reported and reopened with growing delays."""

from __future__ import annotations

import threading

from synthetic import FixedSource, samples

from scxtop.sources.base import SourceError
from scxtop.tui.collector import Backoff, collect


def test_backoff_doubles_up_to_its_cap():
    b = Backoff(first=1, cap=10)
    assert [b.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_failures_are_reported_and_retried_until_the_source_works():
    attempts = []
    got, failures, opened = [], [], []
    done = threading.Event()
    good = FixedSource(samples(3))

    def open_source():
        attempts.append(1)
        if len(attempts) < 3:
            raise SourceError("bpftrace: permission denied: run as root")
        return good

    def on_sample(s):
        got.append(s)
        if len(got) == 3:
            done.set()
            good.close()

    collect(open_source, opened.append, on_sample, failures.append, done.is_set,
            Backoff(first=0.01, cap=0.02))
    assert [f.attempt for f in failures] == [1, 2]
    assert failures[0].message == "bpftrace: permission denied: run as root"
    assert [f.retry_in for f in failures] == [0.01, 0.02]
    assert len(got) == 3
    assert opened == [good, None]  # the app learns of the source, then of its closing
    assert good.closed


def test_a_source_that_ends_counts_as_a_failure_and_is_reopened():
    opened = []
    failures = []

    def open_source():
        opened.append(FixedSource([]))
        opened[-1].close()  # yields nothing, returns at once
        return opened[-1]

    collect(open_source, lambda s: None, lambda s: None, failures.append,
            lambda: len(failures) >= 2, Backoff(first=0.01))
    assert len(opened) == 2
    assert "stopped sending samples" in failures[0].message
