"""Wait-for graph: chains, depth, deadlocks and priority inversion, from edges as sources record them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mutex_chain import SUPPORTED, mutex_chain

from scxtop.chains import build_chains, wait_trees
from scxtop.model import BlockedEdge, OwnerState, TaskRef
from scxtop.recording import read_jsonl

FIXTURES = Path(__file__).parent / "fixtures"


def task(tid: int, prio: int | None = 120) -> TaskRef:
    return TaskRef(tid=tid, comm=f"t{tid}", prio=prio)


def wait(waiter: TaskRef, owner: TaskRef | None, lock: int, wait_ns: int = 1000,
         state: OwnerState = OwnerState.SLEEPING, ended: bool = False) -> BlockedEdge:
    return BlockedEdge(waiter=waiter, lock=lock, owner=owner, owner_state=state, wait_ns=wait_ns, ended=ended)


RECORDED = FIXTURES / "chain_abc.jsonl"
"""`scxtop log --source bpftrace --jsonl` while tests/mutex_chain.py held A(nice -10) -> B -> C(nice 10)."""


def test_three_task_chain_from_recorded_data_has_depth_three():
    samples = read_jsonl(RECORDED)
    with_chain = [s for s in samples if s.blocked]
    assert len(with_chain) == 2
    for sample in with_chain:
        chains = build_chains(sample.blocked)
        assert chains == sample.chains
        assert len(chains) == 1
        chain = chains[0]
        assert [t.tid for t in chain.tasks] == [28853, 28851, 28849]
        assert [t.prio for t in chain.tasks] == [110, 120, 130]
        assert chain.depth == 3 and chain.head.tid == 28849 and not chain.cycle
        assert chain.total_wait_ns == sum(e.wait_ns for e in sample.blocked if not e.ended) > 0
        # A (prio 110) and B (120) both outrank the head C (130), which sleeps: two 'priority' inversions.
        assert sorted((i.waiter.tid, i.owner.tid, i.reason) for i in chain.inversions) == [
            (28851, 28849, "priority"), (28853, 28849, "priority")]


@pytest.mark.bpf
def test_live_three_task_chain_is_logged_with_depth_three(tmp_path: Path):
    chain, members = log_while_chained(tmp_path, nice=(0, 0, 0))
    assert [t.tid for t in chain.tasks] == [members.a, members.b, members.c]
    assert chain.inversions == ()  # equal priorities, owner asleep: no false inversion


@pytest.mark.bpf
def test_live_priority_inversion_is_reported(tmp_path: Path):
    chain, members = log_while_chained(tmp_path, nice=(-10, 0, 10))
    assert [t.prio for t in chain.tasks] == [110, 120, 130]
    assert sorted((i.waiter.tid, i.reason) for i in chain.inversions) == sorted(
        [(members.a, "priority"), (members.b, "priority")])


def log_while_chained(tmp_path: Path, nice: tuple[int, int, int]):
    """Run `scxtop log` with bpftrace, form the chain once it records, keep it for three rows;
    the depth-3 chain of the last row that has one, and the chain's pids."""
    from scxtop.sources.bpftrace import bpf_unavailable_reason

    if reason := bpf_unavailable_reason():
        pytest.skip(f"bpftrace cannot run here: {reason}")
    if not SUPPORTED:
        pytest.skip("the userfaultfd syscall number is known for x86_64 and aarch64 only")
    csv_out, jsonl_out = tmp_path / "log.csv", tmp_path / "log.jsonl"
    command = [sys.executable, "-m", "scxtop", "log", "--source", "bpftrace", "--interval", "0.5",
               "--csv", str(csv_out), "--jsonl", str(jsonl_out)]
    log = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_rows(log, csv_out, 1)
        with mutex_chain(nice) as members:
            wait_rows(log, csv_out, rows(csv_out) + 3)
        log.send_signal(signal.SIGTERM)
        assert log.wait(timeout=30) == 0, log.stderr.read()
    finally:
        log.kill()
        log.wait()
    chained = [s for s in read_jsonl(jsonl_out) if s.max_chain_depth == 3]
    assert chained, "no sample held the three-task chain"
    deepest = [c for c in chained[-1].chains if c.depth == 3]
    assert len(deepest) == 1
    return deepest[0], members


def rows(path: Path) -> int:
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


def wait_rows(proc: subprocess.Popen, path: Path, count: int) -> None:
    while rows(path) < count:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)


