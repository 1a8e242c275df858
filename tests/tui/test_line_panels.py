"""The Line-API panels repaint only the lines that changed: what is on screen must still follow
every new sample (values, order, row count), and the tasks cursor must stay on its task."""

from __future__ import annotations

from dataclasses import replace

from synthetic import sample
from test_app import SIZE, lines
from tui_helpers import wait_for

from scxtop.kernel.topology import synthetic_topology
from scxtop.model import TaskDelay
from scxtop.tui.app import ScxtopApp
from scxtop.tui.cpu_panel import CpuPanel
from scxtop.tui.playback import Playback
from scxtop.tui.tasks_panel import TasksPanel


def _task(pid: int, comm: str, delay_ms: int) -> TaskDelay:
    return TaskDelay(pid, comm, 0, "SCHED_OTHER", 0, delay_ms * 1_000_000, delay_ms * 10_000_000)


def _replay(items) -> ScxtopApp:
    return ScxtopApp(playback=Playback(items, "fixed.jsonl"), topology=synthetic_topology(4))


def _task_lines(panel: TasksPanel) -> list[str]:
    return [line for line in lines(panel) if any(c.isdigit() for c in line[:8])]


async def test_tasks_follow_each_sample_and_the_cursor_stays_on_its_task():
    first = replace(sample(0), delayed_tasks=(_task(11, "alpha", 30), _task(12, "beta", 20),
                                              _task(13, "gamma", 10)))
    second = replace(sample(1), delayed_tasks=(_task(13, "gamma", 50), _task(11, "alpha", 30),
                                               _task(12, "beta", 25)))
    third = replace(sample(2), delayed_tasks=(_task(12, "beta", 5), _task(14, "[b]delta", 1)))
    app = _replay([first, second, third])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")  # paused on the first sample
        app._replay_jump(0)
        panel = app.query_one(TasksPanel)
        panel.focus()
        # the first sample's rows, drawn: on a busy machine the replay may have shown the second
        # (three rows too) before the pause, and then the cursor followed gamma to the last row
        await wait_for(pilot, lambda: panel.pids == (11, 12, 13) and not app._dirty)
        await pilot.press("home", "down")
        assert panel.cursor_row == 1 and panel.pids[panel.cursor_row] == 12
        assert [line.split()[1] for line in _task_lines(panel)] == ["11", "12", "13"]

        await pilot.press("full_stop")  # the next sample: new order, new values
        await wait_for(pilot, lambda: panel.get_row_at(0)[1] == "gamma" and not app._dirty)
        shown = _task_lines(panel)
        assert [line.split()[1] for line in shown] == ["13", "11", "12"]
        assert "50.00" in shown[0] and "25.00" in shown[2]
        assert panel.pids[panel.cursor_row] == 12  # the cursor moved with beta

        await pilot.press("full_stop")  # fewer rows, one of them new (and named like markup)
        await wait_for(pilot, lambda: panel.row_count == 2 and not app._dirty)
        shown = _task_lines(panel)
        assert [line.split()[1] for line in shown] == ["12", "14"]
        assert "[b]delta" in shown[1]
        assert panel.get_cell("14", "comm") == "[b]delta"
        assert panel.pids[panel.cursor_row] == 12
        await pilot.press("down", "down", "up")
        assert panel.cursor_row == 0


async def test_cpu_rows_show_the_new_sample_when_only_their_values_change():
    # samples 0 and 3 have the same runqueues (the same bar scale): only the changed rows repaint
    app = _replay([sample(0), sample(3)])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        app._replay_jump(0)
        panel = app.query_one(CpuPanel)
        await wait_for(pilot, lambda: not app._dirty)
        assert "1000" in next(line for line in lines(panel) if "cpu0 " in line)
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: app.playback.index == 1 and not app._dirty)
        for cpu in range(4):
            row = next(line for line in lines(panel) if f"cpu{cpu} " in line)
            assert str(1000 * (cpu + 1) + 3) in row


