"""CPU topology from `/sys/devices/system/cpu`: which core, last-level cache and NUMA node each CPU
belongs to, so the dashboard can group runqueues the way the scheduler's domains do.

Standard library only. Missing files (containers, odd architectures) degrade to "every CPU is its
own core, one LLC, node 0" rather than failing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SYSFS_CPU = Path("/sys/devices/system/cpu")


class Grouping(enum.StrEnum):
    """How the CPU panel folds rows; `g` cycles through them in this order."""

    CPU = "cpu"
    CORE = "core"
    LLC = "llc"
    NODE = "node"

    def next(self) -> Grouping:
        members = list(Grouping)
        return members[(members.index(self) + 1) % len(members)]


@dataclass(frozen=True, slots=True)
class CpuPlace:
    """Where one CPU sits. `core` and `llc` are small dense ids, numbered in CPU order."""

    cpu: int
    core: int
    llc: int
    node: int

    def group(self, grouping: Grouping) -> int:
        return {
            Grouping.CPU: self.cpu,
            Grouping.CORE: self.core,
            Grouping.LLC: self.llc,
            Grouping.NODE: self.node,
        }[grouping]


@dataclass(frozen=True)
class Topology:
    places: tuple[CpuPlace, ...]
    _by_cpu: dict[int, CpuPlace] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_cpu", {p.cpu: p for p in self.places})

    def place(self, cpu: int) -> CpuPlace:
        """The CPU's place; CPUs the topology does not know (hotplug, a recording from another
        machine) count as their own core and LLC on node 0."""
        known = self._by_cpu.get(cpu)
        if known is not None:
            return known
        return CpuPlace(cpu=cpu, core=10_000 + cpu, llc=10_000 + cpu, node=0)

    def groups(self, grouping: Grouping, cpus: Iterable[int]) -> dict[int, list[int]]:
        """Group id -> CPUs in it, in first-seen order."""
        out: dict[int, list[int]] = {}
        for cpu in cpus:
            out.setdefault(self.place(cpu).group(grouping), []).append(cpu)
        return out


def parse_cpu_list(text: str) -> list[int]:
    """'0-3,8,10-11' -> [0, 1, 2, 3, 8, 10, 11] (the kernel's cpulist format)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        cpus.extend(range(int(low), int(high or low) + 1))
    return cpus


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _llc_key(cpu_dir: Path) -> str:
    """The shared_cpu_list of the highest-level cache: CPUs with the same one share the LLC."""
    best_level, best_key = -1, ""
    for index in sorted(cpu_dir.glob("cache/index*")):
        level = _read(index / "level")
        shared = _read(index / "shared_cpu_list")
        if level is None or shared is None or _read(index / "type") == "Instruction":
            continue
        if int(level) > best_level:
            best_level, best_key = int(level), shared
    return best_key


def _node(cpu_dir: Path) -> int:
    for entry in cpu_dir.glob("node[0-9]*"):
        return int(entry.name[4:])
    return 0


def _dense(keys: list[object]) -> list[int]:
    """Map arbitrary keys to 0, 1, 2... in order of first appearance."""
    ids: dict[object, int] = {}
    return [ids.setdefault(key, len(ids)) for key in keys]


def read_topology(root: Path = SYSFS_CPU) -> Topology:
    """Topology of the online CPUs (or of every cpuN directory when `online` is unreadable)."""
    online = _read(root / "online")
    cpus = parse_cpu_list(online) if online else sorted(int(p.name[3:]) for p in root.glob("cpu[0-9]*"))
    core_keys: list[object] = []
    llc_keys: list[object] = []
    nodes: list[int] = []
    for cpu in cpus:
        cpu_dir = root / f"cpu{cpu}"
        package = _read(cpu_dir / "topology/physical_package_id") or "0"
        core_id = _read(cpu_dir / "topology/core_id")
        core_keys.append((package, core_id) if core_id is not None else ("cpu", cpu))
        llc = _llc_key(cpu_dir)
        llc_keys.append(llc or ("cpu", cpu))
        nodes.append(_node(cpu_dir))
    return Topology(
        tuple(
            CpuPlace(cpu=cpu, core=core, llc=llc, node=node)
            for cpu, core, llc, node in zip(cpus, _dense(core_keys), _dense(llc_keys), nodes, strict=True)
        )
    )


def synthetic_topology(nr_cpus: int, smt: int = 2, cores_per_llc: int = 8,
                       llcs_per_node: int = 2) -> Topology:
    """A regular machine of `nr_cpus` CPUs, for benchmarks and tests of large machines."""
    places = []
    for cpu in range(nr_cpus):
        core = cpu // smt
        llc = core // cores_per_llc
        places.append(CpuPlace(cpu=cpu, core=core, llc=llc, node=llc // llcs_per_node))
    return Topology(tuple(places))
