"""Wait-for graph: chains, depth, deadlocks and priority inversion, from edges as sources record them."""

from __future__ import annotations

import json
from pathlib import Path

from scxtop.chains import build_chains, wait_trees
from scxtop.model import BlockedEdge, OwnerState, TaskRef

FIXTURES = Path(__file__).parent / "fixtures"


def task(tid: int, prio: int | None = 120) -> TaskRef:
    return TaskRef(tid=tid, comm=f"t{tid}", prio=prio)


def wait(waiter: TaskRef, owner: TaskRef | None, lock: int, wait_ns: int = 1000,
         state: OwnerState = OwnerState.SLEEPING, ended: bool = False) -> BlockedEdge:
    return BlockedEdge(waiter=waiter, lock=lock, owner=owner, owner_state=state, wait_ns=wait_ns, ended=ended)


def recorded_edges() -> list[BlockedEdge]:
    rows = json.loads((FIXTURES / "blocked_chain_abc.json").read_text())
    return [
        BlockedEdge(
            waiter=TaskRef(r["waiter_tid"], r["waiter_comm"], r["waiter_prio"]),
            lock=r["lock"],
            owner=TaskRef(r["owner_tid"], r["owner_comm"], r["owner_prio"]),
            owner_state=OwnerState(r["owner_state"]),
            owner_cpu=r["owner_cpu"],
            wait_ns=r["wait_ns"],
            ended=r["ended"],
        )
        for r in rows
    ]


def test_three_task_chain_from_recorded_edges_has_depth_three():
    chains = build_chains(recorded_edges())
    assert len(chains) == 1
    chain = chains[0]
    assert [t.comm for t in chain.tasks] == ["chainA", "chainB", "chainC"]
    assert chain.depth == 3
    assert chain.head.tid == 4103
    assert chain.total_wait_ns == 6_500_000
    assert not chain.cycle
    # chainA (prio 100) and chainB (prio 120) both outrank the head chainC (prio 139).
    assert sorted((i.waiter.comm, i.reason) for i in chain.inversions) == [
        ("chainA", "priority"), ("chainB", "priority")]


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
