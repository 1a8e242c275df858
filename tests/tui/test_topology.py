"""CPU topology from sysfs: the real machine, and a fake tree with SMT, two LLCs and two nodes."""

from __future__ import annotations

import os
from pathlib import Path

from scxtop.kernel.topology import Grouping, parse_cpu_list, read_topology, synthetic_topology


def test_parse_cpu_list():
    assert parse_cpu_list("0-3,8,10-11\n") == [0, 1, 2, 3, 8, 10, 11]
    assert parse_cpu_list("5") == [5]
    assert parse_cpu_list("") == []


def test_this_machine_has_every_online_cpu():
    topology = read_topology()
    online = parse_cpu_list(Path("/sys/devices/system/cpu/online").read_text())
    assert [p.cpu for p in topology.places] == online
    assert len(topology.places) == os.cpu_count()
    assert all(p.node >= 0 for p in topology.places)


def _fake_cpu(root: Path, cpu: int, core: int, llc_cpus: str, node: int) -> None:
    d = root / f"cpu{cpu}"
    (d / "topology").mkdir(parents=True)
    (d / "topology/core_id").write_text(f"{core}\n")
    (d / "topology/physical_package_id").write_text("0\n")
    for index, (level, kind, shared) in enumerate(
        [(1, "Data", str(cpu)), (1, "Instruction", str(cpu)), (3, "Unified", llc_cpus)]
    ):
        c = d / f"cache/index{index}"
        c.mkdir(parents=True)
        (c / "level").write_text(f"{level}\n")
        (c / "type").write_text(f"{kind}\n")
        (c / "shared_cpu_list").write_text(f"{shared}\n")
    (d / f"node{node}").mkdir()


def test_fake_sysfs_with_smt_two_llcs_two_nodes(tmp_path):
    (tmp_path / "online").write_text("0-7\n")
    for cpu in range(8):
        _fake_cpu(tmp_path, cpu, core=cpu // 2, llc_cpus="0-3" if cpu < 4 else "4-7", node=cpu // 4)
    topology = read_topology(tmp_path)
    assert topology.groups(Grouping.CORE, range(8)) == {0: [0, 1], 1: [2, 3], 2: [4, 5], 3: [6, 7]}
    assert topology.groups(Grouping.LLC, range(8)) == {0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}
    assert topology.groups(Grouping.NODE, range(8)) == {0: [0, 1, 2, 3], 1: [4, 5, 6, 7]}


def test_missing_files_degrade_to_one_cpu_per_core(tmp_path):
    (tmp_path / "cpu0").mkdir()
    (tmp_path / "cpu1").mkdir()
    topology = read_topology(tmp_path)
    assert topology.groups(Grouping.CORE, [0, 1]) == {0: [0], 1: [1]}
    assert topology.groups(Grouping.NODE, [0, 1]) == {0: [0, 1]}


def test_unknown_cpu_is_its_own_group():
    topology = synthetic_topology(4)
    assert topology.groups(Grouping.CORE, [0, 1, 9]) == {0: [0, 1], 10_009: [9]}


def test_grouping_cycles_through_all():
    seen = [Grouping.CPU]
    for _ in range(4):
        seen.append(seen[-1].next())
    assert seen == [Grouping.CPU, Grouping.CORE, Grouping.LLC, Grouping.NODE, Grouping.CPU]
