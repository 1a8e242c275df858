"""bpftrace's failures as ScxtopErrors whose one-line message names the fix.

bpftrace reports problems as free text on stderr; `classify_stderr` maps the messages of
0.17 and the 0.2x releases to the few causes a user can act on.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from scxtop.errors import ScxtopError

TRACEFS = Path("/sys/kernel/tracing")

# 0.17 tries to raise RLIMIT_MEMLOCK to infinity and prints this when it cannot (no
# CAP_SYS_RESOURCE); kernels >= 5.11 account BPF memory to the cgroup, so it is harmless.
# 0.2x reads available_filter_functions (for kprobes, which our programs do not use) and warns
# where the kernel has no function tracer.
HARMLESS = (
    re.compile(r"couldn't set RLIMIT_MEMLOCK"),
    re.compile(r"Could not read functions from .*available_filter_functions"),
)


class BpftraceError(ScxtopError):
    """bpftrace could not start or stopped on its own."""


class BpftraceNotFound(BpftraceError):
    pass


class BpftracePermissionError(BpftraceError):
    pass


class TracefsNotMounted(BpftraceError):
    pass


class KernelLacksProbe(BpftraceError):
    """A tracepoint, kprobe, struct or field the program uses is not in this kernel."""


class MemlockError(BpftraceError):
    pass


def meaningful_lines(stderr: str) -> list[str]:
    """stderr without the known-harmless warnings and the source excerpts under an error."""
    out = []
    for line in stderr.splitlines():
        text = line.strip()
        if not text or any(p.search(text) for p in HARMLESS):
            continue
        out.append(text)
    return out


def _first_error(lines: list[str]) -> str:
    for line in lines:
        if "ERROR" in line:
            return re.sub(r"^.*?ERROR:\s*", "", line)
    return lines[0] if lines else "no message"


def tracefs_mounted(root: Path | None = None) -> bool:
    return ((root or TRACEFS) / "events").is_dir()


def _kernel_before(release: str, major: int, minor: int) -> bool:
    m = re.match(r"(\d+)\.(\d+)", release)
    return m is not None and (int(m[1]), int(m[2])) < (major, minor)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def classify_stderr(stderr: str, returncode: int | None = None, kernel: str | None = None) -> BpftraceError:
    """The most specific error for what bpftrace printed before it failed.

    `kernel` is the release (default: the running one): only before 5.11 does RLIMIT_MEMLOCK
    limit BPF maps, so only there is a failed map creation blamed on it.
    """
    lines = meaningful_lines(stderr)
    if returncode is not None and returncode < 0:  # killed: whatever it printed before is not why
        return BpftraceError(f"bpftrace was killed ({_signal_name(-returncode)})")
    text = "\n".join(lines)
    first = _first_error(lines)
    memlock_warned = any(p.search(stderr) for p in HARMLESS)
    old_kernel = _kernel_before(kernel or os.uname().release, 5, 11)
    if "Operation not permitted" in text and memlock_warned and old_kernel:
        return MemlockError(
            "bpftrace could not lock memory for its maps (kernel < 5.11): run `ulimit -l unlimited` "
            "as root, then start scxtop again"
        )
    if ("only supports running as the root user" in text or "Operation not permitted" in text
            or re.search(r"Missing CAP_\w+ capability", text)):  # the last: 0.27's wording
        return BpftracePermissionError(
            "bpftrace needs root (or CAP_BPF and CAP_PERFMON): run scxtop with sudo, "
            f"or use --source procfs ({first})"
        )
    # 0.27 reads tracefs's available_events before anything else and says so when it cannot.
    tracefs_missing = "tracepoint not found" in text or "tracing/available_events" in text
    if tracefs_missing and not tracefs_mounted():
        return TracefsNotMounted(
            "tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing (or use --source procfs)"
        )
    if re.search(r"does not contain a field|Unknown struct|Unknown identifier|tracepoint not found"
                 r"|Error attaching probe|No BTF|BTF .*not available|kprobe_events"
                 r"|tracing/available_events", text):
        return KernelLacksProbe(f"this kernel lacks something a probe needs: {first}; use --source procfs")
    status = "" if returncode is None else f" (exit status {returncode})"
    return BpftraceError(f"bpftrace failed{status}: {first}")
