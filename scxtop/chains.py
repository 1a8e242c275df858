"""The wait-for graph of mutex waits: chains, their depth, deadlocks and priority inversions.

A waiter blocks on a mutex held by an owner; when that owner is itself waiting, the chain
grows. We build **one `Chain` per leaf waiter** (a task nobody waits on), following owners
until one is not waiting (the head). `tasks[0]` is the leaf, `tasks[-1]` the head, and
`edges[i]` is the wait of `tasks[i]`. Several leaves blocked behind one head give several
chains sharing a suffix; `wait_trees()` merges them into one tree per head for the dashboard.

A cycle (A waits on B ... waits on A) is a deadlock. It is reported once, as its own chain with
`cycle=True` whose tasks are the cycle's members starting at the lowest tid; its last edge
closes the cycle. A leaf chain that runs into a cycle stops at the first cycle member it reaches.

Priority inversion, per chain, against its head owner:
- 'priority': a waiter whose prio number is lower (a higher priority) than the head's;
- 'preempted': the head owner is runnable but not running (`OwnerState.RUNNABLE`), reported
  with the chain's highest-priority waiter.
Chains sharing a suffix would see the same inversion; each is reported once, on the first chain.
Ended waits (`ended=True`) are history, not part of any chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scxtop.model import BlockedEdge, Chain, Inversion, InversionReason, OwnerState, TaskRef


def _live_waits(edges: Iterable[BlockedEdge]) -> dict[int, BlockedEdge]:
    """The current wait of each waiter tid (a task blocks on one mutex at a time; keep the longest)."""
    waits: dict[int, BlockedEdge] = {}
    for edge in edges:
        if edge.ended:
            continue
        known = waits.get(edge.waiter.tid)
        if known is None or edge.wait_ns > known.wait_ns:
            waits[edge.waiter.tid] = edge
    return waits


def _owner_tid(edge: BlockedEdge) -> int | None:
    return None if edge.owner is None else edge.owner.tid


def _find_cycles(waits: dict[int, BlockedEdge]) -> list[list[int]]:
    """Each cycle of the wait-for graph once, as tids starting at its lowest tid."""
    cycles: list[list[int]] = []
    done: set[int] = set()
    for start in sorted(waits):
        path: list[int] = []
        index: dict[int, int] = {}
        tid: int | None = start
        while tid is not None and tid in waits and tid not in done and tid not in index:
            index[tid] = len(path)
            path.append(tid)
            tid = _owner_tid(waits[tid])
        if tid is not None and tid in index:
            members = path[index[tid]:]
            low = members.index(min(members))
            cycles.append(members[low:] + members[:low])
        done.update(path)
    return cycles


def _rank(task: TaskRef) -> int:
    return task.prio if task.prio is not None else 1 << 30


def _inversions(tasks: tuple[TaskRef, ...], head_state: OwnerState, top_waiter: TaskRef) -> list[Inversion]:
    head = tasks[-1]
    found = [
        Inversion(waiter=w, owner=head, reason=InversionReason.PRIORITY)
        for w in tasks[:-1]
        if w.prio is not None and head.prio is not None and w.prio < head.prio
    ]
    if head_state is OwnerState.RUNNABLE:
        found.append(Inversion(waiter=top_waiter, owner=head, reason=InversionReason.PREEMPTED))
    return found


def _leaf_chain(leaf: int, waits: dict[int, BlockedEdge], in_cycle: set[int]) -> Chain:
    tasks: list[TaskRef] = [waits[leaf].waiter]
    edges: list[BlockedEdge] = []
    tid: int | None = leaf
    while tid is not None and tid in waits and not (edges and tid in in_cycle):
        edge = waits[tid]
        edges.append(edge)
        if edge.owner is not None:
            tasks.append(edge.owner)
        tid = _owner_tid(edge)
    return Chain(tasks=tuple(tasks), edges=tuple(edges))


def _cycle_chain(members: list[int], waits: dict[int, BlockedEdge]) -> Chain:
    edges = tuple(waits[tid] for tid in members)
    return Chain(tasks=tuple(e.waiter for e in edges), edges=edges, cycle=True)


def build_chains(edges: Iterable[BlockedEdge]) -> tuple[Chain, ...]:
    """Chains of the live waits, longest first; deadlocks once each; inversions reported once."""
    waits = _live_waits(edges)
    cycles = _find_cycles(waits)
    in_cycle = {tid for members in cycles for tid in members}
    owners = {_owner_tid(e) for e in waits.values()}
    leaves = [tid for tid in waits if tid not in owners and tid not in in_cycle]
    chains = [_leaf_chain(tid, waits, in_cycle) for tid in leaves]
    chains.sort(key=lambda c: (-c.depth, -c.total_wait_ns, c.tasks[0].tid))
    top_waiter: dict[int, TaskRef] = {}
    for chain in chains:
        for waiter in chain.tasks[:-1]:
            best = top_waiter.setdefault(chain.head.tid, waiter)
            if _rank(waiter) < _rank(best):
                top_waiter[chain.head.tid] = waiter
    seen: set[tuple[int, int, InversionReason]] = set()
    result: list[Chain] = []
    for chain in chains:
        last = chain.edges[-1]
        found = []
        if last.owner is not None:
            found = _inversions(chain.tasks, last.owner_state, top_waiter[chain.head.tid])
        fresh = []
        for inv in found:
            waiter_tid = inv.waiter.tid if inv.reason == InversionReason.PRIORITY else -1
            key = (waiter_tid, inv.owner.tid, inv.reason)
            if key not in seen:
                seen.add(key)
                fresh.append(inv)
        result.append(Chain(tasks=chain.tasks, edges=chain.edges, inversions=tuple(fresh)))
    result.extend(_cycle_chain(members, waits) for members in cycles)
    return tuple(result)


@dataclass(frozen=True, slots=True)
class WaitTree:
    """One task and the tasks waiting on it; the root is a chain head (the owner everyone waits on).

    `edge` is this task's own wait (None for the root, unless the root is part of a deadlock or
    waits on an unknown owner).
    """

    task: TaskRef
    edge: BlockedEdge | None
    waiters: tuple[WaitTree, ...] = ()
    cycle: bool = False

    def walk(self, depth: int = 0) -> Iterable[tuple[int, WaitTree]]:
        """Nodes depth-first with their depth, the order a tree widget shows them."""
        yield depth, self
        for child in self.waiters:
            yield from child.walk(depth + 1)


def _tree(tid: int, nodes: dict[int, TaskRef], waits_of: dict[int, BlockedEdge],
          children: dict[int, list[int]], cycle: bool) -> WaitTree:
    kids = tuple(_tree(c, nodes, waits_of, children, False) for c in sorted(children.get(tid, [])))
    return WaitTree(task=nodes[tid], edge=waits_of.get(tid), waiters=kids, cycle=cycle)


def wait_trees(chains: Iterable[Chain]) -> tuple[WaitTree, ...]:
    """Merge chains sharing a head into one tree per head, head at the root, in chain order.

    A deadlock is one tree rooted at its cycle's last task; chains running into it hang under it.
    """
    nodes: dict[int, TaskRef] = {}
    waits_of: dict[int, BlockedEdge] = {}
    children: dict[int, list[int]] = {}
    roots: list[tuple[int, bool]] = []
    chains = tuple(chains)
    deadlocked = {t.tid for c in chains if c.cycle for t in c.tasks}
    for chain in chains:
        path = chain.tasks
        for i, task in enumerate(path):
            nodes.setdefault(task.tid, task)
            if i < len(chain.edges):
                waits_of.setdefault(task.tid, chain.edges[i])
            if i + 1 < len(path):
                siblings = children.setdefault(path[i + 1].tid, [])
                if task.tid not in siblings:
                    siblings.append(task.tid)
        root = (chain.tasks[-1].tid, chain.cycle)
        if (chain.cycle or root[0] not in deadlocked) and root not in roots:
            roots.append(root)
    return tuple(_tree(tid, nodes, waits_of, children, cycle) for tid, cycle in roots)
