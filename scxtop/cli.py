"""Command line: parse arguments, pick a mode, and import only what that mode needs.

Each subcommand lives in its own module with a `run(args) -> int`; they are imported lazily so
that `scxtop log` never loads Textual and `scxtop doctor` loads neither Textual nor the sources
(it does run bpftrace: `--version` and a one-line BEGIN program, to check that BPF loads).
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Callable
from typing import TypeVar

from scxtop import __version__, stopsignals
from scxtop.errors import ScxtopError
from scxtop.sched_ext.types import SWITCH_TIMEOUT_S

T = TypeVar("T", int, float)

STOPS_CLEANLY = ("scxtop.logcmd", "scxtop.servecmd")
"""Commands that take over the stop signals noted while Python imported them, and exit 0 on them;
the others get the default actions back (`stopsignals.release()`)."""
SOURCE_HELP = "auto (bpftrace if it can run, else procfs), bpftrace, procfs, or replay:PATH"


def _number_type(convert: Callable[[str], T], noun: str, allowed: Callable[[T], bool],
                 rule: str) -> Callable[[str], T]:
    """An argparse `type` that takes only finite numbers `allowed` accepts (nan and inf never)."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not math.isfinite(value) or not allowed(value):
            raise argparse.ArgumentTypeError(f"{rule}: {text!r}")
        return value

    return parse


positive_float = _number_type(float, "a number", lambda v: v > 0, "must be a number greater than zero")
positive_int = _number_type(int, "a whole number", lambda v: v > 0, "must be at least 1")
non_negative_float = _number_type(float, "a number", lambda v: v >= 0, "must be a number, zero or more")


def add_source_options(parser: argparse.ArgumentParser, interval: float | None = 1.0,
                       interval_help: str = "seconds per sample") -> None:
    parser.add_argument("--source", default="auto", help=SOURCE_HELP)
    parser.add_argument(
        "--interval", type=positive_float, default=interval, metavar="S", help=interval_help
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scxtop",
        description="Live view of the Linux CPU scheduler: runqueues, migrations, mutex chains, sched_ext.",
    )
    parser.add_argument("--version", action="version", version=f"scxtop {__version__}")
    add_source_options(parser, interval=None,
                       interval_help="seconds per sample (default: [dashboard] interval, else 1)")
    parser.set_defaults(command_module="scxtop.dashboard")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    log = sub.add_parser("log", help="write samples as CSV and/or JSONL, without the dashboard")
    add_source_options(log)
    log.add_argument("--duration", type=positive_float, metavar="S", help="stop after S seconds")
    log.add_argument("--csv", metavar="PATH", help="CSV output file, or - for stdout (default: -)")
    log.add_argument("--jsonl", metavar="PATH", help="JSONL output file, or - for stdout")
    log.add_argument("--textfile", metavar="PATH",
                     help="also write the metrics of `scxtop serve` to PATH (*.prom) for node_exporter's "
                          "textfile collector, replaced atomically each interval")
    log.set_defaults(command_module="scxtop.logcmd")

    serve = sub.add_parser("serve", help="serve Prometheus/OpenMetrics metrics over HTTP (read-only)")
    add_source_options(serve)
    serve.add_argument("--listen", default="127.0.0.1:9617", metavar="ADDR:PORT",
                       help="address and port to listen on (default 127.0.0.1:9617, loopback only; "
                            "0.0.0.0:9617 for every interface)")
    serve.add_argument("--cpu-pair-migrations", action="store_true",
                       help="also export migrations per CPU pair: one series per pair that has migrated, "
                            "up to N*(N-1); at 1024 CPUs up to a million series, ~65 MB and ~15 s of CPU "
                            "per scrape (bench: 67 bytes, 14 us a pair); off by default")
    serve.set_defaults(command_module="scxtop.servecmd")

    replay = sub.add_parser("replay", help="open the dashboard on a recording (CSV or JSONL)")
    replay.add_argument("path", metavar="FILE")
    replay.add_argument(
        "--speed", type=positive_float, default=1.0, help="playback speed (default 1.0)"
    )
    replay.set_defaults(command_module="scxtop.dashboard")

    doctor = sub.add_parser("doctor", help="check what scxtop needs and say how to fix what is missing")
    doctor.set_defaults(command_module="scxtop.doctor")

    schedulers = sub.add_parser("schedulers", help="list the sched_ext schedulers scxtop can switch to")
    schedulers.set_defaults(command_module="scxtop.sched_ext.commands")

    switch = sub.add_parser("switch", help="switch the running sched_ext scheduler")
    switch.add_argument("name", help="scheduler name (e.g. scx_bpfland), or 'default' for none")
    switch.add_argument("--mode", help="scx_loader mode: auto, gaming, powersave, lowlatency, server")
    switch.add_argument(
        "--timeout", type=positive_float, default=SWITCH_TIMEOUT_S, metavar="S",
        help=f"seconds to wait for the kernel (default {SWITCH_TIMEOUT_S:g})"
    )
    switch.set_defaults(command_module="scxtop.sched_ext.commands")

    compare = sub.add_parser(
        "compare", help="run a command (or observe) under each scheduler in turn and compare",
        usage="scxtop compare SCHED [SCHED ...] [--runs N] [--warmup S] [--csv F] [--jsonl F] "
              "(-- CMD [ARGS...] | --duration S)",
    )  # fmt: skip
    add_source_options(compare, interval=0.5)
    compare.add_argument("schedulers", nargs="+", metavar="SCHED", help="schedulers, e.g. default scx_simple")
    compare.add_argument("--runs", type=positive_int, default=3, help="runs per scheduler (default 3)")
    compare.add_argument("--warmup", type=non_negative_float, default=2.0, metavar="S",
                         help="seconds after each switch before measuring (default 2)")
    compare.add_argument("--duration", type=positive_float, metavar="S",
                         help="observe S seconds (no command)")
    compare.add_argument("--timeout", type=positive_float, default=30.0, metavar="S",
                         help="seconds to wait for the kernel at each switch")
    compare.add_argument("--csv", metavar="F", help="one CSV row per run")
    compare.add_argument("--jsonl", metavar="F", help="one compare_run record per run")
    compare.set_defaults(command_module="scxtop.comparecmd", cmd=[])
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the real command line (the console script): catch stop signals first
        stopsignals.catch_early()
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "compare" in argv and "--" in argv and argv.index("compare") < argv.index("--"):
        command, argv = argv[argv.index("--") + 1:], argv[:argv.index("--")]  # compare's CMD
    args = build_parser().parse_args(argv)
    if args.command == "compare":
        args.cmd = command
    try:
        if args.command_module not in STOPS_CLEANLY:
            stopsignals.release()
        module = importlib.import_module(args.command_module)
        return int(module.run(args) or 0)
    except ScxtopError as err:
        print(f"scxtop: {err}", file=sys.stderr)
        return err.status
    except KeyboardInterrupt:
        return 130
