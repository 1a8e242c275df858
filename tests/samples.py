"""Hand-built Samples with every field filled, shared by the recorder and replay tests."""

from __future__ import annotations

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
    SchedExtEvent,
    SchedExtEventKind,
    SchedExtState,
    TaskDelay,
    TaskRef,
)


def full_sample(n: int = 0) -> Sample:
    """A Sample using every field of the model, varied by `n`."""
    a, b = TaskRef(4101 + n, "chainA", 100), TaskRef(4102, 'chain,B "q"', 120)
    c = TaskRef(4103, "chainC", None)
    blocked = (
        BlockedEdge(waiter=a, lock=0xFFFF8881_0A2B_3C00, owner=b, owner_state=OwnerState.SLEEPING,
                    wait_ns=2_500_000 + n),
        BlockedEdge(waiter=b, lock=0xFFFF8881_0A2B_3D00, owner=c, owner_state=OwnerState.RUNNABLE,
                    owner_cpu=1, wait_ns=4_000_000),
        BlockedEdge(waiter=TaskRef(7, "lone", 120), lock=0x10, owner=None, wait_ns=9, ended=True),
    )
    return Sample(
        time=1_763_785_000.25 + n,
        elapsed_s=1.0 + n,
        interval_s=1.0,
        source="bpftrace",
        cpus=(
            CpuStats(cpu=0, rq=2.5, rq_max=4, rq_scx=None, util=97.25, freq_mhz=None, csw=1200, mig_in=3,
                     mig_out=1),
            CpuStats(cpu=1, rq=0.0, rq_max=1, rq_scx=0.0, util=3.0, freq_mhz=2400.0, csw=80 + n, mig_in=1,
                     mig_out=3),
        ),
        migrations=(MigrationPair(0, 1, 3), MigrationPair(1, 0, 1)),
        top_migrators=(Migrator(555, "flipper", 4),),
        blocked=blocked,
        chains=build_chains(blocked),
        wakeup_latency=LatencyHistogram(
            (LatencyBucket(0, 1, 5), LatencyBucket(1, 2, 0), LatencyBucket(2, 4, 9))
        ),
        delayed_tasks=(TaskDelay(555, "flipper", 1, "SCHED_OTHER", 0, 12345, 999_999),),
        scx=SchedExtState(supported=True, state="enabled", ops="bpfland_1.0.0", enable_seq=3, switch_all=True,
                          nr_rejected=0, events=(("SCX_EV_SELECT_CPU_FALLBACK", 2),)),
        scx_events=(SchedExtEvent(1_763_784_999.5, SchedExtEventKind.SWITCHED, "bpfland_1.0.0", "lavd_1.0",
                                  by_us=True, detail="asked by scxtop"),),
        lost_events=2,
        limitations=("no freq on cpu0",),
    )


def procfs_like_sample(n: int = 0) -> Sample:
    """What a source without BPF yields: most things unseen (None)."""
    return Sample(
        time=1_763_785_100.0 + n, elapsed_s=2.0 * (n + 1), interval_s=2.0, source="procfs",
        cpus=(CpuStats(cpu=0, rq=1.0, util=50.0), CpuStats(cpu=1, rq=0.0, util=0.0)),
        limitations=("procfs: no migrations",),
    )
