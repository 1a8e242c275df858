"""Sources turn raw input (bpftrace, /proc, taskstats, recordings) into `Sample`s.

Every source implements `Source`: a blocking iterator of samples, one per interval, that a
worker thread drives. `open_source()` chooses one from a `--source` spec; `base` holds the protocol.
"""

from __future__ import annotations

from scxtop.errors import ScxtopError
from scxtop.sources.base import Source, SourceError

_SAID: set[str] = set()
USING_PROCFS = "using procfs (no migrations or mutex chains)"
"""What is said, before the reason, when procfs stands in for bpftrace."""


def _say_once(message: str) -> None:
    import sys

    if message not in _SAID:
        _SAID.add(message)
        print(f"scxtop: {message}", file=sys.stderr)


def open_source(spec: str, interval_s: float, *, paced: bool = True) -> Source:
    """The source a `--source` spec names: auto, bpftrace, procfs or replay:PATH.

    `auto` takes bpftrace when it can run here and otherwise procfs, saying once on stderr why.
    bpftrace is imported only when asked for, so procfs and replay work without it. `paced=False`
    plays a recording as fast as it can be read (for converting it with `scxtop log`).
    """
    if spec.startswith("replay:"):
        from scxtop.sources.replay import ReplaySource

        path = spec.removeprefix("replay:")
        if not path:
            raise SourceError("replay needs a file: --source replay:PATH")
        return ReplaySource(path, paced=paced)
    if spec == "procfs":
        from scxtop.sources.procfs import ProcfsSource

        return ProcfsSource(interval_s)
    if spec == "bpftrace":
        from scxtop.sources.bpftrace import BpftraceSource

        return BpftraceSource(interval_s)
    if spec == "auto":
        from scxtop.sources import bpftrace
        from scxtop.sources.auto import AutoSource
        from scxtop.sources.procfs import ProcfsSource

        reason = bpftrace.bpf_unavailable_reason()
        if reason is None:
            try:
                return AutoSource(bpftrace.BpftraceSource(interval_s), ProcfsSource, _say_once)
            except ScxtopError as err:
                reason = f"bpftrace failed: {err}"
        _say_once(f"{USING_PROCFS}: {reason}")
        return ProcfsSource(interval_s)
    raise SourceError(f"unknown source {spec!r}: use auto, bpftrace, procfs or replay:PATH")
