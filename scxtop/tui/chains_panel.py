"""The Blocked chains panel: one tree per lock owner, the tasks waiting on it below.

Each waiter shows the mutex address, how long it has waited and its priority; each owner shows
what it was doing (running, runnable, sleeping). Deadlock cycles and priority inversions are
drawn in the error colour so they stand out.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from scxtop.chains import WaitTree, wait_trees
from scxtop.model import BlockedEdge, Chain, InversionReason, OwnerState, Sample, TaskRef


def format_ns(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.0f} µs"


def _task(task: TaskRef) -> str:
    prio = "" if task.prio is None else f" prio {task.prio}"
    return f"{task.comm}[{task.tid}]{prio}"


def _owner_state(tree: WaitTree) -> str:
    """How the task was seen by the tasks waiting on it (their edges record its state)."""
    for child in tree.waiters:
        edge = child.edge
        if edge is not None and edge.owner_state is not OwnerState.UNKNOWN:
            where = "" if edge.owner_cpu is None else f" on cpu{edge.owner_cpu}"
            return f"{edge.owner_state.value}{where}"
    return ""


def _ended_summary(sample: Sample) -> Text:
    """Waits that came and went during the interval: not chains any more, but worth a line."""
    ended = [e for e in sample.blocked or () if e.ended]
    if not ended:
        return Text()
    longest = max(ended, key=lambda e: e.wait_ns)
    return Text(f"{len(ended)} wait{'s' * (len(ended) != 1)} ended this interval, longest "
                f"{format_ns(longest.wait_ns)}: {longest.waiter.comm}[{longest.waiter.tid}]")


class ChainsPanel(Tree[None]):
    """Rebuilt only when the chains change; expanded so nothing hides behind a fold."""

    DEFAULT_CSS = """
    ChainsPanel { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("chains", id=id)
        self.show_root = False
        self._shown: tuple[Chain, ...] | str | None = "nothing yet"
        self._subtitle: Text | None = None

    def show(self, sample: Sample) -> None:
        subtitle = _ended_summary(sample)
        if subtitle != self._subtitle:  # setting a subtitle repaints the whole tree: only on a change
            self._subtitle = self.border_subtitle = subtitle
        chains = sample.chains
        if chains == self._shown:
            return
        self._shown = chains
        self.clear()
        if chains is None:
            self.border_title = "Blocked chains"
            self.root.add_leaf(Text(f"n/a: the {sample.source} source cannot see mutex waits", "italic"))
            return
        cycles = sum(1 for c in chains if c.cycle)
        inversions = sum(len(c.inversions) for c in chains)
        alerts = (f" · {cycles} deadlock{'s' * (cycles != 1)}" if cycles else "") + (
            f" · {inversions} inversion{'s' * (inversions != 1)}" if inversions else ""
        )
        self.border_title = f"Blocked chains ({len(chains)}){alerts}"
        self.set_class(bool(cycles or inversions), "-alert")
        if not chains:
            self.root.add_leaf(Text("no task is blocked on a mutex", "italic"))
            return
        inverted = {(i.waiter.tid, i.reason) for c in chains for i in c.inversions}
        preempted = {i.owner.tid for c in chains for i in c.inversions
                     if i.reason == InversionReason.PREEMPTED}
        for tree in wait_trees(chains):
            self._add(self.root, tree, inverted, preempted, is_root=True)
        self.root.expand_all()

    def _add(self, parent: TreeNode[None], tree: WaitTree, inverted: set[tuple[int, InversionReason]],
             preempted: set[int], is_root: bool = False) -> None:
        label = self._label(tree, inverted, preempted, is_root)
        if tree.waiters:
            node = parent.add(label, expand=True)
            for child in tree.waiters:
                self._add(node, child, inverted, preempted)
        else:
            parent.add_leaf(label)

    def _label(self, tree: WaitTree, inverted: set[tuple[int, InversionReason]], preempted: set[int],
               is_root: bool) -> Text:
        text = Text()
        if tree.cycle:
            text.append("DEADLOCK ", style="bold red")
        text.append(_task(tree.task), style="bold" if is_root else "")
        # alarms first, so a narrow panel cuts the lock address rather than the warning
        if (tree.task.tid, InversionReason.PRIORITY) in inverted:
            text.append(" ⚠ priority inversion", style="bold red")
        if tree.task.tid in preempted:
            text.append(" ⚠ owner preempted", style="bold red")
        state = _owner_state(tree)
        if state:
            text.append(f" · {state}", style="red" if tree.task.tid in preempted else "")
        if tree.edge is not None:
            text.append(self._wait(tree.edge))
        return text

    @staticmethod
    def _wait(edge: BlockedEdge) -> str:
        return f" · waits {format_ns(edge.wait_ns)} on {edge.lock:#x}"
