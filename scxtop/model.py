"""The data model shared by every layer: one `Sample` per interval.

Plain frozen dataclasses, standard library only, so that sources, the recorder and the
dashboard agree on one shape and nothing crossing a module boundary is a dict of dicts.

The field names are the JSONL file format (`scxtop.recording.jsonl`): renaming, removing or
retyping a field breaks the recordings already written, so add fields with defaults instead,
or bump `jsonl.FORMAT_VERSION`.

Conventions:
- `None` means "this source cannot see it" (rendered as an empty CSV cell, "n/a" on screen);
  zero means "seen, and it was zero".
- Times are seconds since the epoch (float) for wall-clock instants, nanoseconds (int) for
  durations measured by the kernel.
- Priorities are kernel priorities (`task_struct->prio`): 0..99 real-time, 100..139 normal
  (120 is nice 0). A lower number is a higher priority.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CpuStats:
    """What one CPU did during one interval."""

    cpu: int
    rq: float | None = None
    """Mean runnable tasks on the CPU's runqueue, all classes (`rq->nr_running`, includes the running one)."""
    rq_max: int | None = None
    """Highest `rq->nr_running` seen during the interval."""
    rq_scx: float | None = None
    """Mean of the sched_ext share (`rq->scx.nr_running`); None where the kernel has no sched_ext."""
    util: float | None = None
    """Busy percentage, 0..100."""
    freq_mhz: float | None = None
    """`scaling_cur_freq` where cpufreq exists."""
    csw: int | None = None
    """Context switches during the interval."""
    mig_in: int | None = None
    mig_out: int | None = None


@dataclass(frozen=True, slots=True)
class MigrationPair:
    """Task migrations from one CPU to another during the interval."""

    src: int
    dst: int
    count: int


@dataclass(frozen=True, slots=True)
class Migrator:
    """A task that migrated during the interval, and how often."""

    pid: int
    comm: str
    count: int


@dataclass(frozen=True, slots=True)
class TaskRef:
    """A task as seen in a blocked-on edge."""

    tid: int
    comm: str
    prio: int | None = None


class OwnerState(enum.StrEnum):
    """What a lock owner was doing when the edge was observed."""

    RUNNING = "running"
    RUNNABLE = "runnable"
    SLEEPING = "sleeping"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class BlockedEdge:
    """`waiter` is blocked on the mutex at `lock`, held by `owner` (None when the owner is unknown)."""

    waiter: TaskRef
    lock: int
    owner: TaskRef | None
    owner_state: OwnerState = OwnerState.UNKNOWN
    owner_cpu: int | None = None
    wait_ns: int = 0
    """How long the waiter has waited so far (or in total, for a wait that ended in the interval)."""
    ended: bool = False
    """True when the wait ended during the interval (a contention that came and went)."""


class InversionReason(enum.StrEnum):
    """Why a waiter counts as inverted behind its chain's head owner."""

    PRIORITY = "priority"
    """The waiter's priority is higher than the owner's."""
    PREEMPTED = "preempted"
    """The owner is runnable but not running."""


@dataclass(frozen=True, slots=True)
class Inversion:
    """A high-priority waiter stuck behind a lower-priority or preempted owner at its chain's head."""

    waiter: TaskRef
    owner: TaskRef
    reason: InversionReason


@dataclass(frozen=True, slots=True)
class Chain:
    """A blocked-on chain: `tasks[0]` waits on ... waits on `tasks[-1]`, the head owner."""

    tasks: tuple[TaskRef, ...]
    edges: tuple[BlockedEdge, ...]
    cycle: bool = False
    """True when the chain closes on itself: a deadlock."""
    inversions: tuple[Inversion, ...] = ()

    @property
    def depth(self) -> int:
        return len(self.tasks)

    @property
    def total_wait_ns(self) -> int:
        return sum(e.wait_ns for e in self.edges)

    @property
    def head(self) -> TaskRef:
        return self.tasks[-1]


