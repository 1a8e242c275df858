"""What the recording readers and writers share: the error, bounded line reading, ISO times, and
the checks every number read from a file passes before a widget sees it.

Recordings come from anywhere (a colleague's machine, a crash, /dev/zero): no line may be longer
than MAX_LINE_BYTES, no CPU number beyond MAX_CPUS, and no value non-finite or out of range. A
broken line is a one-line RecordError naming the file and line, except a cut-off last line (a
recorder killed mid-write), which is dropped with a warning.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from scxtop.errors import ScxtopError
from scxtop.kernel.bounds import MAX_COUNT, MAX_TIME, number_problem
from scxtop.model import Sample

MAX_LINE_BYTES = 16 << 20
"""16 MiB: a 8192-CPU JSONL row is about 1 MiB; anything longer is not a recording."""
MAX_CPUS = 8192
"""The kernel's largest NR_CPUS: a recording naming a CPU beyond it is refused at load."""
MAX_RECORDING_BYTES = 4 << 30
"""4 GiB: recordings are loaded whole into memory (a dashboard seeks by index). A day of 1-second
JSONL rows on 64 busy CPUs is about 3 GiB; a longer one is cut into parts first."""


class RecordError(ScxtopError):
    """A recording cannot be written or read; the message names the file (and line) and the fix."""


def iso_time(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return "?"


def _decode(path: Path, lineno: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{path}:{lineno}: not text (binary data); not a CSV or JSONL recording") from None


def too_large(path: Path) -> RecordError:
    limit = MAX_RECORDING_BYTES
    shown = f"{limit >> 30} GiB" if limit % (1 << 30) == 0 else f"{limit} bytes"
    return RecordError(
        f"{path}: larger than {shown}, the most scxtop loads into memory; "
        f"replay a part of it (head -n 100000 {path} > {path.with_stem(path.stem + '-part')})"
    )


def recording_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a recording, each at most MAX_LINE_BYTES and all of them at most
    MAX_RECORDING_BYTES; a missing, unreadable or binary file, an over-long line or a too large
    file is a one-line RecordError.

    The size is checked on the opened file (fstat) before the first line, and counted while
    reading too: a pipe, a device or a file still growing has no size up front."""
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_RECORDING_BYTES:
                raise too_large(path)
            lineno = 0
            total = 0
            while True:
                raw = handle.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                lineno += 1
                total += len(raw)
                if total > MAX_RECORDING_BYTES:
                    raise too_large(path)
                if len(raw) > MAX_LINE_BYTES:
                    raise RecordError(
                        f"{path}:{lineno}: line longer than 16 MiB: not a recording (or one of more than "
                        f"{MAX_CPUS} CPUs, which scxtop does not read)"
                    )
                yield lineno, _decode(path, lineno, raw)
    except FileNotFoundError:
        raise RecordError(f"{path}: no such recording (record one with: scxtop log --jsonl {path})") from None
    except IsADirectoryError:
        raise RecordError(f"{path}: is a directory, not a recording") from None
    except OSError as err:
        raise RecordError(f"{path}: cannot read: {err.strerror}") from None


def is_cut_off(line: str) -> bool:
    """Only the last line of a file can lack its newline: a recorder stopped mid-write.

    Every writer ends each line with one, so such a line is never taken as a sample, even when it
    still parses: cut inside its last cell, it would carry a wrong value."""
    return not line.endswith("\n")


def truncation_warning(path: Path, lineno: int, loaded: int, what: str = "samples") -> str:
    return (f"{path}:{lineno}: the last line is cut off (the recorder stopped mid-write); "
            f"loaded {loaded} {what}")


def drop_cut_off(path: Path, lineno: int, loaded: int, warnings: list[str] | None,
                 what: str = "samples") -> None:
    """A cut-off last line (see is_cut_off) is dropped with a warning when the reader's caller
    collects warnings and complete samples came before it; otherwise it is a RecordError."""
    if warnings is not None and loaded:
        warnings.append(truncation_warning(path, lineno, loaded, what))
        return
    why = "" if loaded else f"; no complete {what.removesuffix('s')} comes before it"
    raise RecordError(f"{path}:{lineno}: the last line is cut off (it has no newline: the recorder "
                      f"stopped mid-write){why}")


def check_number(value: float | None, what: str, low: float = -MAX_COUNT, high: float = MAX_COUNT) -> None:
    """Raise ValueError (the readers add the line) unless `value` is None or finite and in range."""
    problem = None if value is None else number_problem(value, low, high)
    if problem:
        raise ValueError(f"{what} is {problem}")


def check_sample(sample: Sample) -> None:
    """The numbers a widget draws or converts: times, intervals, CPU numbers and per-CPU values."""
    check_number(sample.time, "time", 0.0, MAX_TIME)
    check_number(sample.elapsed_s, "elapsed_s", 0.0, MAX_TIME)
    check_number(sample.interval_s, "interval_s", 0.0, MAX_TIME)
    cpus = sample.cpus
    if len(cpus) > MAX_CPUS:
        raise ValueError(f"{len(cpus)} CPUs is beyond the limit of {MAX_CPUS} CPUs")
    for stats in cpus:
        if not 0 <= stats.cpu < MAX_CPUS:
            raise ValueError(f"cpu {stats.cpu} is beyond the limit of {MAX_CPUS} CPUs")
        for name in ("rq", "util", "csw", "mig_in", "mig_out", "rq_max"):
            check_number(getattr(stats, name, None), f"cpu{stats.cpu}_{name}", 0.0)
    for event in sample.scx_events:
        check_number(event.time, "sched_ext event time", 0.0, MAX_TIME)
