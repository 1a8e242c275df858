"""Does the dashboard's screen, painted line by line, match a screen drawn from scratch?

    .venv/bin/python bench/dashboard_screen_check.py [--cpus 2 256] [--samples 40] [--every 4]

The panels repaint only the lines they think changed (issue 11): a line they forget stays stale
on the terminal while every test that renders the screen afresh still passes. This replays the
recording dashboard_refresh.py uses (widened to N CPUs, headless 140x45), applies every update
Textual sends to a model of the terminal (cursor moves and cells, as a terminal would), and every
`--every` samples compares that with the whole screen rendered from scratch (every widget's
line cache dropped). Prints each differing line and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from dashboard_refresh import RECORDING, SIZE, widen
from rich.console import Console, RenderableType
from rich.control import ControlType
from rich.style import Style
from textual._compositor import CompositorUpdate
from textual.screen import Screen

from scxtop.kernel.topology import synthetic_topology
from scxtop.recording import load_recording
from scxtop.tui.app import ScxtopApp
from scxtop.tui.playback import Playback

Cells = list[list[tuple[str, Style | None]]]


def blank() -> Cells:
    return [[(" ", None)] * SIZE[0] for _ in range(SIZE[1])]


def apply(screen: Cells, update: RenderableType, console: Console) -> None:
    """What a terminal does with the update: move the cursor, write cells."""
    x = y = 0
    for segment in console.render(update):
        if segment.control:
            for control in segment.control:
                if control[0] == ControlType.CURSOR_MOVE_TO:
                    x, y = int(control[1]), int(control[2])
            continue
        for char in segment.text:
            if char == "\n":
                x, y = 0, y + 1
                continue
            if 0 <= y < SIZE[1] and 0 <= x < SIZE[0]:
                screen[y][x] = (char, segment.style)
            x += 1


async def check(nr_cpus: int, count: int, every: int) -> int:
    samples = [widen(s, nr_cpus) for s in load_recording(RECORDING).samples]
    app = ScxtopApp(playback=Playback(samples, RECORDING.name), topology=synthetic_topology(nr_cpus))
    terminal = blank()
    display = app._display

    def display_and_apply(screen: Screen[Any], renderable: RenderableType | None) -> None:
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            apply(terminal, renderable, app.console)

    app._display = display_and_apply  # type: ignore[method-assign]
    differing = 0
    async with app.run_test(size=SIZE) as pilot:
        app.action_toggle_pause()  # the check drives the samples itself
        await pilot.pause(0.2)
        for i in range(count):
            sample = samples[i % len(samples)]
            app.history.add(sample)
            app.timeline.add(sample)
            app.charts.add(sample)
            app.latest = sample
            app.refresh_dashboard()
            await pilot.pause()
            if i % every != every - 1 and i != count - 1:
                continue
            fresh = blank()
            for widget in app.screen.walk_children(with_self=True):
                widget._styles_cache.clear()
                widget.notify_style_update()  # the panels drop their own line caches too
            apply(fresh, app.screen._compositor.render_update(full=True), app.console)
            for y, (shown, drawn) in enumerate(zip(terminal, fresh, strict=True)):
                if shown != drawn:
                    differing += 1
                    print(f"{nr_cpus} CPUs, sample {i}, line {y}:\n"
                          f"  on the terminal: {''.join(c for c, _ in shown)}\n"
                          f"  from scratch:    {''.join(c for c, _ in drawn)}")
    print(f"{nr_cpus} CPUs, {count} samples: {differing} differing lines")
    return differing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, nargs="+", default=[2, 256])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--every", type=int, default=4, help="compare after every N samples")
    args = parser.parse_args()
    bad = sum(asyncio.run(check(n, args.samples, args.every)) for n in args.cpus)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
