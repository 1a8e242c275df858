"""Fixed, deterministic samples for the dashboard tests: known numbers the tests look for on screen.

Not random: sample `i` of `nr_cpus` CPUs always holds the same values, so snapshots are stable.
"""

from __future__ import annotations

from collections.abc import Iterator

from scxtop.chains import build_chains
from scxtop.model import (
    BlockedEdge,
    CpuStats,
    LatencyBucket,
    LatencyHistogram,
    MigrationPair,
    Migrator,
    OwnerState,
    Sample,
    SchedExtState,
    TaskDelay,
    TaskRef,
)

T0 = 1_790_000_000.0
HOT_CPU = 1
"""The CPU whose runqueue the synthetic load overloads."""


def edges() -> tuple[BlockedEdge, ...]:
    """A three-deep chain with a priority inversion (writer prio 100 behind owner prio 139),
    and a two-task deadlock."""
    writer = TaskRef(4242, "pipe-writer", 100)
    middle = TaskRef(4243, "pipe-middle", 120)
    owner = TaskRef(4244, "pipe-owner", 139)
    a, b = TaskRef(5001, "dead-a", 120), TaskRef(5002, "dead-b", 120)
    return (
        BlockedEdge(writer, 0xFFFF888001230000, middle, OwnerState.SLEEPING, None, 3_500_000),
        BlockedEdge(middle, 0xFFFF888004560000, owner, OwnerState.RUNNABLE, 1, 12_000_000),
        BlockedEdge(a, 0xFFFF888007770000, b, OwnerState.SLEEPING, None, 2_000_000_000),
        BlockedEdge(b, 0xFFFF888008880000, a, OwnerState.SLEEPING, None, 2_100_000_000),
        BlockedEdge(TaskRef(4245, "pipe-reader", 120), 0xFFFF888001230000, middle, OwnerState.RUNNING, 0,
                    40_000, ended=True),
    )


def sample(i: int, nr_cpus: int = 4, scx: SchedExtState | None = None, source: str = "synthetic") -> Sample:
    cpus = tuple(
        CpuStats(
            cpu=c,
            rq=6.0 + (i % 3) if c == HOT_CPU else 0.25 * (c % 2),
            rq_max=9 if c == HOT_CPU else 1,
            util=100.0 if c == HOT_CPU else 10.0 + c,
            csw=1000 * (c + 1) + i,
            mig_in=3 * c,
            mig_out=2 * c + 1,
        )
        for c in range(nr_cpus)
    )
    migrations = tuple(
        MigrationPair(src=c, dst=(c + 1) % nr_cpus, count=10 * (c + 1)) for c in range(nr_cpus)
    )
    blocked = edges()
    return Sample(
        time=T0 + i,
        elapsed_s=float(i + 1),
        interval_s=1.0,
        source=source,
        cpus=cpus,
        migrations=migrations,
        top_migrators=(Migrator(7001, "flipper", 250), Migrator(7002, "kworker/1:1", 12)),
        blocked=blocked,
        chains=build_chains(blocked),
        wakeup_latency=LatencyHistogram((LatencyBucket(2, 4, 90), LatencyBucket(256, 512, 10))),
        delayed_tasks=(
            TaskDelay(8001, "busy-loop", HOT_CPU, "normal", 0, 750_000_000, 9_000_000_000),
            TaskDelay(8002, "pipe-writer", 0, "fifo", None, 120_000_000, 400_000_000),
            TaskDelay(8003, "idle-ish", 0, "batch", 19, 1_000_000, 2_000_000),
        ),
        scx=scx or SchedExtState(supported=False),
        lost_events=i % 2,
        limitations=("no cpufreq",),
    )


def samples(count: int, nr_cpus: int = 4) -> list[Sample]:
    return [sample(i, nr_cpus) for i in range(count)]


class FixedSource:
    """A Source over fixed samples: yields them, then blocks until closed (like a live source)."""

    name = "synthetic"

    def __init__(self, items: list[Sample], interval_s: float = 1.0) -> None:
        self.items = items
        self.interval_s = interval_s
        self.closed = False
        import threading

        self._closed = threading.Event()

    def samples(self) -> Iterator[Sample]:
        yield from self.items
        self._closed.wait()

    def close(self) -> None:
        self.closed = True
        self._closed.set()
