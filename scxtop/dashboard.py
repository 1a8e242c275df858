"""`scxtop` and `scxtop replay FILE`: build the dashboard's source, switcher and options, then run it.

Textual is imported only inside `run()`, so the CLI can import this module cheaply.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from scxtop.sched_ext.types import Switcher
from scxtop.sources.base import Source


def run(args: Any) -> int:
    """Entry point for `scxtop` and `scxtop replay FILE` (see scxtop.cli)."""
    if getattr(args, "command", None) == "replay":
        from scxtop.recording import load_recording
        from scxtop.tui.app import ScxtopApp
        from scxtop.tui.playback import Playback

        recording = load_recording(args.path)
        for warning in recording.warnings:  # also on the terminal after the dashboard closes
            print(f"scxtop: warning: {warning}", file=sys.stderr)
        app = ScxtopApp(playback=Playback(recording.samples, path=str(args.path)), speed=args.speed)
    else:
        from scxtop.tui.app import ScxtopApp

        app = ScxtopApp(source_factory=_live_source_factory(args.source),
                        interval=args.interval, switcher_factory=_switcher_factory(),
                        confirm_switch=_confirm_switch())
    app.run()
    return int(app.return_code or 0)


def _live_source_factory(spec: str) -> Callable[[float], Source]:
    from scxtop.sources import open_source

    return lambda interval: open_source(spec, interval)


def _switcher_factory() -> Callable[[], Switcher]:
    from scxtop.sched_ext.switch import make_switcher

    return make_switcher


def _confirm_switch() -> bool:
    """Confirmation before a switch is on unless the config turns it off."""
    from scxtop.errors import ScxtopError
    from scxtop.sched_ext.config import load

    try:
        return load().confirm_switch
    except ScxtopError:
        return True
