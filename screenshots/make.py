"""Make the README screenshots: the dashboard replaying the shipped recording, one SVG per panel.

    .venv/bin/python screenshots/make.py [RECORDING] [--out screenshots/]

It opens `scxtop replay` headless at 140x45 and saves the whole dashboard, each panel maximised,
the CPU panel grouped by LLC, and the help screen, each at the sample that shows its subject best
(most chains, widest runqueue gap, most migrations...; see SCORES).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from scxtop.kernel.topology import Grouping
from scxtop.model import Sample
from scxtop.recording import load_recording
from scxtop.tui.app import ScxtopApp
from scxtop.tui.cpu_rows import find_imbalance
from scxtop.tui.playback import Playback

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RECORDING = ROOT / "tests/fixtures/recordings/contention.jsonl"
SWITCH_RECORDING = ROOT / "tests/fixtures/recordings/switch.jsonl"
"""A real switch (default -> scx_tfifo in the sched_ext guest), for the before/after report."""
SIZE = (140, 45)
PANELS = {"cpus": "cpus", "charts": "charts", "latency": "latency", "migrations": "migrations",
          "chains": "chains", "scx": "sched_ext", "tasks": "tasks"}
"""Widget id -> screenshot name."""


def _imbalance(s: Sample) -> float:
    """A flagged imbalance first (one runqueue loaded while another idles), the most even last."""
    flagged = find_imbalance(s.cpus)
    return 1000 + flagged.worst_rq if flagged else 0.0


SCORES: dict[str, Callable[[Sample], float]] = {
    "dashboard": lambda s: len(s.chains or ()) * 1000 + (s.total_migrations or 0),
    "cpus": _imbalance,
    "charts": lambda s: s.elapsed_s,  # the longest history
    "latency": lambda s: s.elapsed_s,  # the most wakeups since start
    "migrations": lambda s: s.total_migrations or 0,
    "chains": lambda s: sum(c.depth for c in s.chains or ()),
    "sched_ext": lambda s: len(s.scx_events),
    "tasks": lambda s: len(s.delayed_tasks or ()),
}
"""What makes a sample worth showing, per screenshot; ties go to the later sample."""


def telling_index(samples: tuple[Sample, ...], shot: str) -> int:
    return max(range(len(samples)), key=lambda i: (SCORES[shot](samples[i]), i))


async def footer_settled(app: ScxtopApp, pilot: Pilot[None], bound_s: float = 30.0) -> None:
    """Wait until the footer shows its keys: it recomposes them a moment after focus changes, and
    on a busy machine a fixed pause took the shot without them."""
    for _ in range(int(bound_s / 0.1)):
        if app.screen.query("FooterKey"):
            break
        await pilot.pause(0.1)
    else:
        raise SystemExit(f"screenshots: the footer showed no keys within {bound_s:.0f} s")
    await pilot.pause(0.2)


async def make(recording: Path, out: Path) -> list[Path]:
    samples = load_recording(recording).samples
    app = ScxtopApp(playback=Playback(samples, path=recording.name))
    written: list[Path] = []

    def save(name: str) -> None:
        written.append(out / f"{name}.svg")
        app.save_screenshot(filename=f"{name}.svg", path=str(out))

    async with app.run_test(size=SIZE) as pilot:
        app.set_focus(None)
        app._replay_jump(telling_index(samples, "dashboard"))
        await footer_settled(app, pilot)
        save("dashboard")
        for widget_id, name in PANELS.items():
            app._replay_jump(telling_index(samples, name))
            app.screen.maximize(app.query_one(f"#{widget_id}"))
            await pilot.pause(0.2)
            save(f"panel-{name}")
            app.screen.minimize()
        app._replay_jump(telling_index(samples, "cpus"))
        while app.grouping is not Grouping.LLC:
            await pilot.press("g")
        await pilot.pause(0.2)
        save("cpus-by-llc")
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        save("help")
    return written


async def make_report(recording: Path, out: Path) -> Path:
    """The `r` screen over a recording that holds a real switch, at its end (report complete)."""
    samples = load_recording(recording).samples
    app = ScxtopApp(playback=Playback(samples, path=recording.name))
    async with app.run_test(size=SIZE) as pilot:
        app._replay_jump(len(samples) - 1)
        await pilot.pause(0.5)
        await pilot.press("r")
        await pilot.pause(0.3)
        app.save_screenshot(filename="switch-report.svg", path=str(out))
    return out / "switch-report.svg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", nargs="?", type=Path, default=DEFAULT_RECORDING)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(make(args.recording, args.out)):
        print(path)
    print(asyncio.run(make_report(SWITCH_RECORDING, args.out)))


if __name__ == "__main__":
    main()
