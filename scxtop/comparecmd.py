"""`scxtop compare A B ... [--runs N] -- CMD`: which scheduler suits my workload?

Each scheduler in turn (order rotated between runs) is switched to through the one switch
transaction, given `--warmup` seconds, then CMD runs (or the machine is observed for
`--duration`) while a live source measures the report's metrics. Whatever happens (a failed
switch, a failed command, Ctrl-C, SIGTERM, SIGHUP) the scheduler that ran before is put back. Everything
that can be checked without touching the scheduler is checked before anything runs.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scxtop import stopsignals
from scxtop.errors import ScxtopError, say
from scxtop.kernel.scx_state import read_state
from scxtop.model import Sample
from scxtop.recording import JsonlWriter
from scxtop.recording.jsonl import RecordKind
from scxtop.recording.sink import RowSink
from scxtop.sched_ext import compare
from scxtop.sched_ext.compare import RunResult
from scxtop.sched_ext.discovery import find_entry
from scxtop.sched_ext.safety import require_root
from scxtop.sched_ext.switch import make_switcher
from scxtop.sched_ext.types import DEFAULT_SCHEDULER, Switcher
from scxtop.sources import open_source
from scxtop.sources.base import Source

FIRST_SAMPLE_S = 300.0
"""bpftrace starts slowly (seconds on a busy machine, more under emulation)."""
STOP_GRACE_S = 5.0


class CompareError(ScxtopError):
    """`scxtop compare` cannot start: the message names the fix."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised as Ctrl-C is: the same cleanup runs, no `except Exception` on the
    way swallows it, and the library code that stops a child on Ctrl-C does so here too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.name = signal.Signals(signum).name


def resolve_command(argv: list[str]) -> list[str]:
    """CMD with its program found on PATH (or checked as given), or a one-line error."""
    if not argv:
        return []
    program = argv[0]
    found = program if os.sep in program else shutil.which(program)
    if found is None or not os.path.isfile(found) or not os.access(found, os.X_OK):
        raise CompareError(f"command not found or not executable: {program!r} (give a program on PATH "
                           "or a path to an executable)")
    return [found, *argv[1:]]


class Collector:
    """A live source in a thread, keeping every sample for the runs to pick their windows from."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.samples: list[Sample] = []
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="compare-source", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The stop signals must reach the main thread: one delivered to this thread would wait
        # until the main thread's blocking wait for CMD ended on its own.
        signal.pthread_sigmask(signal.SIG_BLOCK, set(stopsignals.STOP_SIGNALS))
        try:
            for sample in self.source.samples():
                with self._cond:
                    self.samples.append(sample)
                    self._cond.notify_all()
        except BaseException as err:  # handed to the main thread
            self.error = err
        finally:
            with self._cond:
                self._cond.notify_all()

    def wait_until(self, wall_time: float, timeout: float) -> bool:
        """Wait for a sample whose interval ends at or after `wall_time`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self.samples and self.samples[-1].time >= wall_time):
                left = deadline - time.monotonic()
                if left <= 0 or self.error is not None or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    def snapshot(self) -> list[Sample]:
        with self._cond:
            return list(self.samples)

    def close(self) -> None:
        self.source.close()
        self._thread.join(10)


class SignalGate:
    """Ctrl-C, SIGTERM and SIGHUP (a closed terminal) stop the comparison, but never inside a
    switch transaction: a switch cut in half could leave a scheduler process nobody owns. There
    they wait until the switch is over."""

    def __init__(self) -> None:
        self.pending: int | None = None
        self._critical = False

    def _handler(self, signum: int, _frame: object) -> None:
        if self._critical:
            self.pending = signum
            return
        self._raise(signum)

    @staticmethod
    def _raise(signum: int) -> None:
        raise KeyboardInterrupt if signum == signal.SIGINT else _Terminated(signum)

    def installed(self) -> stopsignals.handled_by:
        return stopsignals.handled_by(self._handler)

    @contextmanager
    def critical(self) -> Iterator[None]:
        self._critical = True
        try:
            yield
        finally:
            self._critical = False
        if self.pending is not None:
            self._raise(self.pending)


def _signals_ignored() -> stopsignals.handled_by:
    """While the previous scheduler is put back, a second Ctrl-C must not stop that."""
    return stopsignals.handled_by(signal.SIG_IGN)


def _run_command(argv: list[str], gate: SignalGate) -> tuple[int, float]:
    """Run CMD (its output to our stderr, keeping stdout for the table); (exit status, wall s).

    A signal that lands while the child is being forked waits until we hold it, so that the child
    is always stopped with us (seen in the guest: a SIGTERM during the fork left `sleep` running)."""
    started = time.monotonic()
    proc: subprocess.Popen[bytes] | None = None
    try:
        with gate.critical():
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sys.stderr.fileno())
        while (status := proc.poll()) is None:  # short sleeps: a signal is handled within 0.1 s
            time.sleep(0.1)
    except BaseException:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        raise
    return status, time.monotonic() - started


def _sleep(seconds: float, collector: Collector) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))
        if collector.error is not None:
            raise ScxtopError(f"the measuring source stopped: {collector.error}")


