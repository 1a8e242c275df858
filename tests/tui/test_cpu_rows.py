"""The CPU panel's arithmetic: rates, group sums, history and the imbalance flag."""

from __future__ import annotations

from dataclasses import replace

from synthetic import HOT_CPU, sample

from scxtop.kernel.topology import Grouping, synthetic_topology
from scxtop.model import CpuStats
from scxtop.tui.cpu_rows import CpuHistory, build_rows, find_imbalance
from scxtop.tui.sparkline import bar, cpu_ranges, sparkline


def _cpus(*rqs):
    return [CpuStats(cpu=i, rq=rq) for i, rq in enumerate(rqs)]


def test_one_overloaded_runqueue_while_others_idle_is_flagged():
    found = find_imbalance(_cpus(0.1, 6.0, 0.2, 0.0))
    assert found is not None
    assert found.cpus == (1,)
    assert found.idle == 3
    assert "cpu1 rq 6.0" in found.describe()


def test_evenly_loaded_machine_is_not_flagged():
    assert find_imbalance(_cpus(3.0, 3.0, 3.0, 3.0)) is None


def test_busy_machine_without_idle_cpu_is_not_flagged():
    assert find_imbalance(_cpus(1.0, 6.0, 1.0, 1.0)) is None


def test_one_waiter_is_not_an_overload():
    assert find_imbalance(_cpus(0.0, 1.5)) is None


def test_unknown_runqueues_are_not_guessed():
    assert find_imbalance([CpuStats(cpu=0), CpuStats(cpu=1, rq=5.0)]) is None


def test_rows_per_cpu_turn_counts_into_rates():
    s = sample(0, nr_cpus=4)
    s = replace(s, interval_s=2.0)
    history = CpuHistory()
    history.add(s)
    rows = build_rows(s, Grouping.CPU, synthetic_topology(4), history, find_imbalance(s.cpus))
    assert [r.label for r in rows] == ["cpu0", "cpu1", "cpu2", "cpu3"]
    assert rows[2].csw_s == 3000 / 2.0
    assert rows[2].mig_in_s == 6 / 2.0
    assert rows[HOT_CPU].overloaded and not rows[0].overloaded
    assert rows[0].freq_mhz is None  # the synthetic source cannot see cpufreq: stays unknown, not 0


def test_rows_grouped_by_core_sum_their_members():
    s = sample(0, nr_cpus=4)
    history = CpuHistory()
    history.add(s)
    rows = build_rows(s, Grouping.CORE, synthetic_topology(4), history, find_imbalance(s.cpus))
    assert [r.cpus for r in rows] == [(0, 1), (2, 3)]
    assert rows[0].rq == s.cpus[0].rq + s.cpus[1].rq
    assert rows[0].csw_s == s.cpus[0].csw + s.cpus[1].csw
    assert rows[0].util == (s.cpus[0].util + s.cpus[1].util) / 2
    assert rows[0].overloaded and not rows[1].overloaded


def test_history_keeps_the_newest_and_sums_groups():
    history = CpuHistory(length=3)
    for i in range(5):
        history.add(sample(i, nr_cpus=2))
    assert history.of([HOT_CPU]) == (6.0 + 2 % 3, 6.0 + 3 % 3, 6.0 + 4 % 3)
    assert history.of([0, 1]) == tuple(v + 0.0 for v in history.of([1]))


def test_sparkline_and_bar_shapes():
    assert sparkline([0, 4, 8], 5, 8) == "   ▄█"
    assert sparkline([0.01], 1, 8) == "▁"  # anything above zero is visible
    assert bar(4, 8, 8) == "████    "
    assert bar(100, 4, 8) == "████"
    assert cpu_ranges([5, 0, 1, 2, 7]) == "0-2,5,7"
