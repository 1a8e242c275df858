"""The bpftrace wrapper: find and version-check bpftrace, build a program for this kernel, run
it, parse its JSON records into typed objects, and turn its failures into ScxtopErrors.

Standard library only.
"""

from scxtop.bpftrace.btf import KernelTypes, kernel_types
from scxtop.bpftrace.errors import (
    BpftraceError,
    BpftraceNotFound,
    BpftracePermissionError,
    KernelLacksProbe,
    MemlockError,
    TracefsNotMounted,
    classify_stderr,
    tracefs_mounted,
)
from scxtop.bpftrace.process import BpftraceProcess, Version, bpftrace_version, find_bpftrace
from scxtop.bpftrace.programs import END, TICK, build, probe_dir, probe_path
from scxtop.bpftrace.records import (
    AttachedProbes,
    ErrorRecord,
    HistBucket,
    HistRecord,
    LostEvents,
    MapEntry,
    MapRecord,
    PrintfRecord,
    Record,
    StatsRecord,
    StatsValue,
    TextRecord,
    UnknownRecord,
    ValueRecord,
    parse_record,
)
from scxtop.bpftrace.ticks import Tick, ticks

__all__ = [
    "END",
    "TICK",
    "AttachedProbes",
    "BpftraceError",
    "BpftraceNotFound",
    "BpftracePermissionError",
    "BpftraceProcess",
    "ErrorRecord",
    "HistBucket",
    "HistRecord",
    "KernelLacksProbe",
    "KernelTypes",
    "LostEvents",
    "MapEntry",
    "MapRecord",
    "MemlockError",
    "PrintfRecord",
    "Record",
    "StatsRecord",
    "StatsValue",
    "TextRecord",
    "Tick",
    "TracefsNotMounted",
    "UnknownRecord",
    "ValueRecord",
    "Version",
    "bpftrace_version",
    "build",
    "classify_stderr",
    "find_bpftrace",
    "kernel_types",
    "parse_record",
    "probe_dir",
    "probe_path",
    "ticks",
    "tracefs_mounted",
]