async def test_chains_relabel_in_place_when_only_the_wait_times_grow():
    from synthetic import edges

    from scxtop.chains import build_chains
    from scxtop.tui.chains_panel import ChainsPanel

    longer = tuple(replace(e, wait_ns=e.wait_ns * 2) for e in edges())
    second = replace(sample(1), blocked=longer, chains=build_chains(longer))
    app = _replay([sample(0), second])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        app._replay_jump(0)
        panel = app.query_one(ChainsPanel)
        await wait_for(pilot, lambda: not app._dirty)
        assert "dead-a[5001] prio 120 · waits 2.00 s" in "\n".join(lines(panel))
        nodes = list(panel.root.children)
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: app.playback.index == 1 and not app._dirty)
        shown = "\n".join(lines(panel))
        assert "dead-a[5001] prio 120 · waits 4.00 s" in shown and "waits 2.00 s" not in shown
        assert "waits 4.20 s" in shown
        assert any("waits 7.0 ms" in str(node.label) for node in panel.root.children[0].children[0].children)
        assert list(panel.root.children) == nodes  # the same nodes, new labels


async def test_scrollbars_come_and_go_with_the_number_of_lines():
    """The chains and tasks panels skip Textual's layouts when their line count changes; they
    must still ask for one when a scrollbar has to appear or go."""
    from scxtop.chains import build_chains
    from scxtop.model import BlockedEdge, OwnerState, TaskRef
    from scxtop.tui.chains_panel import ChainsPanel

    many = tuple(BlockedEdge(TaskRef(100 + i, f"w{i}", 120), 0x1000 + i, TaskRef(500 + i, f"o{i}", 120),
                             OwnerState.RUNNING, 0, 1_000_000) for i in range(40))
    tasks = tuple(_task(100 + i, f"t{i}", 50 - i) for i in range(40))
    chained = {"blocked": many, "chains": build_chains(many)}
    steps = [  # one panel changes at a time: a layout for one would fix the other's scrollbars
        ({"blocked": (), "chains": (), "delayed_tasks": tasks[:2]}, False, False),
        ({**chained, "delayed_tasks": tasks[:2]}, True, False),
        ({**chained, "delayed_tasks": tasks}, True, True),
        ({**chained, "delayed_tasks": tasks[:2]}, True, False),
        ({"blocked": (), "chains": (), "delayed_tasks": tasks[:2]}, False, False),
    ]
    app = _replay([replace(sample(i), **fields) for i, (fields, _, _) in enumerate(steps)])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        app._replay_jump(0)
        chains, table = app.query_one(ChainsPanel), app.query_one(TasksPanel)
        for i, (_, chains_bar, tasks_bar) in enumerate(steps):
            if i:
                await pilot.press("full_stop")
            await wait_for(pilot, lambda i=i: app.playback.index == i and not app._dirty)
            assert chains.show_vertical_scrollbar is chains_bar, i
            assert table.show_vertical_scrollbar is tasks_bar, i
            assert (chains.max_scroll_y > 0) is chains_bar and (table.max_scroll_y > 0) is tasks_bar
        assert "t1" in "\n".join(lines(table)) and "t2 " not in "\n".join(lines(table))


async def test_border_titles_follow_each_sample():
    """A retitled panel repaints only its border line: the new title and subtitle must still show."""
    from scxtop.model import LatencyBucket, LatencyHistogram, MigrationPair
    from scxtop.tui.latency_panel import LatencyPanel
    from scxtop.tui.migrations_panel import MigrationsPanel

    second = replace(sample(1), migrations=(MigrationPair(0, 1, 7),),
                     wakeup_latency=LatencyHistogram((LatencyBucket(2048, 4096, 100),)))
    app = _replay([sample(0), second])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        app._replay_jump(0)
        migrations, latency = app.query_one(MigrationsPanel), app.query_one(LatencyPanel)
        await wait_for(pilot, lambda: not app._dirty)
        assert "Migrations 100/s" in lines(migrations)[0]  # 10 + 20 + 30 + 40 a second
        assert "max <512µs" in lines(latency)[-1]
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: app.playback.index == 1 and not app._dirty)
        assert "Migrations 7/s" in lines(migrations)[0]
        assert "max <4ms" in lines(latency)[-1]
