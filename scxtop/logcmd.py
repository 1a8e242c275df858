"""`scxtop log`: write one CSV row (and/or one JSONL object) per interval, without the dashboard.

Ctrl-C, SIGTERM and SIGHUP stop the source; the rows already written are on disk (each one is
handed to the kernel as it is written), bpftrace is stopped in order, and the exit status is 0.
A stop signal that came while scxtop was still starting (noted by `scxtop.stopsignals` from the
first line on) ends it the same way, with at least the CSV header written; a source that fails
to open is a one-line error with nothing written (no header-only file). A write that fails
(full disk, unwritable path) is a one-line error with a non-zero status. A closed stdout
(`| head`) ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeAlias

from scxtop import stopsignals
from scxtop.errors import ScxtopError
from scxtop.recording import CsvWriter, JsonlWriter
from scxtop.recording.jsonl import RecordKind
from scxtop.sched_ext.report import SwitchReport, SwitchReporter
from scxtop.sources import open_source
from scxtop.sources.base import Source

if TYPE_CHECKING:
    from scxtop.export.textfile import TextfileWriter  # loaded only for --textfile

Writer: TypeAlias = "CsvWriter | JsonlWriter | TextfileWriter"


def open_writers(csv_target: str | None, jsonl_target: str | None, textfile: str | None = None,
                 source: str = "auto") -> list[Writer]:
    if csv_target is None and jsonl_target is None and textfile is None:
        csv_target = "-"
    if csv_target == "-" and jsonl_target == "-":
        raise ScxtopError("--csv - and --jsonl - cannot both go to stdout: give one of them a file")
    writers: list[Writer] = []
    try:
        if csv_target is not None:
            writers.append(CsvWriter(csv_target))
        if jsonl_target is not None:
            writers.append(JsonlWriter(jsonl_target))
        if textfile is not None:
            from scxtop.servecmd import open_textfile

            writers.append(open_textfile(textfile, source))
    except ScxtopError:
        for writer in writers:
            writer.close()
        raise
    return writers


class _Stop(KeyboardInterrupt):
    """Raised by the signal handler to leave the sample loop.

    A KeyboardInterrupt, as Ctrl-C's own: libraries pass those on where they catch everything else.
    As an Exception it was swallowed where it landed inside a library: asyncio's datagram
    transport took it for a read error and closed pyroute2's taskstats socket mid-query, and
    the next query then waited for a reply for ever (a `scxtop log` that never stopped).
    """


class SignalStop:
    """SIGINT, SIGTERM and SIGHUP end the loop between rows, never inside one.

    The handler raises `_Stop` wherever the main thread is (blocked in the source, typically)
    unless a row is being written; then it only asks, and the loop stops after the row. It must
    not call `source.close()` itself: that would re-enter the stream the source is reading.
    """

    def __init__(self) -> None:
        self.requested = False
        self.writing = False

    def _handler(self, signum: int, _frame: object) -> None:
        if stopsignals.holding():  # a child is being started: raised again when it is recorded
            stopsignals.hold(signum)
            return
        self.requested = True
        if not self.writing:
            raise _Stop

    def check(self) -> None:
        """Leave now if a stop was asked for (before the handler could raise)."""
        if self.requested:
            raise _Stop

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        handlers = stopsignals.handled_by(self._handler).install()
        if stopsignals.pending() is not None:  # came while scxtop was importing
            self.requested = True
        try:
            yield
        except _Stop:
            pass
        finally:
            handlers.restore()


def write_reports(writers: list[Writer], reports: tuple[SwitchReport, ...]) -> None:
    """Before/after reports of scheduler changes go to JSONL only (CSV columns stay stable)."""
    for writer in writers:
        if isinstance(writer, JsonlWriter):
            for report in reports:
                writer.write_record(RecordKind.SWITCH_REPORT, report)


def write_samples(source: Source, writers: list[Writer], limit: int | None, stop: SignalStop,
                  reporter: SwitchReporter | None = None) -> None:
    for count, sample in enumerate(source.samples(), start=1):
        stop.writing = True
        for writer in writers:
            writer.write(sample)
        if reporter is not None:
            write_reports(writers, reporter.feed(sample))
        stop.writing = False
        if stop.requested or (limit is not None and count >= limit):
            break


def run(args: argparse.Namespace) -> int:
    writers = open_writers(getattr(args, "csv", None), getattr(args, "jsonl", None),
                           getattr(args, "textfile", None), args.source)
    source: Source | None = None
    stop = SignalStop()
    reporter = SwitchReporter()
    ended = False
    """The run ended as it should (the duration, the source ran dry, or a stop signal); not an error."""
    try:
        with stop.installed():  # from here on, a signal while bpftrace starts ends quietly too
            stop.check()
            with stopsignals.deferred():  # what the source opens is closed below
                source = open_source(args.source, args.interval, paced=False)
            limit = None
            if getattr(args, "duration", None):
                limit = max(1, math.ceil(args.duration / source.interval_s - 1e-9))
            write_samples(source, writers, limit, stop, reporter)
        ended = True
    except BrokenPipeError:
        # The reader went away (`scxtop log | head`): not an error; keep Python quiet at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        if source is not None:
            source.close()
        with contextlib.suppress(ScxtopError):  # a change whose after window had begun: cut short
            write_reports(writers, reporter.flush())
        for writer in writers:
            if isinstance(writer, CsvWriter) and ended:
                # Stopped before the first row: the header at least. Not after an error (a source
                # that failed to open): the one-line error comes with nothing written.
                writer.ensure_header(os.cpu_count() or 1)
            writer.close()
    return 0
