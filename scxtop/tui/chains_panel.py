"""The Blocked chains panel: one tree per lock owner, the tasks waiting on it below.

Each waiter shows the mutex address, how long it has waited and its priority; each owner shows
what it was doing (running, runnable, sleeping). Deadlock cycles and priority inversions are
drawn in the error colour so they stand out.
"""

from __future__ import annotations

from typing import Self

from rich.text import Text
from textual.geometry import Region
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from scxtop.chains import WaitTree, wait_trees
from scxtop.kernel.bounds import printable
from scxtop.model import BlockedEdge, Chain, InversionReason, OwnerState, Sample, TaskRef
from scxtop.tui.line_repaint import BorderTexts


def format_ns(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.0f} µs"


def _task(task: TaskRef) -> str:
    prio = "" if task.prio is None else f" prio {task.prio}"
    return f"{printable(task.comm)}[{task.tid}]{prio}"


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
                f"{format_ns(longest.wait_ns)}: {printable(longest.waiter.comm)}[{longest.waiter.tid}]")


class ChainsPanel(BorderTexts, Tree[None]):
    """Rebuilt only when the chains change shape (relabelled in place when only their numbers
    moved); expanded so nothing hides behind a fold."""

    DEFAULT_CSS = """
    ChainsPanel { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("chains", id=id)
        self.show_root = False
        self._shown: tuple[Chain, ...] | str | None = "nothing yet"
        self._shape: tuple[tuple[int, int, bool], ...] | None = None
        """(depth, tid, has waiters) of every node shown, depth first; None: no chains shown."""
        self._shown_nodes: list[TreeNode[None]] = []
        """The nodes shown, in the same order."""

    def show(self, sample: Sample) -> None:
        self.set_border_subtitle(_ended_summary(sample))
        chains = sample.chains
        if chains == self._shown:
            return
        self._shown = chains
        if chains is None:
            self._rebuild()
            self.set_border_title("Blocked chains")
            self.root.add_leaf(Text(f"n/a: the {sample.source} source cannot see mutex waits", "italic"))
            return
        cycles = sum(1 for c in chains if c.cycle)
        inversions = sum(len(c.inversions) for c in chains)
        alerts = (f" · {cycles} deadlock{'s' * (cycles != 1)}" if cycles else "") + (
            f" · {inversions} inversion{'s' * (inversions != 1)}" if inversions else ""
        )
        self.set_border_title(f"Blocked chains ({len(chains)}){alerts}")
        self.set_class(bool(cycles or inversions), "-alert")
        if not chains:
            self._rebuild()
            self.root.add_leaf(Text("no task is blocked on a mutex", "italic"))
            return
        inverted = {(i.waiter.tid, i.reason) for c in chains for i in c.inversions}
        preempted = {i.owner.tid for c in chains for i in c.inversions
                     if i.reason == InversionReason.PREEMPTED}
        trees = wait_trees(chains)
        walked = [(depth, node) for tree in trees for depth, node in tree.walk()]
        shape = tuple((depth, node.task.tid, bool(node.waiters)) for depth, node in walked)
        if shape == self._shape:
            # The same tasks waiting on the same owners, only the labels moved (wait times grow
            # every interval): new labels in place, a repaint of their lines. Adding nodes to a
            # Tree re-lays out the whole screen, every time.
            for node, (depth, tree) in zip(self._shown_nodes, walked, strict=True):
                label = self._label(tree, inverted, preempted, is_root=depth == 0)
                if label != node.label:
                    node.set_label(label)
            return
        self._rebuild()
        for tree in trees:
            self._add(self.root, tree, inverted, preempted, is_root=True)
        self._shape = shape
        self.root.expand_all()

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False) -> Self:
        """A Tree asks for a layout of the whole screen whenever its nodes change, and again when
        its lines give it a new virtual size. This panel's size comes from the CSS, never from its
        lines, so a layout is kept only when a scrollbar has to come or go; otherwise the
        scrollbars are told the new virtual size and the panel is only repainted."""
        if layout and self.is_mounted and not self._scrollbars_change():
            layout = False
            if self.show_vertical_scrollbar:  # (asking for a hidden one would create it)
                self.vertical_scrollbar.window_virtual_size = self.virtual_size.height
            if self.show_horizontal_scrollbar:
                self.horizontal_scrollbar.window_virtual_size = self.virtual_size.width
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _scrollbars_change(self) -> bool:
        """Whether the virtual size now needs a scrollbar that is not shown, or no longer needs
        one that is (measured against the room the current scrollbars leave)."""
        room = self.scrollable_content_region.size
        virtual = self.virtual_size
        return ((virtual.height > room.height) != self.show_vertical_scrollbar
                or (virtual.width > room.width) != self.show_horizontal_scrollbar)

    def _rebuild(self) -> None:
        self.clear()
        self._shape = None
        self._shown_nodes = []

    def _add(self, parent: TreeNode[None], tree: WaitTree, inverted: set[tuple[int, InversionReason]],
             preempted: set[int], is_root: bool = False) -> None:
        label = self._label(tree, inverted, preempted, is_root)
        if tree.waiters:
            node = parent.add(label, expand=True)
            self._shown_nodes.append(node)
            for child in tree.waiters:
                self._add(node, child, inverted, preempted)
        else:
            self._shown_nodes.append(parent.add_leaf(label))

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
