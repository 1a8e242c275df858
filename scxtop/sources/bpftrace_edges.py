"""Blocked-on edges from the maps of bpftrace/mutex_waits.bt.

`@mutex_since[tid]` and `@mutex_edge[tid]` hold the waits still in progress; `@mutex_last`,
`@mutex_ended_ns` and `@mutex_ended` the waits that ended during the interval. An owner that is
itself blocked (its `task_struct->blocked_on`) but whose own wait began before tracing started
gets an edge too, so chains do not stop short.
"""

from __future__ import annotations

from dataclasses import dataclass

from scxtop.bpftrace.records import MapEntry, by_int_key
from scxtop.model import BlockedEdge, OwnerState, TaskRef

U64 = (1 << 64) - 1


@dataclass(frozen=True, slots=True)
class EdgeInfo:
    """The tuple @mutex_edge stores, by name."""

    lock: int
    waiter_comm: str
    waiter_prio: int
    owner_tid: int
    owner_comm: str
    owner_prio: int
    owner_on_cpu: bool
    owner_state: int
    owner_cpu: int
    owner_blocked_on: int

    @classmethod
    def parse(cls, value: object) -> EdgeInfo | None:
        if not isinstance(value, tuple) or len(value) < 10:
            return None
        v = value
        try:
            return cls(int(v[0]) & U64, str(v[1]), int(v[2]), int(v[3]), str(v[4]), int(v[5]),
                       bool(v[6]), int(v[7]) & 0xFFFFFFFF, int(v[8]), int(v[9]) & U64)
        except (TypeError, ValueError):
            return None

    def owner(self) -> TaskRef | None:
        return TaskRef(self.owner_tid, self.owner_comm, self.owner_prio) if self.owner_tid > 0 else None

    def state(self) -> OwnerState:
        if self.owner_tid <= 0:
            return OwnerState.UNKNOWN
        if self.owner_on_cpu:
            return OwnerState.RUNNING
        return OwnerState.RUNNABLE if self.owner_state == 0 else OwnerState.SLEEPING

    def edge(self, waiter_tid: int, wait_ns: int, ended: bool) -> BlockedEdge:
        return BlockedEdge(
            waiter=TaskRef(waiter_tid, self.waiter_comm, self.waiter_prio),
            lock=self.lock,
            owner=self.owner(),
            owner_state=self.state(),
            owner_cpu=self.owner_cpu if self.owner_tid > 0 else None,
            wait_ns=max(0, wait_ns),
            ended=ended,
        )


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def live_edges(now_ns: int, since: tuple[MapEntry, ...], info: tuple[MapEntry, ...]) -> list[BlockedEdge]:
    starts = by_int_key(since)
    edges = []
    for tid, value in by_int_key(info).items():
        parsed = EdgeInfo.parse(value)
        if parsed is not None and tid in starts:
            edges.append(parsed.edge(tid, now_ns - _int(starts[tid]), ended=False))
    return edges


def ended_edges(last: tuple[MapEntry, ...], total_ns: tuple[MapEntry, ...]) -> list[BlockedEdge]:
    totals = by_int_key(total_ns)
    edges = []
    for tid, value in by_int_key(last).items():
        parsed = EdgeInfo.parse(value)
        if parsed is not None:
            edges.append(parsed.edge(tid, _int(totals.get(tid, 0)), ended=True))
    return edges


def owners_blocked_elsewhere(info: tuple[MapEntry, ...], live: list[BlockedEdge]) -> list[BlockedEdge]:
    """Edges for owners whose blocked_on names a mutex but who have no traced wait of their own.

    Their owner is known when another traced waiter waits on the same mutex; their wait time is
    unknown (0).
    """
    waiting = {e.waiter.tid for e in live}
    owner_of_lock = {e.lock: (e.owner, e.owner_state, e.owner_cpu) for e in live if e.owner is not None}
    extra: dict[int, BlockedEdge] = {}
    for value in by_int_key(info).values():
        parsed = EdgeInfo.parse(value)
        if parsed is None or not parsed.owner_blocked_on or parsed.owner_tid <= 0:
            continue
        if parsed.owner_tid in waiting or parsed.owner_tid in extra:
            continue
        owner, state, cpu = owner_of_lock.get(parsed.owner_blocked_on, (None, OwnerState.UNKNOWN, None))
        extra[parsed.owner_tid] = BlockedEdge(
            waiter=TaskRef(parsed.owner_tid, parsed.owner_comm, parsed.owner_prio),
            lock=parsed.owner_blocked_on, owner=owner, owner_state=state, owner_cpu=cpu,
        )
    return list(extra.values())