@dataclass(frozen=True, slots=True)
class LatencyBucket:
    """Count of wakeups whose wakeup-to-run latency fell in [low_us, high_us)."""

    low_us: int
    high_us: int
    count: int


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """A log2 histogram of wakeup-to-run latency over one interval, as runqlat prints."""

    buckets: tuple[LatencyBucket, ...] = ()

    @property
    def total(self) -> int:
        return sum(b.count for b in self.buckets)

    def percentile(self, p: float) -> int | None:
        """Upper bound (µs) of the bucket holding the p-th percentile; None when empty."""
        total = self.total
        if not total:
            return None
        wanted = total * p / 100.0
        seen = 0
        for bucket in self.buckets:
            seen += bucket.count
            if seen >= wanted:
                return bucket.high_us
        return self.buckets[-1].high_us


@dataclass(frozen=True, slots=True)
class TaskDelay:
    """A task that waited on a runqueue (delay accounting), for the "most delayed tasks" list."""

    pid: int
    comm: str
    cpu: int | None
    policy: str
    nice: int | None
    delay_ns: int
    """Run-queue wait during the interval."""
    total_delay_ns: int = 0
    """Run-queue wait since the task started."""


class SchedExtEnableState(enum.StrEnum):
    """The kernel's `/sys/kernel/sched_ext/state` (scx_enable_state_str in kernel/sched/ext.c)."""

    ENABLING = "enabling"
    ENABLED = "enabled"
    DISABLING = "disabling"
    DISABLED = "disabled"

    @classmethod
    def parse(cls, text: str | None) -> SchedExtEnableState | None:
        """The state a file or sysfs names; None when it names none we know (or is missing)."""
        try:
            return cls(text) if text else None
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class SchedExtState:
    """`/sys/kernel/sched_ext/` as read at the end of an interval."""

    supported: bool = False
    """False on kernels without sched_ext (no /sys/kernel/sched_ext)."""
    state: SchedExtEnableState | None = None
    """None when the kernel's state could not be read, or is one this version does not know."""
    ops: str | None = None
    """Name of the running BPF scheduler (`root/ops`), None when none runs."""
    enable_seq: int | None = None
    switch_all: bool | None = None
    nr_rejected: int | None = None
    events: tuple[tuple[str, int], ...] = ()
    """Counters from `root/events` (name, value), where the kernel has them."""


class SchedExtEventKind(enum.StrEnum):
    LOADED = "loaded"
    UNLOADED = "unloaded"
    SWITCHED = "switched"
    EJECTED = "ejected"
    SWITCH_FAILED = "switch_failed"


@dataclass(frozen=True, slots=True)
class SchedExtEvent:
    """A change in the running sched_ext scheduler, for the timeline."""

    time: float
    kind: SchedExtEventKind
    ops: str | None
    previous: str | None = None
    by_us: bool = False
    """True when scxtop itself asked for the change."""
    detail: str = ""
    inferred: bool = False
    """True when the dashboard inferred the event from two sysfs readings (no source reported it)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """Everything observed during one interval; what every source yields and every sink takes."""

    time: float
    """End of the interval, seconds since the epoch."""
    elapsed_s: float
    """Seconds since collection started."""
    interval_s: float
    source: str
    cpus: tuple[CpuStats, ...]
    migrations: tuple[MigrationPair, ...] | None = None
    top_migrators: tuple[Migrator, ...] | None = None
    blocked: tuple[BlockedEdge, ...] | None = None
    chains: tuple[Chain, ...] | None = None
    wakeup_latency: LatencyHistogram | None = None
    delayed_tasks: tuple[TaskDelay, ...] | None = None
    scx: SchedExtState = field(default_factory=SchedExtState)
    scx_events: tuple[SchedExtEvent, ...] = ()
    lost_events: int = 0
    limitations: tuple[str, ...] = ()
    """What this source cannot see, in words for the status line (e.g. 'no migrations')."""

    @property
    def total_migrations(self) -> int | None:
        return None if self.migrations is None else sum(m.count for m in self.migrations)

    @property
    def blocked_tasks(self) -> int | None:
        if self.blocked is None:
            return None
        return len({e.waiter.tid for e in self.blocked if not e.ended})

    @property
    def max_chain_depth(self) -> int | None:
        if self.chains is None:
            return None
        return max((c.depth for c in self.chains), default=0)

    @property
    def inversions(self) -> int | None:
        if self.chains is None:
            return None
        return sum(len(c.inversions) for c in self.chains)
