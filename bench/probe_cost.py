"""Probe overhead: each load run bare, under plain bpftrace (the reference) and under `scxtop log`,
in interleaved rounds (the variant order rotates every round), so drift on this shared machine
hits every variant alike. Reported: median runtime, ratio of medians, median of the per-round
paired ratios (a second bare variant, A/A, shows how far apart two identical runs land), the
load's own CPU time and its ratio (the probes' cost lands there, and it is steadier than the
runtime on a shared machine), the context-switch (and migration) rate, and what the observers
burned meanwhile.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from loads import Load
from observers import observing
from procstat import UsageMeter
from table import Table, median, spread

VARIANTS = {
    "bare": ("bare", 1.0),
    "bare again (A/A)": ("bare", 1.0),
    "plain bpftrace": ("plain", 1.0),
    "scxtop log 1s": ("log", 1.0),
    "scxtop log 0.1s": ("log", 0.1),
}
COLUMNS = ["median s", "ratio", "paired ratio", "rounds min..max", "load cpu s", "cpu ratio", "csw/s",
           "mig/s", "bpftrace cpu/s", "scxtop cpu/s"]


@dataclass(frozen=True, slots=True)
class Measured:
    seconds: float
    cpu_s: float
    csw_per_s: float
    bpftrace_cpu: float | None
    scxtop_cpu: float | None


def measure(variant: str, load: Load) -> Measured:
    kind, interval = VARIANTS[variant]
    with observing(kind, "bpftrace", interval) as obs:
        bpftrace_pid = getattr(obs, "bpftrace_pid", None) or (obs.pid if kind == "plain" else None)
        scxtop_pid = obs.pid if kind in ("log", "dashboard") else None
        bpf = UsageMeter(bpftrace_pid) if bpftrace_pid else None
        own = UsageMeter(scxtop_pid) if scxtop_pid else None
        run = load.run()
        return Measured(run.seconds, run.cpu_s, run.csw_per_s, bpf.read().cpu_per_s if bpf else None,
                        own.read().cpu_per_s if own else None)


Plan = list[tuple[Load, tuple[str, ...]]]
"""Each load with the variants it runs under."""


def interleaved(loads: Plan, rounds: int) -> dict[tuple[str, str], list[Measured]]:
    """Every (load, variant) `rounds` times; within a round each load runs its variants back to
    back, starting from a different variant each round."""
    results: dict[tuple[str, str], list[Measured]] = {}
    for load, _ in loads:
        load.run()  # warm caches and page in the binaries, not counted
    for r in range(rounds):
        for load, variants in loads:
            order = variants[r % len(variants):] + variants[: r % len(variants)]
            for variant in order:
                m = measure(variant, load)
                results.setdefault((load.label, variant), []).append(m)
                print(f"  round {r + 1}/{rounds} {load.label} [{variant}]: {m.seconds:.3f}s", file=sys.stderr)
    return results


def table(title: str, loads: Plan, rounds: int) -> Table:
    results = interleaved(loads, rounds)
    out = Table(title, COLUMNS)
    for load, variants in loads:
        bare = results[(load.label, "bare")]
        bare_median, bare_cpu = median([m.seconds for m in bare]), median([m.cpu_s for m in bare])
        for variant in variants:
            ms = results[(load.label, variant)]
            seconds = [m.seconds for m in ms]
            paired = [m.seconds / b.seconds for m, b in zip(ms, bare, strict=True)]
            mig = load.migrations / median(seconds) if load.migrations else None
            bpf = [m.bpftrace_cpu for m in ms if m.bpftrace_cpu is not None]
            own = [m.scxtop_cpu for m in ms if m.scxtop_cpu is not None]
            cpu = median([m.cpu_s for m in ms])
            out.add(f"{load.label} · {variant}", median(seconds), median(seconds) / bare_median,
                    median(paired), spread(seconds), cpu, cpu / bare_cpu,
                    median([m.csw_per_s for m in ms]), mig,
                    median(bpf) if bpf else None, median(own) if own else None)
    out.notes += [f"{load.label}: {load.command}" for load, _ in loads]
    out.notes.append(f"{rounds} interleaved rounds; ratio = median / bare median; paired ratio = median "
                     "of (variant / bare) within each round; load cpu s = user+system time of the load's "
                     "processes (where in-kernel probe cost lands), cpu ratio = its median / bare median; "
                     "csw/s counts the whole machine")
    return out
