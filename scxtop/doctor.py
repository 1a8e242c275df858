"""`scxtop doctor`: check what scxtop needs, one line each, and say how to fix what is missing.

Exit status 0 when the bpftrace source can run here (privileges, bpftrace, tracefs, and a
trivial program really loads); 1 otherwise (scxtop then falls back to procfs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scxtop.bpftrace import BpftraceError, bpftrace_version, classify_stderr, find_bpftrace, kernel_types
from scxtop.bpftrace.privileges import NEEDS_PRIVILEGES, bpf_privilege
from scxtop.bpftrace.process import bpftrace_env

TRACEFS = Path("/sys/kernel/tracing")
BTF = Path("/sys/kernel/btf/vmlinux")
SCHED_EXT = Path("/sys/kernel/sched_ext")
MIN_BPFTRACE = (0, 17)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    needed_for_bpf: bool = True
    """False for what only enriches the view (sched_ext, taskstats, kernel log)."""


def check_privileges() -> Check:
    granted = bpf_privilege()
    return Check("privileges", granted is not None, granted or NEEDS_PRIVILEGES)


def check_bpftrace() -> Check:
    try:
        binary = find_bpftrace()
        version = bpftrace_version(binary)
    except BpftraceError as err:
        return Check("bpftrace", False, str(err))
    if (version.major, version.minor) < MIN_BPFTRACE:
        return Check("bpftrace", False, f"{binary} v{version} is older than 0.17: install a newer bpftrace")
    return Check("bpftrace", True, f"{binary} v{version}")


def tracefs_in_mounts(mounts: Path = Path("/proc/self/mounts")) -> bool:
    """Whether tracefs is mounted at TRACEFS; /proc/self/mounts is readable without root."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return False
    return any(len(f) > 2 and f[1] == str(TRACEFS) and f[2] == "tracefs" for f in map(str.split, lines))


def check_tracefs() -> Check:
    if tracefs_in_mounts():
        return Check("tracefs", True, str(TRACEFS))
    return Check("tracefs", False, f"not mounted: mount -t tracefs nodev {TRACEFS}")


def check_tracepoints() -> Check:
    wanted = ("sched/sched_switch", "sched/sched_wakeup", "sched/sched_migrate_task",
              "lock/contention_begin", "lock/contention_end")
    if not tracefs_in_mounts():
        return Check("tracepoints", False, "unknown until tracefs is mounted")
    if not os.access(TRACEFS / "events", os.R_OK | os.X_OK):
        return Check("tracepoints", False, f"{TRACEFS} is readable by root only: run scxtop doctor with sudo")
    missing = [t for t in wanted if not (TRACEFS / "events" / t).is_dir()]
    if missing:
        return Check("tracepoints", False, f"kernel lacks {', '.join(missing)}: those panels stay empty",
                     needed_for_bpf=False)
    return Check("tracepoints", True, ", ".join(t.replace("/", ":") for t in wanted))


def check_btf() -> Check:
    types = kernel_types()
    if types is None:
        return Check("BTF", False, f"no {BTF}: a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed")
    blocked_on = "yes" if types.has("task_struct.blocked_on") else "no (chains from lock tracepoints only)"
    return Check("BTF", True, f"{BTF}; task_struct->blocked_on: {blocked_on}")


def check_sched_ext() -> Check:
    if not SCHED_EXT.is_dir():
        return Check("sched_ext", False, "not in this kernel (CONFIG_SCHED_CLASS_EXT, Linux 6.12+): "
                     "switching schedulers is unavailable", needed_for_bpf=False)
    from scxtop.kernel.scx_state import read_state

    state = read_state(SCHED_EXT)
    running = f", running {state.ops}" if state.ops else ""
    return Check("sched_ext", True, f"state {state.state}{running}", needed_for_bpf=False)


def check_taskstats() -> Check:
    from scxtop.kernel.taskstats import DelayReader

    reader = DelayReader()
    try:
        if reader.backend == "taskstats":
            return Check("taskstats", True, "netlink taskstats answers (run-queue delay per task)",
                         needed_for_bpf=False)
        return Check("taskstats", False, reader.reason or "unavailable", needed_for_bpf=False)
    finally:
        reader.close()


def check_kernel_log() -> Check:
    from scxtop.kernel.scx_tracker import KernelLog

    log = KernelLog()
    readable = log.available
    log.close()
    if readable:
        return Check("kernel log", True, "/dev/kmsg readable (why a scheduler was ejected)",
                     needed_for_bpf=False)
    return Check("kernel log", False, "/dev/kmsg unreadable: run as root to see why a scheduler was ejected",
                 needed_for_bpf=False)


def check_bpf_loads() -> Check:
    """Load a trivial program: catches lockdown, seccomp and memlock limits the other checks miss."""
    try:
        done = subprocess.run([find_bpftrace(), "-e", "BEGIN { exit(); }"], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL, env=bpftrace_env())
    except (OSError, subprocess.TimeoutExpired, BpftraceError) as err:
        return Check("BPF load", False, f"bpftrace did not run: {err}")
    if done.returncode != 0:
        return Check("BPF load", False, str(classify_stderr(done.stderr, done.returncode)))
    return Check("BPF load", True, "a test program loaded and ran")


def run_checks() -> list[Check]:
    checks = [check_privileges(), check_bpftrace(), check_tracefs(), check_tracepoints(), check_btf()]
    if all(c.ok for c in checks[:3]):
        checks.append(check_bpf_loads())
    else:
        checks.append(Check("BPF load", False, "skipped: fix the lines above first"))
    extra: list[Callable[[], Check]] = [check_sched_ext, check_taskstats, check_kernel_log]
    return checks + [f() for f in extra]


def bpf_can_run(checks: list[Check]) -> bool:
    return all(c.ok for c in checks if c.needed_for_bpf)


def run(args: argparse.Namespace) -> int:
    checks = run_checks()
    for check in checks:
        mark = "ok" if check.ok else ("MISSING" if check.needed_for_bpf else "--")
        print(f"{mark:8} {check.name:12} {check.detail}")
    if bpf_can_run(checks):
        print("scxtop can use bpftrace here: all panels have live data.")
        return 0
    print("scxtop falls back to procfs (no migrations, mutex chains or wakeup latency): fix MISSING above.")
    return 1
