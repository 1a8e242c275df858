"""The probe programs in bpftrace/: find them, fit them to this kernel, join them into one.

Each file is a valid program on its own (`bpftrace FILE`). Two kinds of annotation make it fit
other kernels:

    code;   //@ without task_struct.blocked_on: other code;   -> `other code` where BTF lacks it
    //@ with struct scx_rq: code;                             -> `code` only where BTF has it

A file's report block (`interval:s:1 { print ... clear ... }`) prints its maps each second.
`combine` joins several files into one program with one report block at the requested interval,
bracketed by `scxtop-tick <nsecs>` / `scxtop-end` printf lines, so a reader can tell the
periodic reports from the maps bpftrace prints again at exit. A file may print a baseline
report early, bracketed by `scxtop-base <nsecs>` / `scxtop-end` (counters to take differences from).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import scxtop
from scxtop.bpftrace.merge import merge, parse_blocks

TICK = "scxtop-tick"
BASE = "scxtop-base"
END = "scxtop-end"

_WITH = re.compile(r"^(?P<indent>\s*)//@ with (?P<feature>[^:]+):\s?(?P<code>.*)$")
_WITHOUT = re.compile(r"^(?P<code>.*?)\s*//@ without (?P<feature>[^:]+):\s?(?P<alt>.*)$")
_REPORT = re.compile(r"^interval:s:1\s*\n\{\n(?P<body>.*?)^\}\s*$", re.MULTILINE | re.DOTALL)


def probe_dir() -> Path:
    """bpftrace/ in a source checkout, scxtop/_probes/ in an installed wheel."""
    package = Path(scxtop.__file__).resolve().parent
    for candidate in (package / "_probes", package.parent / "bpftrace"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the bpftrace probe programs are missing (looked in {package / '_probes'})")


def probe_path(name: str) -> Path:
    return probe_dir() / f"{name}.bt"


def render(text: str, has: Callable[[str], bool]) -> str:
    """Apply the `//@ with` / `//@ without` annotations for a kernel described by `has`."""
    out = []
    for line in text.splitlines():
        if m := _WITH.match(line):
            out.append(m["indent"] + m["code"] if has(m["feature"]) else "")
        elif m := _WITHOUT.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(m["code"] if has(m["feature"]) else indent + m["alt"])
        else:
            out.append(line)
    return "\n".join(out) + "\n"


@dataclass(frozen=True, slots=True)
class ProbeProgram:
    """A file split into its probes and the statements of its report block."""

    name: str
    probes: str
    report: str


def split(name: str, text: str) -> ProbeProgram:
    m = _REPORT.search(text)
    if not m:
        raise ValueError(f"{name}.bt has no `interval:s:1` report block")
    return ProbeProgram(name, text[: m.start()] + text[m.end() :], m["body"])


def interval_probe(interval_s: float) -> str:
    ms = max(1, round(interval_s * 1000))
    return f"interval:s:{ms // 1000}" if ms % 1000 == 0 else f"interval:ms:{ms}"


def combine(programs: Iterable[ProbeProgram], interval_s: float, merged: bool = True) -> str:
    """One program: every file's probes (one block per attach point), then one report block
    every `interval_s`."""
    programs = list(programs)
    parts = [f"// scxtop: {', '.join(p.name for p in programs)}\n"]
    if merged:
        parts.append(merge([b for p in programs for b in parse_blocks(p.probes)]))
    else:  # one BPF program per file and attach point (for comparison in bench/)
        parts += [p.probes for p in programs]
    parts.append(f'{interval_probe(interval_s)}\n{{\n\tprintf("{TICK} %llu\\n", nsecs);\n')
    parts += [p.report for p in programs]
    parts.append(f'\tprintf("{END}\\n");\n}}\n')
    return "\n".join(parts)


def build(names: Iterable[str], interval_s: float, has: Callable[[str], bool], merged: bool = True) -> str:
    """The combined program for this kernel from the named files in bpftrace/."""
    programs = (split(n, render(probe_path(n).read_text(), has)) for n in names)
    return combine(programs, interval_s, merged)
