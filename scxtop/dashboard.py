"""`scxtop` and `scxtop replay FILE`: build the dashboard's source, switcher and options, then run it.

Textual is imported only inside `run()`, so the CLI can import this module cheaply. The config
file (scxtop.settings) is read first: a broken or untrusted one stops the dashboard before it
starts, with the one-line error that names the file, line and key.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scxtop.sched_ext.types import Switcher
from scxtop.sources.base import Source

if TYPE_CHECKING:
    from scxtop.settings import Settings
    from scxtop.sources.warm import OpenedAhead


def run(args: Any) -> int:
    """Entry point for `scxtop` and `scxtop replay FILE` (see scxtop.cli)."""
    from scxtop.settings import load_settings

    settings = load_settings()
    if getattr(args, "command", None) == "replay":
        return _run_replay(args, settings)
    return _run_live(args, settings)


def _run_replay(args: Any, settings: Settings) -> int:
    from scxtop.recording import load_recording
    from scxtop.tui.app import ScxtopApp, check_settings
    from scxtop.tui.playback import Playback

    check_settings(settings)
    recording = load_recording(args.path)
    for warning in recording.warnings:  # also on the terminal after the dashboard closes
        print(f"scxtop: warning: {warning}", file=sys.stderr)
    app = ScxtopApp(playback=Playback(recording.samples, path=str(args.path)), speed=args.speed,
                    theme=settings.dashboard.theme, keymap=settings.keymap)
    app.run()
    return int(app.return_code or 0)


def _run_live(args: Any, settings: Settings) -> int:
    interval = args.interval if args.interval is not None else settings.dashboard.interval
    ahead = _procfs_ahead(args.source, interval)
    try:
        from scxtop.tui.app import ScxtopApp, check_settings

        check_settings(settings)
        app = ScxtopApp(source_factory=_live_source_factory(args.source, ahead),
                        interval=interval, switcher_factory=_switcher_factory(),
                        confirm_switch=settings.dashboard.confirm_switch,
                        switch_timeout=settings.dashboard.switch_timeout,
                        theme=settings.dashboard.theme, keymap=settings.keymap)
        app.run()
    finally:
        if ahead is not None:
            ahead.close()
    return int(app.return_code or 0)


def _procfs_ahead(spec: str, interval: float) -> OpenedAhead | None:
    """The first procfs source, opened before Textual is imported: its first interval runs while
    the dashboard starts, so the first screen has data (bpftrace takes seconds to attach)."""
    from scxtop.sources.warm import WARM_SPECS, OpenedAhead

    return OpenedAhead(interval) if spec in WARM_SPECS else None


def _live_source_factory(spec: str, ahead: OpenedAhead | None) -> Callable[[float], Source]:
    from scxtop.sources import _say_once
    from scxtop.sources.warm import open_warm, quick_procfs

    quick = ahead or quick_procfs
    return lambda interval: open_warm(spec, interval, _say_once, quick)


def _switcher_factory() -> Callable[[], Switcher]:
    from scxtop.sched_ext.switch import make_switcher

    return make_switcher