class Comparison:
    def __init__(self, args: argparse.Namespace, switcher: Switcher, collector: Collector,
                 command: list[str], gate: SignalGate, progress: Callable[[str], None] = say) -> None:
        self.args = args
        self.switcher = switcher
        self.collector = collector
        self.command = command
        self.say = progress
        self.gate = gate
        self.results: list[RunResult] = []

    def one(self, run: int, name: str) -> RunResult:
        self.say(f"run {run}: switching to {name}")
        with self.gate.critical():
            switch = self.switcher.switch(name, timeout=self.args.timeout, progress=lambda line: None)
        if not switch.ok:
            return RunResult(time.time(), run, name, False, switch.message, error=switch.message)
        _sleep(self.args.warmup, self.collector)
        start = time.time()
        if self.command:
            self.say(f"run {run}: {name}: running {Path(self.command[0]).name}")
            status, wall = _run_command(self.command, self.gate)
        else:
            self.say(f"run {run}: {name}: observing for {self.args.duration:g}s")
            _sleep(self.args.duration, self.collector)
            status, wall = None, self.args.duration
        end = time.time()
        interval = self.collector.source.interval_s
        if not self.collector.wait_until(end, 3 * interval + 10):
            self.say(f"run {run}: no sample covers the end of the run (the source lags)")
        stats = compare.window(self.collector.snapshot(), start, end)
        error = ""
        if status is not None and status != 0:
            error = (f"command exited with status {status}" if status > 0
                     else f"command killed by signal {-status}")
        return RunResult(start, run, name, True, switch.message, status, wall, stats, error)

    def all(self, names: list[str]) -> None:
        for run, name in compare.run_order(names, self.args.runs):
            self.results.append(self.one(run, name))


def _previous(switcher: Switcher) -> str:
    entries = switcher.schedulers()
    running = [e for e in entries if e.running]
    if running:
        return running[0].name
    state = read_state()
    if state.ops:
        raise CompareError(f"the running scheduler ({state.ops}) is not one scxtop can restart afterwards: "
                           "stop it, or add it to scxtop's config")
    return DEFAULT_SCHEDULER


def _write_outputs(args: argparse.Namespace, results: list[RunResult]) -> None:
    if args.csv:
        sink = RowSink(args.csv)
        try:
            for row in [list(compare.CSV_HEADER), *(compare.csv_row(r) for r in results)]:
                sink.write_line(_csv_line(row))
        finally:
            sink.close()
    if args.jsonl:
        writer = JsonlWriter(args.jsonl)
        try:
            for result in results:
                writer.write_record(RecordKind.COMPARE_RUN, result)
        finally:
            writer.close()


def _csv_line(cells: list[str]) -> str:
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    command_argv = list(args.cmd or [])
    if command_argv and command_argv[0] == "--":
        command_argv = command_argv[1:]
    if not command_argv and args.duration is None:
        raise CompareError("give a command after -- (scxtop compare A B -- CMD) or --duration S to observe")
    if command_argv and args.duration is not None:
        raise CompareError("give either a command or --duration, not both")
    if args.source.startswith("replay:"):
        raise CompareError("compare measures live: use --source auto, bpftrace or procfs")
    require_root("scxtop compare")
    command = resolve_command(command_argv)
    switcher = make_switcher()
    entries = switcher.schedulers()
    names = [find_entry(entries, name).name for name in args.schedulers]
    if len(set(names)) != len(names):
        raise CompareError(f"a scheduler is named twice: {' '.join(args.schedulers)}")
    if not read_state().supported:
        raise CompareError("this kernel has no sched_ext (/sys/kernel/sched_ext is missing): "
                           "boot a kernel built with CONFIG_SCHED_CLASS_EXT=y")
    previous = _previous(switcher)
    for target in (args.csv, args.jsonl):  # fail on an unwritable output before anything runs
        if target and target != "-":
            RowSink(target).close()

    source = open_source(args.source, args.interval)
    say(f"measuring with {source.name} every {source.interval_s:g}s; "
         f"{previous} runs now and comes back at the end")
    collector = Collector(source)
    gate = SignalGate()
    comparison = Comparison(args, switcher, collector, command, gate)
    interrupted: str | None = None
    try:
        with gate.installed():
            try:
                if not collector.wait_until(time.time(), FIRST_SAMPLE_S):
                    raise ScxtopError(f"the measuring source gave no sample within {FIRST_SAMPLE_S:g}s"
                                      + (f": {collector.error}" if collector.error else ""))
                comparison.all(names)
            except _Terminated as stop:
                interrupted = f"terminated ({stop.name})"
            except KeyboardInterrupt:
                interrupted = "interrupted (Ctrl-C)"
    finally:
        with _signals_ignored():
            collector.close()
            say(f"restoring {previous}")
            back = switcher.switch(previous, timeout=max(args.timeout, 30.0), progress=lambda line: None)
    results = comparison.results
    _write_outputs(args, results)  # the files first: stdout may be a terminal that is gone
    for line in compare.format_table(results, names):
        print(line)
    problems = compare.failures(results)
    if not back.ok:
        problems.append(f"restoring {previous} failed: {back.message}")
    if interrupted:
        say(f"{interrupted} after {len(results)} runs; {previous} runs again" if back.ok else interrupted)
    if problems:
        say(f"{len(problems)} problem(s): " + "; ".join(problems))
    if interrupted:
        return 130
    return 1 if problems else 0
