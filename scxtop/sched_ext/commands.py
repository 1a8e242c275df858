"""`scxtop schedulers` (what can be switched to, what runs) and `scxtop switch NAME`.

`switch` exits 0 only when the kernel confirmed the new scheduler; progress goes to stderr,
the outcome to stdout, and on failure the tail of the scheduler's output follows. A stop signal
(Ctrl-C, SIGTERM, SIGHUP) during the switch waits for it to end: the outcome is printed, and the
exit status is 130.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from scxtop import stopsignals
from scxtop.errors import print_line, say
from scxtop.kernel.scx_state import read_state
from scxtop.sched_ext.config import parse_mode
from scxtop.sched_ext.switch import make_switcher
from scxtop.sched_ext.types import Refusal, SchedulerEntry, SwitchResult


def format_entries(entries: list[SchedulerEntry], refused: Sequence[Refusal] = ()) -> list[str]:
    """One row per scheduler; a refused program says why in its last column."""
    rows = [("NAME", "STATUS", "FROM", "LAST SWITCH", "PROGRAM")]
    for e in entries:
        status = "running" if e.running else ("available" if e.name == "default" else "installed")
        program = " ".join([str(e.program), *e.args]) if e.program else "-"
        rows.append((e.name, status, e.origin, e.last_switch_text(), program))
    for r in refused:
        rows.append((r.name, "refused", "path", "-", f"{r.program}: {_printable(r.reason)}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
            for row in rows]


def _printable(text: str) -> str:
    """File names come from whoever wrote the directory: no control characters on the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def list_schedulers() -> int:
    state = read_state()
    switcher = make_switcher()
    if not state.supported:
        print("sched_ext: not supported by this kernel (switching is impossible)")
    else:
        print(f"sched_ext: {state.state}, ops {state.ops or '-'}, enable_seq {state.enable_seq}, "
              f"backend {switcher.backend}")
    for line in format_entries(switcher.schedulers(), switcher.refused()):
        print(line)
    return 0


def format_result(result: SwitchResult) -> list[str]:
    lines = [result.message]
    if not result.ok and result.output_tail:
        lines.append(f"--- last output of {result.target} ---")
        lines.extend(result.output_tail.splitlines())
    return lines


def switch(args: argparse.Namespace) -> int:
    mode = parse_mode(args.mode) if args.mode else None
    switcher = make_switcher()
    with stopsignals.held_until_done("stopping once this switch has ended") as held:
        result = switcher.switch(args.name, mode=mode, timeout=args.timeout, progress=say)
    out = sys.stdout if result.ok else sys.stderr
    for line in format_result(result):
        print_line(line, out)
    if held.signum is not None:
        say(f"stopped by {held.name} after the switch")
        return 130
    return 0 if result.ok else 1


def run(args: argparse.Namespace) -> int:
    if args.command == "schedulers":
        return list_schedulers()
    return switch(args)
