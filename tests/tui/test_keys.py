"""Keys: where each works comes from its binding id, [keys] remaps them, the help is built from them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import replace
from pathlib import Path

import pytest
from synthetic import FixedSource, sample, samples
from textual.binding import Binding
from tui_helpers import wait_for

import scxtop.tui
from scxtop.kernel.topology import Grouping, synthetic_topology
from scxtop.model import TaskDelay
from scxtop.sched_ext.errors import ConfigError
from scxtop.settings import parse_settings
from scxtop.tui.app import ScxtopApp, binding_ids, check_settings
from scxtop.tui.help_screen import HelpScreen
from scxtop.tui.keys import Scope, replay_help, scope_of, works
from scxtop.tui.playback import Playback
from scxtop.tui.tasks_panel import TasksPanel

SIZE = (140, 45)
README = Path(__file__).resolve().parents[2] / "README.md"


def shown(widget) -> str:
    return "\n".join(str(s.render()) for s in widget.query("Static"))


def test_the_scope_of_a_key_is_its_binding_ids_group():
    assert scope_of("replay.step") is Scope.REPLAY and scope_of("scheduler.pick") is Scope.LIVE
    assert scope_of("quit") is Scope.BOTH and scope_of("filter.close") is Scope.BOTH
    assert scope_of(None) is Scope.BOTH and scope_of("replay") is Scope.BOTH
    assert works("replay.end", replay=True) and not works("replay.end", replay=False)
    assert works("scheduler.next", replay=False) and not works("scheduler.next", replay=True)


def test_every_dashboard_binding_has_an_id_and_the_readme_lists_them_all():
    ids = binding_ids()
    assert len(ids) == len(set(ids)) >= 20
    table = README.read_text().split("Binding ids for `[keys]`", 1)[1].split("\n\n", 2)[1]
    rows = [[cell.strip().strip("`") for cell in row.split("|")] for row in table.splitlines()[2:]]
    assert {cell for row in rows for cell in (row[1], row[3])} == set(ids)


def test_binding_ids_are_every_id_a_binding_in_scxtop_tui_has():
    """A new widget's bindings are remappable (and listed in the README) only if binding_ids()
    knows its class: every class in scxtop.tui with its own BINDINGS must be there."""
    found = set()
    for module in pkgutil.iter_modules(scxtop.tui.__path__, "scxtop.tui."):
        for _, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if cls.__module__ == module.name and "BINDINGS" in vars(cls):
                found |= {b.id for b in cls.BINDINGS if isinstance(b, Binding) and b.id}
    assert found == set(binding_ids())


def test_replay_help_is_built_from_the_bindings():
    keys = [("space", "Pause", "pause"), ("q", "Quit", "quit"), (".", "Step", "replay.step"),
            ("]", "Seek +10", "replay.forward"), ("s", "Scheduler", "scheduler.pick")]
    assert replay_help(keys) == "Replay: space pause, . step, ] seek +10."
    assert replay_help([("q", "Quit", "quit")]) == ""


def test_unknown_binding_ids_and_themes_are_refused_naming_the_line():
    with pytest.raises(ConfigError, match=r"^c.toml:3: keys.qiut: no such binding id"):
        check_settings(parse_settings("[keys]\nquit = 'x'\nqiut = 'y'\n", Path("c.toml")))
    with pytest.raises(ConfigError, match=r"^c.toml:2: dashboard.theme: no theme 'neon'"):
        check_settings(parse_settings("[dashboard]\ntheme = 'neon'\n", Path("c.toml")))
    check_settings(parse_settings("[dashboard]\ntheme = 'nord'\n[keys]\n'replay.step' = 'j'\n"))


async def test_keys_remapped_in_the_config_work_and_the_old_key_does_not():
    source = FixedSource(samples(2))
    app = ScxtopApp(source_factory=lambda interval: source, topology=synthetic_topology(4),
                    keymap=parse_settings("[keys]\ngrouping = 'x'\n").keymap, theme="nord")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.samples_seen >= 1)
        assert app.theme == "nord"
        await pilot.press("g")
        await pilot.pause()
        assert app.grouping is Grouping.CPU
        await pilot.press("x")
        await wait_for(pilot, lambda: app.grouping is Grouping.CORE)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and "Group" in shown(app.screen))
        assert re.search(r"^\s*x  Group$", shown(app.screen), re.MULTILINE), shown(app.screen)


async def test_replay_help_lists_the_replay_keys_with_their_remapped_keys():
    app = ScxtopApp(playback=Playback(samples(5, 4), "fixed.jsonl"), topology=synthetic_topology(4),
                    keymap={"replay.step": "j"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and "Replay:" in shown(app.screen))
        text = shown(app.screen)
        assert "Replay: space pause, j step, , back, ] seek +10, [ seek -10, home start, end end." in text
        assert "Scheduler" not in text  # live-only keys are not offered in a replay


async def test_a_panels_binding_remapped_in_the_config_works():
    tasks = tuple(TaskDelay(pid, f"t{pid}", 0, "SCHED_OTHER", 0, 1_000_000 * pid, 0) for pid in (3, 2, 1))
    settings = parse_settings("[keys]\n'tasks.down' = 'j'\n")
    check_settings(settings)  # an id of a panel's binding, not only the app's and screens'
    app = ScxtopApp(playback=Playback([replace(sample(0), delayed_tasks=tasks)], "fixed.jsonl"),
                    topology=synthetic_topology(4), keymap=settings.keymap)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(TasksPanel)
        panel.focus()
        await wait_for(pilot, lambda: panel.row_count == 3)
        await pilot.press("j")
        await wait_for(pilot, lambda: panel.cursor_row == 1)