def test_ended_waits_form_no_chain():
    a, b = task(1), task(2)
    assert build_chains([wait(a, b, 10, ended=True)]) == ()


def test_owner_that_waits_extends_the_chain_and_leaves_share_a_head():
    a, b, c, d = task(1), task(2), task(3), task(4)
    edges = [wait(a, b, 10), wait(b, c, 11), wait(d, c, 11)]
    chains = build_chains(edges)
    assert sorted(tuple(t.tid for t in ch.tasks) for ch in chains) == [(1, 2, 3), (4, 3)]
    trees = wait_trees(chains)
    assert len(trees) == 1
    assert [(depth, node.task.tid) for depth, node in trees[0].walk()] == [(0, 3), (1, 2), (2, 1), (1, 4)]
    assert trees[0].edge is None
    assert trees[0].waiters[0].edge.lock == 11


def test_equal_priorities_are_no_inversion():
    a, b, c = task(1, 120), task(2, 120), task(3, 120)
    chains = build_chains([wait(a, b, 10), wait(b, c, 11, state=OwnerState.RUNNING)])
    assert chains[0].inversions == ()


def test_lower_priority_waiter_is_no_inversion():
    waiter, owner = task(1, 130), task(2, 110)
    assert build_chains([wait(waiter, owner, 10, state=OwnerState.RUNNING)])[0].inversions == ()


def test_unknown_priorities_are_no_inversion():
    chains = build_chains([wait(task(1, None), task(2, 139), 10), wait(task(3, 100), task(4, None), 11)])
    assert all(c.inversions == () for c in chains)


def test_runnable_head_owner_is_a_preempted_inversion_reported_once():
    head = task(9, 120)
    a, b = task(1, 120), task(2, 110)
    edges = [wait(a, head, 10, state=OwnerState.RUNNABLE), wait(b, head, 10, state=OwnerState.RUNNABLE)]
    chains = build_chains(edges)
    found = [i for c in chains for i in c.inversions]
    # one "preempted" for the shared head, named with its highest-priority waiter; one "priority" for b
    assert sorted((i.waiter.tid, i.reason) for i in found) == [(2, "preempted"), (2, "priority")]


def test_shared_suffix_inversion_counted_once():
    a, b, c, head = task(1, 130), task(2, 130), task(3, 100), task(4, 120)
    chains = build_chains([wait(a, c, 10), wait(b, c, 10), wait(c, head, 11)])
    found = [(i.waiter.tid, i.owner.tid, i.reason) for ch in chains for i in ch.inversions]
    assert found == [(3, 4, "priority")]


def test_deadlock_reported_once_and_feeders_stop_at_it():
    a, b, c, d = task(1), task(2), task(3), task(4)
    edges = [wait(b, c, 11), wait(c, a, 12), wait(a, b, 10), wait(d, b, 10)]
    chains = build_chains(edges)
    cycles = [ch for ch in chains if ch.cycle]
    assert len(cycles) == 1
    assert [t.tid for t in cycles[0].tasks] == [1, 2, 3]
    assert [e.waiter.tid for e in cycles[0].edges] == [1, 2, 3]
    assert cycles[0].edges[-1].owner.tid == 1
    feeders = [ch for ch in chains if not ch.cycle]
    assert [tuple(t.tid for t in ch.tasks) for ch in feeders] == [(4, 2)]
    trees = wait_trees(chains)
    assert len(trees) == 1 and trees[0].cycle
    assert sorted(node.task.tid for _, node in trees[0].walk()) == [1, 2, 3, 4]


def test_two_task_deadlock():
    a, b = task(1), task(2)
    chains = build_chains([wait(a, b, 10), wait(b, a, 11)])
    assert len(chains) == 1 and chains[0].cycle and chains[0].depth == 2


def test_unknown_owner_ends_the_chain_at_the_waiter():
    chains = build_chains([wait(task(1), None, 10, wait_ns=5)])
    assert len(chains) == 1
    assert chains[0].depth == 1 and chains[0].total_wait_ns == 5 and chains[0].inversions == ()


def test_duplicate_waits_of_one_task_keep_the_longest():
    a, b, c = task(1), task(2), task(3)
    chains = build_chains([wait(a, b, 10, wait_ns=5), wait(a, c, 11, wait_ns=50)])
    assert [(ch.head.tid, ch.total_wait_ns) for ch in chains] == [(3, 50)]
