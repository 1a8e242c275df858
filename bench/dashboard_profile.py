"""Where a dashboard refresh goes: CPU ms per widget, layouts, and optionally a cProfile listing.

    .venv/bin/python bench/dashboard_profile.py [--cpus 256] [--refreshes 30] [--cprofile N]

The same refresh as `bench/dashboard_refresh.py` (a replayed recording widened to N CPUs, headless
140x45): after a few warm-up refreshes, each widget's `render_lines` (what the compositor asks of
it, border and background included) is timed in process CPU time, and the screen layouts that
happened are counted (a layout re-renders every widget on screen). Printed per refresh: the total,
each widget (with how often it was asked to render, and how many of its lines changed and were
rendered again), and the remainder (compositor, encoding the
update for a terminal, messages, the panels' own `show()`, the pilot's idle wait and the
benchmark's bookkeeping). `--cprofile N` adds the N costliest
functions by own time and by cumulative time (the profiler slows everything about 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import Counter
from typing import Any

from dashboard_refresh import RECORDING, SIZE, _encode_updates, _refresh, widen
from textual._styles_cache import StylesCache
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from scxtop.kernel.topology import synthetic_topology
from scxtop.recording import load_recording
from scxtop.tui.app import ScxtopApp
from scxtop.tui.playback import Playback

WARM_UP = 5


class Timers:
    """Process CPU time per widget while `on`, the lines it re-rendered (the ones that changed:
    Textual's styles cache renders only those), and the layouts the screens did."""

    def __init__(self) -> None:
        self.on = False
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.lines: Counter[str] = Counter()
        self.layouts = 0
        render_lines, refresh_layout = Widget.render_lines, Screen._refresh_layout
        render_line = StylesCache.render_line
        timers = self
        rendering: list[str] = [""]

        def timed_render_lines(widget: Widget, crop: Any) -> list[Strip]:
            if not timers.on:
                return render_lines(widget, crop)
            name = rendering[0] = f"{type(widget).__name__}#{widget.id or ''}"
            start = time.process_time()
            try:
                return render_lines(widget, crop)
            finally:
                timers.seconds[name] += time.process_time() - start
                timers.calls[name] += 1

        def counted_line(cache: StylesCache, *args: Any, **kwargs: Any) -> Strip:
            timers.lines[rendering[0]] += timers.on
            return render_line(cache, *args, **kwargs)

        def counted_layout(screen: Screen[Any], *args: Any, **kwargs: Any) -> None:
            timers.layouts += timers.on
            refresh_layout(screen, *args, **kwargs)

        # a benchmark's instrumentation: Textual's own methods, wrapped for the whole process
        Widget.render_lines = timed_render_lines  # type: ignore[method-assign]
        StylesCache.render_line = counted_line  # type: ignore[method-assign]
        Screen._refresh_layout = counted_layout  # type: ignore[method-assign]


async def profile(nr_cpus: int, refreshes: int, top: int, dump: str | None = None) -> None:
    timers = Timers()
    samples = [widen(s, nr_cpus) for s in load_recording(RECORDING).samples]
    app = ScxtopApp(playback=Playback(samples, RECORDING.name), topology=synthetic_topology(nr_cpus))
    _encode_updates(app)  # as dashboard_refresh.py: a real terminal pays for the escape sequences
    profiler = cProfile.Profile()
    total = 0.0
    async with app.run_test(size=SIZE) as pilot:
        app.action_toggle_pause()  # the benchmark drives the samples itself
        await pilot.pause(0.2)
        for i in range(WARM_UP):
            await pilot.pause()
            await _refresh(app, pilot, samples[i % len(samples)])
        for i in range(refreshes):
            await pilot.pause()
            timers.on = True
            if top or dump:
                profiler.enable()
            cpu_ms, _ = await _refresh(app, pilot, samples[(WARM_UP + i) % len(samples)])
            if top or dump:
                profiler.disable()
            timers.on = False
            total += cpu_ms
    per = total / refreshes
    widgets = sum(timers.seconds.values()) * 1000 / refreshes
    print(f"{nr_cpus} CPUs, {refreshes} refreshes{' (under cProfile)' if top or dump else ''}: "
          f"{per:.2f} CPU ms a refresh, {timers.layouts} layouts")
    for name, seconds in timers.seconds.most_common():
        print(f"  {name:32} {seconds * 1000 / refreshes:7.2f} ms  {timers.calls[name] / refreshes:4.1f}x"
              f"  {timers.lines[name] / refreshes:5.1f} lines")
    print(f"  {'widgets together':32} {widgets:7.2f} ms")
    print(f"  {'the rest':32} {per - widgets:7.2f} ms  (compositor, encoding, messages, idle wait)")
    if dump:
        profiler.dump_stats(dump)
    if top:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, default=256)
    parser.add_argument("--refreshes", type=int, default=30)
    parser.add_argument("--cprofile", type=int, default=0, metavar="N",
                        help="also print the N costliest functions (cProfile)")
    parser.add_argument("--dump", metavar="FILE", help="also save the cProfile stats to FILE (pstats)")
    args = parser.parse_args()
    asyncio.run(profile(args.cpus, args.refreshes, args.cprofile, args.dump))


if __name__ == "__main__":
    main()
