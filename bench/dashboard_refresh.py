"""How long one full dashboard refresh takes, and how much memory, for 2 to 1024 CPUs.

    .venv/bin/python bench/dashboard_refresh.py [--cpus 2 64 256 1024] [--refreshes 40] [RECORDING]

The shipped recording (a real capture on a 2-CPU machine) is replayed, widened to N CPUs by
repeating each recorded CPU's numbers (and its migrations) across the extra CPUs, so every panel
has real-shaped data. The dashboard runs headless at 140x45; one refresh is: take the next
sample (history, timeline), rebuild every panel from it, and let Textual lay out and paint the
screen. Each CPU count runs in its own process so peak RSS belongs to that size alone.

Printed per CPU count: median and 90th percentile CPU ms per refresh (process time from the
sample's arrival until Textual has painted and gone idle: real work, not the pilot's idle
sleeps), the panel update alone (`refresh_dashboard()`, wall ms, before painting), the ratio to
the first size, peak RSS and the peak Python heap allocated while refreshing (tracemalloc, in a
separate pass because tracing slows allocation).

"idle ms" is what the pilot's wait costs with nothing to draw (an A/A refresh: the same
`pilot.pause()`, no new sample). It is the test harness's, not scxtop's: the pilot posts a
callback to every widget on the screen and waits for each to run, and polls the process clock
while it sleeps; profiled, no scxtop code runs in it but the 0.2 s render tick finding nothing
to do. "net ms" = CPU ms/refresh - idle ms, the refresh without that harness cost.

The headless driver skips turning the screen update into terminal escape sequences; a real
terminal pays that, so the benchmark does it after every update (`_encode_updates`) and the
numbers include it (only the write to the terminal is missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from textual._compositor import CompositorUpdate
from textual.screen import Screen

from scxtop.model import MigrationPair, Sample
from scxtop.tui.app import ScxtopApp
from scxtop.tui.playback import Playback

try:
    from scxtop.kernel.topology import synthetic_topology
    from scxtop.recording import load_recording
except ImportError:  # code from before the #13 moves, as `dashboard_refresh_ab.py OLD` may run
    from scxtop.topology import synthetic_topology  # type: ignore[no-redef]

    from scxtop.sources.replay import load_recording  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT / "tests/fixtures/recordings/contention.jsonl"
SIZE = (140, 45)


def widen(sample: Sample, nr_cpus: int) -> Sample:
    """The sample as if the machine had `nr_cpus` CPUs, each copying a recorded one."""
    recorded = len(sample.cpus)
    cpus = tuple(replace(sample.cpus[c % recorded], cpu=c) for c in range(nr_cpus))
    migrations = None
    if sample.migrations is not None:
        copies = max(1, nr_cpus // recorded)
        migrations = tuple(
            MigrationPair(src=m.src + j * recorded, dst=m.dst + j * recorded, count=m.count)
            for j in range(copies) for m in sample.migrations
        )
    return replace(sample, cpus=cpus, migrations=migrations)


def _encode_updates(app: ScxtopApp) -> None:
    """Encode every screen update for a terminal, as a real one costs (headless skips it)."""
    display = app._display

    def display_and_encode(screen: Screen[Any], renderable: RenderableType | None) -> None:
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)

    app._display = display_and_encode  # type: ignore[method-assign]


async def _refresh(app: ScxtopApp, pilot, sample: Sample) -> tuple[float, float]:
    """One refresh: (CPU ms until painted and idle, wall ms of the panel update alone)."""
    cpu_start = time.process_time()
    start = time.perf_counter()
    app.history.add(sample)
    app.timeline.add(sample)
    if hasattr(app, "charts"):  # the history charts and the latency histogram follow every sample
        app.charts.add(sample)  # (absent in code from before issue 11: A/B against it works too)
    app.latest = sample
    app.refresh_dashboard()
    panels_ms = (time.perf_counter() - start) * 1000
    await pilot.pause()  # Textual lays out and paints what changed, then idles
    return (time.process_time() - cpu_start) * 1000, panels_ms


async def measure(nr_cpus: int, refreshes: int, recording: Path) -> dict[str, float]:
    samples = [widen(s, nr_cpus) for s in load_recording(recording).samples]
    app = ScxtopApp(playback=Playback(samples, recording.name), topology=synthetic_topology(nr_cpus))
    _encode_updates(app)
    full: list[float] = []
    panels_only: list[float] = []
    idle: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        app.action_toggle_pause()  # the bench drives the samples itself
        await pilot.pause(0.2)
        for _ in range(refreshes):  # what waiting for idle costs with nothing to draw
            await pilot.pause()
            cpu_start = time.process_time()
            await pilot.pause()
            idle.append((time.process_time() - cpu_start) * 1000)
        for i in range(refreshes):
            await pilot.pause()  # start from an idle app
            full_ms, panels_ms = await _refresh(app, pilot, samples[i % len(samples)])
            full.append(full_ms)
            panels_only.append(panels_ms)
        tracemalloc.start()  # a separate pass: tracing slows every allocation down
        for i in range(min(refreshes, 10)):
            await _refresh(app, pilot, samples[i % len(samples)])
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    full.sort()
    return {
        "cpus": nr_cpus,
        "median_ms": statistics.median(full),
        "p90_ms": full[int(len(full) * 0.9) - 1],
        "panels_ms": statistics.median(panels_only),
        "idle_ms": statistics.median(idle),
        "net_ms": statistics.median(full) - statistics.median(idle),
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "heap_mib": heap_peak / 2**20,
    }


def run_one(nr_cpus: int, refreshes: int, recording: Path) -> dict[str, float]:
    """Measure one size in a fresh interpreter (clean peak RSS)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(nr_cpus), "--refreshes", str(refreshes), str(recording)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", type=Path, default=RECORDING)
    parser.add_argument("--cpus", type=int, nargs="+", default=[2, 64, 256, 1024])
    parser.add_argument("--refreshes", type=int, default=40)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.child, args.refreshes, args.recording))))
        return
    rows = [run_one(n, args.refreshes, args.recording) for n in args.cpus]
    base = rows[0]["median_ms"]
    print(f"dashboard refresh, {SIZE[0]}x{SIZE[1]} headless, {args.refreshes} refreshes per size, "
          f"data: {args.recording.name} widened")
    print(f"{'CPUs':>6} {'CPU ms/refresh':>15} {'p90 ms':>8} {'panels ms':>10} {'idle ms':>8} {'net ms':>7} "
          f"{'vs first':>9} {'peak RSS MiB':>13} {'heap MiB':>9}")
    for row in rows:
        print(f"{row['cpus']:>6} {row['median_ms']:>15.2f} {row['p90_ms']:>8.2f} {row['panels_ms']:>10.2f} "
              f"{row['idle_ms']:>8.2f} {row['net_ms']:>7.2f} {row['median_ms'] / base:>8.2f}x "
              f"{row['rss_mib']:>13.1f} {row['heap_mib']:>9.2f}")


if __name__ == "__main__":
    main()
